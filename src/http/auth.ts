import { createMiddleware } from "hono/factory";
import { hashVirtualKey, secretsEqual } from "../security/keys";
import type { AppContext, AppEnv, Principal } from "./context";
import { apiError } from "./errors";

/** The credential a request presents: `Authorization: Bearer <key>` or `X-Admin-Key: <key>`. */
function presentedKeys(c: AppContext): { bearer: string | null; adminHeader: string | null } {
  const authorization = c.req.header("authorization");
  let bearer: string | null = null;
  if (authorization !== undefined) {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
    if (!match) throw apiError(401, "Malformed Authorization header: expected 'Bearer <key>'");
    bearer = match[1];
  }
  return { bearer, adminHeader: c.req.header("x-admin-key") ?? null };
}

async function isAdminKey(c: AppContext, key: string): Promise<boolean> {
  const adminKey = c.env.ADMIN_API_KEY;
  if (!adminKey) throw apiError(503, "The admin API is not configured on this deployment");
  return secretsEqual(key, adminKey);
}

async function teamIdForKey(c: AppContext, key: string, callGroup?: string): Promise<string | null> {
  const pepper = c.env.KEY_PEPPER;
  if (!pepper) throw apiError(503, "Team keys are not configured on this deployment");
  const keyHash = await hashVirtualKey(pepper, key);
  if (callGroup === undefined) return c.get("repo").findTeamIdByKeyHash(keyHash);
  const found = await c.get("repo").teamForCall(keyHash, callGroup);
  if (found) c.set("callGroup", { name: callGroup, models: found.models });
  return found?.teamId ?? null;
}

async function authenticate(c: AppContext, accept: { admin: boolean; team: boolean }, callGroup?: string): Promise<Principal> {
  if (accept.admin && !accept.team && !c.env.ADMIN_API_KEY) {
    throw apiError(503, "The admin API is not configured on this deployment");
  }
  const { bearer, adminHeader } = presentedKeys(c);
  if (adminHeader !== null) {
    if (await isAdminKey(c, adminHeader)) {
      if (!accept.admin) throw apiError(403, "This route takes a team's virtual key, not the admin key");
      return { kind: "admin" };
    }
    throw apiError(401, "Invalid admin key");
  }
  if (bearer === null) throw apiError(401, "Missing credentials: send 'Authorization: Bearer <key>'");
  // The admin key is checked first only where it is accepted, so team routes do not pay for it.
  if (accept.admin && c.env.ADMIN_API_KEY && (await isAdminKey(c, bearer))) return { kind: "admin" };
  const teamId = await teamIdForKey(c, bearer, callGroup);
  if (teamId !== null) {
    if (!accept.team) throw apiError(403, "This route needs the admin key; a team key cannot use it");
    return { kind: "team", teamId };
  }
  if (!accept.admin && c.env.ADMIN_API_KEY && (await isAdminKey(c, bearer))) {
    throw apiError(403, "This route takes a team's virtual key, not the admin key");
  }
  throw apiError(401, "Invalid API key");
}

function requirePrincipal(accept: { admin: boolean; team: boolean }) {
  return createMiddleware<AppEnv>(async (c, next) => {
    c.set("principal", await authenticate(c, accept));
    await next();
  });
}

/** The model group an LLM-call body names, if it names one (validation reports the rest later). */
async function requestedGroup(c: AppContext): Promise<string | undefined> {
  try {
    const body = (await c.req.json()) as { model_group?: unknown; model?: unknown } | null;
    const group = body?.model_group ?? body?.model;
    return typeof group === "string" ? group : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A team's key on an LLM-call route: the key lookup also resolves the requested model group,
 * so a call costs one D1 round trip before it reaches the team's ledger.
 */
export const requireTeamCall = createMiddleware<AppEnv>(async (c, next) => {
  c.set("principal", await authenticate(c, { admin: false, team: true }, await requestedGroup(c)));
  await next();
});

/** Admin only: organizations, model groups, teams, funding, pricing. */
export const requireAdmin = requirePrincipal({ admin: true, team: false });
/** A team's own virtual key: jobs and calls. */
export const requireTeam = requirePrincipal({ admin: false, team: true });
/** Read-only team routes: the team's key, or the admin key. */
export const requireTeamOrAdmin = requirePrincipal({ admin: true, team: true });

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
