import type { AdminIdentity } from "../security/admin-roles";

// Who is signed in to the console is decided by the API's own admin identities
// (src/http/admin-identity.ts: resolveAdminKey at sign-in, resolveAdminKeyId on every later
// request, so a revoked key ends its sessions).

export type { AdminIdentity };

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
