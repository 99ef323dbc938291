import type { Context } from "hono";

/** A posted form's text fields (files are ignored). */
export async function formOf(c: Context): Promise<Record<string, string>> {
  const fields: Record<string, string> = {};
  const contentType = c.req.header("content-type") ?? "";
  if (!/application\/x-www-form-urlencoded|multipart\/form-data/i.test(contentType)) return fields;
  for (const [name, value] of Object.entries(await c.req.parseBody())) {
    if (typeof value === "string") fields[name] = value;
  }
  return fields;
}

/** A number typed into a form, or the text itself when it is not one (so the API's validation names the field). */
export function numberOrText(value: string | undefined): number | string | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : value;
}

/** "a, b  c" → ["a", "b", "c"]. */
export function listOf(value: string | undefined): string[] {
  return (value ?? "").split(/[\s,]+/).filter(Boolean);
}
