import type { Context } from "hono";

/** The hidden fields every console form carries: the session's CSRF token and the form's one-time idempotency key. */
export const CSRF_FIELD = "_csrf";
export const IDEMPOTENCY_FIELD = "_once";

export type FormFields = Record<string, string>;

/** A posted form's text fields (files are ignored); a field sent more than once (checkboxes) is its values joined by commas. */
export async function formOf(c: Context): Promise<FormFields> {
  const fields: FormFields = {};
  const contentType = c.req.header("content-type") ?? "";
  if (!/application\/x-www-form-urlencoded|multipart\/form-data/i.test(contentType)) return fields;
  for (const [name, value] of Object.entries(await c.req.parseBody({ all: true }))) {
    const texts = (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === "string");
    if (texts.length > 0) fields[name] = texts.join(",");
  }
  return fields;
}

/** What was typed into a form, without its hidden tokens (kept to fill the form in again after a refusal). */
export function typedValues(form: FormFields): FormFields {
  const { [CSRF_FIELD]: _csrf, [IDEMPOTENCY_FIELD]: _once, ...typed } = form;
  return typed;
}

/** A number typed into a form, or the text itself when it is not one (so the API's validation names the field). */
export function numberOrText(value: string | undefined): number | string | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : value;
}

/** A date-time picked in a form ("2026-12-01T09:30", no zone) is UTC; anything else goes to the API as typed. */
export const utcDateTime = (value: string) =>
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value) ? `${value}${value.length === 16 ? ":00" : ""}Z` : value;

/** "a, b  c" → ["a", "b", "c"]. */
export function listOf(value: string | undefined): string[] {
  return (value ?? "").split(/[\s,]+/).filter(Boolean);
}
