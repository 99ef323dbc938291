import type { Context } from "hono";
import type { Repository } from "../db/repository";
import type { AdminIdentity } from "../security/admin-roles";

/**
 * Who sent a request. An admin key carries its identity (role, organization scope); a team key's
 * `teamId` is the team it was issued to, and the team's object decides whether it is still good.
 */
export type Principal = { kind: "admin"; identity: AdminIdentity } | { kind: "team"; teamId: string; keyHash: string };

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
    /** The organization of the team an admin route names (D1), once the admin guard has looked it up. */
    teamOrganization?: string | null;
    /** What an audited admin write acted on, when the handler knows better than the route (a new admin key's id). */
    auditResourceId?: string;
    /** Set only for the admin console's own in-process requests (see http/acting-admin.ts): the admin they act for. */
    consoleAdmin?: AdminIdentity;
    /** Set on the /v1 surface: a key may also come as `x-api-key` (how Anthropic's SDKs send it). */
    acceptsApiKeyHeader?: boolean;
  };
}

export type AppContext = Context<AppEnv>;
