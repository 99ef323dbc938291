// Admin roles and what they may do (issue 18). A permission is a word a route names; a role is
// a set of them. A key scoped to one organization also loses every permission over something
// shared by all organizations (GLOBAL_PERMISSIONS).

export const PERMISSIONS = [
  "organizations.read",
  "organizations.create",
  "model_groups.read",
  "model_groups.write",
  "teams.read",
  "teams.write",
  "credits.read",
  "credits.write",
  "jobs.read",
  "jobs.refund",
  "webhooks.write",
  "budget.write",
  "pricing.read",
  "pricing.write",
  "admin_keys.manage",
  "audit.read",
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ROLES = ["owner", "admin", "billing", "viewer"] as const;
export type Role = (typeof ROLES)[number];

/** Permissions over what every organization shares: refused (403) to a key scoped to one organization. */
export const GLOBAL_PERMISSIONS: ReadonlySet<Permission> = new Set<Permission>([
  "organizations.create",
  "model_groups.write",
  "pricing.read",
  "pricing.write",
  "admin_keys.manage",
]);

const READS: Permission[] = ["organizations.read", "model_groups.read", "teams.read", "credits.read", "jobs.read", "pricing.read"];

const ROLE_PERMISSIONS: Record<Role, ReadonlySet<Permission>> = {
  owner: new Set(PERMISSIONS),
  admin: new Set(PERMISSIONS.filter((p) => p !== "admin_keys.manage")),
  billing: new Set<Permission>([...READS, "credits.write", "jobs.refund", "budget.write", "pricing.write"]),
  viewer: new Set(READS),
};

/** Who an admin request comes from. `keyId` is "bootstrap" for ADMIN_API_KEY (an unscoped owner). */
export type AdminIdentity = { keyId: string; name: string; role: Role; organizationId: string | null };

export const BOOTSTRAP_IDENTITY: AdminIdentity = { keyId: "bootstrap", name: "bootstrap", role: "owner", organizationId: null };

/** What a key may do: its role's permissions, less the global ones when it is scoped to an organization. */
export function permissionsOf(identity: Pick<AdminIdentity, "role" | "organizationId">): Permission[] {
  return PERMISSIONS.filter((p) => can(identity, p));
}

export function can(identity: Pick<AdminIdentity, "role" | "organizationId">, permission: Permission): boolean {
  if (!ROLE_PERMISSIONS[identity.role].has(permission)) return false;
  return identity.organizationId === null || !GLOBAL_PERMISSIONS.has(permission);
}

/** Why a key may not do something (the 403 detail), or null when it may. */
export function refusalOf(identity: AdminIdentity, permission: Permission): string | null {
  if (!ROLE_PERMISSIONS[identity.role].has(permission)) {
    return `This admin key (role ${identity.role}) lacks the permission ${permission}`;
  }
  if (identity.organizationId !== null && GLOBAL_PERMISSIONS.has(permission)) {
    return `This admin key is scoped to organization '${identity.organizationId}' and lacks the permission ${permission}, which covers every organization`;
  }
  return null;
}
