import type { Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AdminIdentity } from "./admin-identity";
import type { ApiCaller } from "./api-client";
import type { Session } from "./session";

export interface ConsoleEnv {
  Bindings: Env;
  Variables: { admin: AdminIdentity; session: Session; api: ApiCaller };
}

export type ConsoleApp = Hono<ConsoleEnv>;

/** A path segment from user input, safe to put into an /api path. */
export const seg = (value: string) => encodeURIComponent(value);

/** An API status passed on to the console's page (the page shows the API's message). */
export const asStatus = (status: number) => status as ContentfulStatusCode;
