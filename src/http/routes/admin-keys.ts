import { createRoute, OpenAPIHono, type z } from "@hono/zod-openapi";
import type { AdminKeyRow } from "../../db/admin-records";
import { AdminKeyIdentity, AdminKeyPage, type AdminRole, CreateAdminKey, CreatedAdminKey, KeyRevoked } from "../../schemas/admin";
import { errorResponses, jsonBody, jsonResponse, Pagination, security } from "../../schemas/common";
import { AdminKeyParam } from "../../schemas/params";
import { permissionsOf } from "../../security/admin-roles";
import { generateAdminKey, hashVirtualKey } from "../../security/keys";
import type { AppEnv } from "../context";
import { apiError } from "../errors";
import { pepper } from "../flows/team-views";
import { adminIdentity } from "../middleware/admin-guard";
import { adminWrite } from "../middleware/audit";
import { requireAdmin } from "../middleware/auth";
import { idempotent } from "../middleware/idempotency";
import { validationHook } from "../validation";

// Named admin keys (owner only, unscoped): created with a role and an optional organization
// scope, shown once, listed without the key, revoked at once.

function present(k: AdminKeyRow) {
  return {
    key_id: k.keyId,
    name: k.name,
    role: k.role as z.infer<typeof AdminRole>,
    organization_id: k.organizationId,
    key_prefix: k.keyPrefix,
    created_at: k.createdAt,
    last_used_at: k.lastUsedAt,
    revoked_at: k.revokedAt,
  };
}

export const adminKeyRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

adminKeyRoutes.openapi(
  createRoute({
    method: "post",
    path: "/",
    tags: ["Admin keys"],
    summary: "Create a named admin key with a role and an optional organization scope (the key is shown once)",
    security: security.admin,
    middleware: [adminWrite("admin_key.create"), idempotent] as const,
    request: { body: jsonBody(CreateAdminKey) },
    responses: {
      201: jsonResponse(CreatedAdminKey, "The new key"),
      ...errorResponses(401, 403, 404, 413, 422, 503),
    },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const repo = c.get("repo");
    const organizationId = body.organization_id ?? null;
    if (organizationId !== null && !(await repo.organizations.get(organizationId))) {
      throw apiError(404, `Organization '${organizationId}' not found`);
    }
    const { key, prefix } = generateAdminKey();
    const created = await repo.adminKeys.create({
      keyId: crypto.randomUUID(),
      name: body.name,
      role: body.role,
      organizationId,
      keyHash: await hashVirtualKey(pepper(c), key),
      keyPrefix: prefix,
      createdAt: new Date().toISOString(),
    });
    c.set("auditResourceId", created.keyId);
    return c.json({ ...present(created), admin_key: key }, 201);
  },
);

adminKeyRoutes.openapi(
  createRoute({
    method: "get",
    path: "/",
    tags: ["Admin keys"],
    summary: "List admin keys, newest first (never the key; revoked ones too)",
    security: security.admin,
    middleware: [requireAdmin("admin_keys.manage")] as const,
    request: { query: Pagination },
    responses: {
      200: jsonResponse(AdminKeyPage, "A page of admin keys"),
      ...errorResponses(401, 403, 422, 503),
    },
  }),
  async (c) => {
    const { limit, offset } = c.req.valid("query");
    const rows = await c.get("repo").adminKeys.list(limit + 1, offset);
    return c.json({ admin_keys: rows.slice(0, limit).map(present), limit, offset, has_more: rows.length > limit }, 200);
  },
);

adminKeyRoutes.openapi(
  createRoute({
    method: "get",
    path: "/self",
    tags: ["Admin keys"],
    summary: "Who this admin key is: its name, role, scope and what it may do",
    description: "Any admin key may ask; the bootstrap ADMIN_API_KEY is `bootstrap`, an unscoped owner.",
    security: security.admin,
    middleware: [requireAdmin(null)] as const,
    responses: {
      200: jsonResponse(AdminKeyIdentity, "The key's identity"),
      ...errorResponses(401, 403, 503),
    },
  }),
  (c) => {
    const identity = adminIdentity(c);
    if (!identity) throw apiError(403, "This route needs an admin key");
    return c.json(
      {
        key_id: identity.keyId,
        name: identity.name,
        role: identity.role,
        organization_id: identity.organizationId,
        permissions: permissionsOf(identity),
      },
      200,
    );
  },
);

adminKeyRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/{key_id}",
    tags: ["Admin keys"],
    summary: "Revoke an admin key: it is refused from the next request on",
    security: security.admin,
    middleware: [adminWrite("admin_key.revoke")] as const,
    request: { params: AdminKeyParam },
    responses: {
      200: jsonResponse(KeyRevoked, "Revoked"),
      ...errorResponses(401, 403, 404, 422, 503),
    },
  }),
  async (c) => {
    const { key_id } = c.req.valid("param");
    if (!(await c.get("repo").adminKeys.revoke(key_id))) throw apiError(404, `Admin key '${key_id}' not found or already revoked`);
    return c.json({ key_id, message: `Admin key '${key_id}' revoked` }, 200);
  },
);
