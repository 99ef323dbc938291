import { type AdminIdentity, type Permission, refusalOf } from "../../security/admin-roles";
import type { AppContext } from "../context";
import { apiError } from "../errors";

// What an admin key may reach. Its role decides which routes (403 naming the missing
// permission); its organization scope decides which resources: another organization, or a team
// of one, is not found (404), as if it did not exist. One guard per route (auth.ts, audit.ts),
// not checks scattered in handlers; listings and bodies that name an organization use
// scopedOrganization / assertOrganizationInScope.

/** The identity of an admin request, or null for a team key. */
export function adminIdentity(c: AppContext): AdminIdentity | null {
  const principal = c.get("principal");
  return principal?.kind === "admin" ? principal.identity : null;
}

/** The organization an admin request is confined to (null: every organization, or a team key). */
export function scopedOrganization(c: AppContext): string | null {
  return adminIdentity(c)?.organizationId ?? null;
}

/** An organization named by a request (a body or a filter) must be the key's own. */
export function assertOrganizationInScope(c: AppContext, organizationId: string): void {
  const scope = scopedOrganization(c);
  if (scope !== null && scope !== organizationId) throw apiError(404, `Organization '${organizationId}' not found`);
}

/** The team an admin route names: the `team_id` path parameter, or (GET /api/jobs/{id}) the `team_id` query. */
export function namedTeam(c: AppContext): string | undefined {
  return c.req.param("team_id") ?? c.req.query("team_id") ?? undefined;
}

/**
 * Refuses an admin key what its role or scope does not allow. `lookUpTeam` also looks up the
 * organization of the team the route names for an unscoped key (the audit log records it).
 */
export async function guardAdmin(c: AppContext, identity: AdminIdentity, permission: Permission | null, lookUpTeam = false): Promise<void> {
  const refused = permission === null ? null : refusalOf(identity, permission);
  if (refused) throw apiError(403, refused);
  const scope = identity.organizationId;
  const teamId = namedTeam(c);
  if (teamId !== undefined && (scope !== null || lookUpTeam)) {
    const organization = await c.get("repo").teams.organizationOf(teamId);
    c.set("teamOrganization", organization);
    if (scope !== null && organization !== scope) throw apiError(404, `Team '${teamId}' not found`);
  }
  const organizationId = c.req.param("organization_id");
  if (organizationId !== undefined) assertOrganizationInScope(c, organizationId);
}
