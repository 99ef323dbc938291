import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { AuditRow } from "../../db/admin-records";
import { AuditPage, AuditQuery } from "../../schemas/admin";
import { csvContent, errorResponses, security } from "../../schemas/common";
import type { AppEnv } from "../context";
import { csvResponse, wantsCsv } from "../csv";
import { assertOrganizationInScope, scopedOrganization } from "../middleware/admin-guard";
import { AUDIT_RETENTION_DAYS } from "../middleware/audit";
import { requireAdmin } from "../middleware/auth";
import { validationHook } from "../validation";

// Reading the audit log. There is no route that edits or deletes a row: the log is append-only,
// and only the hourly cron purges rows older than the retention.

function present(r: AuditRow) {
  return {
    seq: r.seq,
    at: r.at,
    actor_key_id: r.actorKeyId,
    actor_name: r.actorName,
    actor_role: r.actorRole,
    action: r.action,
    resource_type: r.resourceType,
    resource_id: r.resourceId,
    organization_id: r.organizationId,
    summary: r.summary,
    request_id: r.requestId,
    client_ip: r.clientIp,
    status: r.status,
  };
}

const CSV_HEADER = [
  "seq",
  "at",
  "actor_key_id",
  "actor_name",
  "actor_role",
  "action",
  "resource_type",
  "resource_id",
  "organization_id",
  "summary",
  "request_id",
  "client_ip",
  "status",
] as const;
const CSV_PAGE = 500;

/** Every matching row, newest first, page after page by sequence number (rows written meanwhile are not in it). */
async function* csvPages(first: AuditRow[], next: (beforeSeq: number) => Promise<AuditRow[]>): AsyncIterable<unknown[][]> {
  let page = first;
  while (page.length > 0) {
    yield page.map((row) => {
      const entry = present(row);
      return CSV_HEADER.map((column) => entry[column]);
    });
    if (page.length < CSV_PAGE) return;
    page = await next(page[page.length - 1].seq);
  }
}

export const auditLogRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

auditLogRoutes.openapi(
  createRoute({
    method: "get",
    path: "/",
    tags: ["Audit log"],
    summary: "Admin writes (allowed and refused), newest first",
    description:
      "Roles owner and admin. A key scoped to an organization sees that organization's rows only. " +
      `Rows are kept ${AUDIT_RETENTION_DAYS} days. \`actor\` matches a key id or a key name. ` +
      "`?format=csv` or `Accept: text/csv` answers every matching row as CSV (newest first, streamed; `limit` and `offset` apply to JSON only).",
    security: security.admin,
    middleware: [requireAdmin("audit.read")] as const,
    request: {
      query: AuditQuery,
    },
    responses: {
      200: {
        description: "A page of audit rows",
        content: {
          "application/json": { schema: AuditPage },
          ...csvContent("Every matching row, one line each (summary as JSON)"),
        },
      },
      ...errorResponses(401, 403, 404, 422, 503),
    },
  }),
  async (c) => {
    const { limit, offset, actor, action, resource_id, organization_id, since, until, format } = c.req.valid("query");
    if (organization_id !== undefined) assertOrganizationInScope(c, organization_id);
    const filter = {
      actor,
      action,
      resourceId: resource_id,
      organizationId: organization_id ?? scopedOrganization(c) ?? undefined,
      since,
      until,
    };
    const audit = c.get("repo").audit;
    if (wantsCsv(c, format)) {
      // The first page is read before answering, so a failing D1 is a 503, not a broken download.
      const first = await audit.list(filter, CSV_PAGE, 0);
      const next = (beforeSeq: number) => audit.list({ ...filter, beforeSeq }, CSV_PAGE, 0);
      return csvResponse("audit-log.csv", CSV_HEADER, csvPages(first, next));
    }
    const rows = await audit.list(filter, limit + 1, offset);
    return c.json({ entries: rows.slice(0, limit).map(present), limit, offset, has_more: rows.length > limit }, 200);
  },
);
