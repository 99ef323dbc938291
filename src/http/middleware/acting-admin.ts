import type { AdminIdentity } from "../../security/admin-roles";

// The admin console acts through the gateway's own /api routes, in process. Its requests carry
// no key: each one is registered here, and the admin authentication accepts a request found in
// this map. A request from outside is a different object, so it can never be found here.
const actingAdmins = new WeakMap<Request, AdminIdentity>();

/** Marks an in-process request as made for this signed-in admin (the console's own requests only). */
export function actAs(request: Request, admin: AdminIdentity): Request {
  actingAdmins.set(request, admin);
  return request;
}

/** The signed-in admin an in-process console request acts for, or undefined for any other request. */
export function actingAdminOf(request: Request): AdminIdentity | undefined {
  return actingAdmins.get(request);
}
