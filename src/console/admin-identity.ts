import type { AdminIdentity } from "../security/admin-roles";

// Who is signed in to the console is decided by the API's own admin identities
// (src/http/admin-identity.ts: resolveAdminKey at sign-in, resolveAdminKeyId on every later
// request, so a revoked key ends its sessions). Its in-process requests are marked with actAs
// (src/http/acting-admin.ts).

export type { AdminIdentity };
