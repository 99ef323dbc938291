import type { Context } from "hono";
import type { Repository } from "../db/repository";

export type Principal = { kind: "admin" } | { kind: "team"; teamId: string };

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    repo: Repository;
    principal: Principal;
    /** For LLM-call routes: the requested group, resolved with the key in one D1 query. */
    callGroup?: { name: string; models: string[] | null };
    /** Set by the idempotent middleware when the request has an Idempotency-Key: see operationId(). */
    operationBase?: string;
  };
}

export type AppContext = Context<AppEnv>;
