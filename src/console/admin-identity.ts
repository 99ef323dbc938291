import { secretsEqual } from "../security/keys";

// Who is signed in to the console. Today the only admin key is ADMIN_API_KEY (the "bootstrap"
// owner); named admin keys with roles and organization scope plug in here, in one place:
// resolveAdminKey for sign-in and resolveAdminKeyId for every later request, so a revoked key
// ends its sessions.

export interface AdminIdentity {
  keyId: string;
  name: string;
  role: "owner" | "admin" | "billing" | "viewer";
  organizationId: string | null;
}

const BOOTSTRAP: AdminIdentity = { keyId: "bootstrap", name: "bootstrap", role: "owner", organizationId: null };

/** The admin a presented key belongs to, or null for a key that is not an admin key. */
export async function resolveAdminKey(env: Env, key: string): Promise<AdminIdentity | null> {
  if (!env.ADMIN_API_KEY) return null;
  return (await secretsEqual(key, env.ADMIN_API_KEY)) ? BOOTSTRAP : null;
}

/** The admin a session's key id names, while that key is still good. */
export async function resolveAdminKeyId(env: Env, keyId: string): Promise<AdminIdentity | null> {
  return keyId === BOOTSTRAP.keyId && env.ADMIN_API_KEY ? BOOTSTRAP : null;
}

// The console acts through the gateway's own /api routes, in process. Its requests carry no
// key: each one is registered here, and the admin authentication accepts a request found in
// this map. A request from outside is a different object, so it can never be found here.
const actingAdmins = new WeakMap<Request, AdminIdentity>();

export function actAs(request: Request, admin: AdminIdentity): Request {
  actingAdmins.set(request, admin);
  return request;
}

/** The signed-in admin an in-process console request acts for, or undefined for any other request. */
export function actingAdminOf(request: Request): AdminIdentity | undefined {
  return actingAdmins.get(request);
}
