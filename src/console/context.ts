import type { Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AdminIdentity } from "./admin-identity";
import type { ApiCaller } from "./api-client";
import type { Flash } from "./flash";
import type { Session } from "./session";

export interface ConsoleEnv {
  Bindings: Env;
  Variables: { admin: AdminIdentity; session: Session; api: ApiCaller; flash: Flash | null };
}

export type ConsoleApp = Hono<ConsoleEnv>;
export type ConsoleContext = Context<ConsoleEnv>;

/** A path segment from user input, safe to put into an /api or /admin path. */
export const seg = (value: string) => encodeURIComponent(value);

/** A query string of the given values, leaving out the empty ones ("" when none is left). */
export function queryOf(values: Record<string, string | number | undefined | null>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(values))
    if (value !== undefined && value !== null && value !== "") query.set(name, String(value));
  const text = query.toString();
  return text ? `?${text}` : "";
}

/** The `offset` of a listing page, from the console URL. */
export const offsetOf = (c: ConsoleContext) => Math.max(0, Number(c.req.query("offset") ?? 0) || 0);

/** An API status passed on to the console's page (the page shows the API's message). */
export const asStatus = (status: number) => status as ContentfulStatusCode;
