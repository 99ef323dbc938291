import { createMiddleware } from "hono/factory";
import { DependencyDown, type GatewayFailure, LedgerRefusal } from "../../errors";
import { onLedger, tryLedger } from "../../ledger/client";
import type { Caller } from "../../ledger/rules/access";
import type { Permission } from "../../security/admin-roles";
import { hashVirtualKey } from "../../security/keys";
import type { AppContext, AppEnv, Principal } from "../context";
import { apiError, failureToHttp } from "../errors";
import { guardAdmin } from "./admin-guard";
import { type AdminIdentity, resolveAdminKey } from "./admin-identity";
import { keyOwners, unknownKeys } from "./key-owners";

// A team key is checked by the team's object, in the same round trip as the work the request
// asks of it: the Worker only finds which team the key was issued to (the isolate remembers
// it; the first time, one D1 read). A request that ends without reaching the object (a 403 for
// another team's path, a 422, an Idempotency-Key replay) asks the object about the key before
// it answers, so a dead key is always 401, as if it had been checked first.

/**
 * The credential a request presents: `Authorization: Bearer <key>` or `X-Admin-Key: <key>`; on
 * /v1 also `x-api-key: <key>` (Anthropic's header), read as a bearer key when there is no Authorization.
 */
function presentedKeys(c: AppContext): { bearer: string | null; adminHeader: string | null } {
  const authorization = c.req.header("authorization");
  let bearer: string | null = null;
  if (authorization !== undefined) {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
    if (!match) throw apiError(401, "Malformed Authorization header: expected 'Bearer <key>'");
    bearer = match[1];
  } else if (c.get("acceptsApiKeyHeader")) {
    bearer = c.req.header("x-api-key")?.trim() || null;
  }
  return { bearer, adminHeader: c.req.header("x-admin-key") ?? null };
}

/** The admin a key belongs to (the bootstrap ADMIN_API_KEY or a live named key), or null. */
function adminOf(c: AppContext, key: string): Promise<AdminIdentity | null> {
  return resolveAdminKey(c.env, c.get("repo"), key, (work) => c.executionCtx.waitUntil(work));
}

/** The team a key was issued to (null for a key nobody was given); not whether it is still good. */
async function keyOwner(c: AppContext, key: string): Promise<{ teamId: string; keyHash: string } | null> {
  const pepper = c.env.KEY_PEPPER;
  if (!pepper) throw apiError(503, "Team keys are not configured on this deployment");
  const keyHash = await hashVirtualKey(pepper, key);
  let teamId = keyOwners.get(keyHash) ?? null;
  if (teamId === null) {
    if (unknownKeys.has(keyHash)) return null;
    teamId = await c.get("repo").access.teamOfKeyHash(keyHash);
    if (teamId !== null) keyOwners.set(keyHash, teamId);
    else unknownKeys.add(keyHash);
  }
  return teamId === null ? null : { teamId, keyHash };
}

/** Who the request's key belongs to, if it is accepted here (401 unknown key, 403 the wrong kind of key). */
export async function authenticate(c: AppContext, accept: { admin: boolean; team: boolean }): Promise<Principal> {
  // The admin console's own in-process request, made for the admin signed in to it (no key to check).
  const consoleAdmin = c.get("consoleAdmin");
  if (accept.admin && consoleAdmin) return { kind: "admin", identity: consoleAdmin };
  if (accept.admin && !accept.team && !c.env.ADMIN_API_KEY) {
    throw apiError(503, "The admin API is not configured on this deployment");
  }
  const { bearer, adminHeader } = presentedKeys(c);
  if (adminHeader !== null) {
    const identity = await adminOf(c, adminHeader);
    if (identity === null) throw apiError(401, "Invalid admin key");
    if (!accept.admin) throw apiError(403, "This route takes a team's virtual key, not the admin key");
    return { kind: "admin", identity };
  }
  if (bearer === null) {
    const how = c.get("acceptsApiKeyHeader") ? "'Authorization: Bearer <key>' or 'x-api-key: <key>'" : "'Authorization: Bearer <key>'";
    throw apiError(401, `Missing credentials: send ${how}`);
  }
  // Admin keys are looked for first only where they are accepted, so team routes do not pay for it.
  if (accept.admin) {
    const identity = await adminOf(c, bearer);
    if (identity !== null) return { kind: "admin", identity };
  }
  const owner = await keyOwner(c, bearer);
  if (owner !== null) {
    const principal: Principal = { kind: "team", ...owner };
    if (!accept.team) {
      await onLedger(c.env, owner.teamId, "authenticate", { kind: "team", keyHash: owner.keyHash });
      throw apiError(403, "This route needs the admin key; a team key cannot use it");
    }
    return principal;
  }
  if (!accept.admin && (await adminOf(c, bearer)) !== null) {
    throw apiError(403, "This route takes a team's virtual key, not the admin key");
  }
  throw apiError(401, "Invalid API key");
}

function requirePrincipal(accept: { admin: boolean; team: boolean }, permission: Permission | null) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const principal = await authenticate(c, accept);
    c.set("principal", principal);
    if (principal.kind === "admin") await guardAdmin(c, principal.identity, permission);
    await next();
    if (c.get("principal").kind === "team" && !c.get("keyChecked")) {
      const refused = await keyRefusal(c);
      if (refused) {
        // A fresh response, so none of the unchecked answer's headers carry over.
        c.res = undefined;
        c.res = failureToHttp(refused).getResponse();
      }
    }
  });
}

/** The caller a request's team object is asked for; handing over a team key is what gets it checked. */
export function callerOf(c: AppContext): Caller {
  const principal = c.get("principal");
  if (principal.kind === "admin") return { kind: "admin" };
  c.set("keyChecked", true);
  return { kind: "team", keyHash: principal.keyHash };
}

/** Asks the team's object about the key now (for a request that would otherwise answer without it): the refusal, or null. */
async function keyRefusal(c: AppContext): Promise<GatewayFailure | null> {
  const principal = c.get("principal");
  if (principal.kind !== "team") return null;
  try {
    const result = await tryLedger(c.env, principal.teamId, "authenticate", callerOf(c));
    return result.ok ? null : new LedgerRefusal(result.code, result.detail, result.retryAfterSeconds);
  } catch {
    return new DependencyDown("ledger");
  }
}

/** Throws when the request's team key is no longer good; for work (an Idempotency-Key claim) that must not start otherwise. */
export async function assertTeamKeyGood(c: AppContext): Promise<void> {
  if (c.get("principal").kind !== "team" || c.get("keyChecked")) return;
  const refused = await keyRefusal(c);
  if (refused) throw refused;
}

/**
 * Admin only, with the permission the route needs (403 naming it otherwise; null: any admin key); a key scoped to an
 * organization finds another organization's team or organization not found (404). Admin writes
 * take adminWrite (audit.ts) instead, which also records them.
 */
export const requireAdmin = (permission: Permission | null) => requirePrincipal({ admin: true, team: false }, permission);
/** A team's own virtual key: jobs and calls. */
export const requireTeam = requirePrincipal({ admin: false, team: true }, null);
/** LLM-call routes: a team's key, like requireTeam (the object resolves the group as it admits the call). */
export const requireTeamCall = requireTeam;
/** Read-only team routes: the team's key, or an admin key with the permission (and the team in its scope). */
export const requireTeamOrAdmin = (permission: Permission) => requirePrincipal({ admin: true, team: true }, permission);

/** On a route naming a team, a team key may only name its own team. */
export function assertTeamAccess(principal: Principal, teamId: string, what: string): void {
  if (principal.kind === "team" && principal.teamId !== teamId) {
    throw apiError(403, `Cannot access ${what} of a different team`);
  }
}

export function teamOf(principal: Principal): string {
  if (principal.kind !== "team") throw apiError(403, "This route takes a team's virtual key");
  return principal.teamId;
}
