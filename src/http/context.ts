import type { Context } from "hono";
import type { AdminIdentity } from "../console/admin-identity";
import type { Repository } from "../db/repository";

/** Who sent a request. A team key's `teamId` is the team it was issued to; the team's object decides whether it is still good. */
export type Principal = { kind: "admin" } | { kind: "team"; teamId: string; keyHash: string };

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    repo: Repository;
    principal: Principal;
    /** Set by the idempotent middleware when the request has an Idempotency-Key: see operationId(). */
    operationBase?: string;
    /** True once the team key has been handed to the team's object, which checks it in the same round trip. */
    keyChecked?: boolean;
    /** Set only for the admin console's own in-process requests (see console/admin-identity.ts): the admin they act for. */
    consoleAdmin?: AdminIdentity;
  };
}

export type AppContext = Context<AppEnv>;
