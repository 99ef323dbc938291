import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { OrganizationRow } from "../../db/repository";
import { Conflict } from "../../errors";
import { errorResponses, jsonBody, jsonResponse, Pagination, security } from "../../schemas/common";
import { CreateOrganization, Organization, OrganizationPage } from "../../schemas/organizations";
import { OrganizationParam } from "../../schemas/params";
import type { AppEnv } from "../context";
import { apiError } from "../errors";
import { scopedOrganization } from "../middleware/admin-guard";
import { adminWrite } from "../middleware/audit";
import { requireAdmin } from "../middleware/auth";
import { idempotent } from "../middleware/idempotency";
import { validationHook } from "../validation";

function present(o: OrganizationRow) {
  return {
    organization_id: o.organizationId,
    name: o.name,
    status: o.status,
    metadata: o.metadata,
    created_at: o.createdAt,
    updated_at: o.updatedAt,
  };
}

export const organizationRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

organizationRoutes.openapi(
  createRoute({
    method: "post",
    path: "/create",
    tags: ["Organizations"],
    middleware: [adminWrite("organization.create"), idempotent] as const,
    summary: "Create an organization",
    security: security.admin,
    request: { body: jsonBody(CreateOrganization) },
    responses: { 200: jsonResponse(Organization, "The new organization"), ...errorResponses(400, 401, 403, 413, 422, 503) },
  }),
  async (c) => {
    const body = c.req.valid("json");
    try {
      const created = await c.get("repo").organizations.create({
        organizationId: body.organization_id,
        name: body.name,
        metadata: body.metadata,
      });
      return c.json(present(created), 200);
    } catch (error) {
      if (error instanceof Conflict) throw apiError(400, `Organization '${body.organization_id}' already exists`);
      throw error;
    }
  },
);

organizationRoutes.openapi(
  createRoute({
    method: "get",
    path: "/",
    tags: ["Organizations"],
    summary: "List organizations",
    security: security.admin,
    middleware: [requireAdmin("organizations.read")] as const,
    request: { query: Pagination },
    responses: {
      200: jsonResponse(OrganizationPage, "A page of organizations"),
      ...errorResponses(401, 403, 422, 503),
    },
  }),
  async (c) => {
    const { limit, offset } = c.req.valid("query");
    const scope = scopedOrganization(c);
    if (scope !== null) {
      // A key scoped to an organization sees that one only.
      const own = offset === 0 ? await c.get("repo").organizations.get(scope) : undefined;
      return c.json({ organizations: own && limit > 0 ? [present(own)] : [], limit, offset, has_more: false }, 200);
    }
    const rows = await c
      .get("repo")
      .replica()
      .organizations.list(limit + 1, offset);
    return c.json({ organizations: rows.slice(0, limit).map(present), limit, offset, has_more: rows.length > limit }, 200);
  },
);

organizationRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{organization_id}",
    tags: ["Organizations"],
    summary: "Get an organization",
    security: security.admin,
    middleware: [requireAdmin("organizations.read")] as const,
    request: { params: OrganizationParam },
    responses: { 200: jsonResponse(Organization, "The organization"), ...errorResponses(401, 403, 404, 422, 503) },
  }),
  async (c) => {
    const { organization_id } = c.req.valid("param");
    const org = await c.get("repo").organizations.get(organization_id);
    if (!org) throw apiError(404, `Organization '${organization_id}' not found`);
    return c.json(present(org), 200);
  },
);
