import { z } from "@hono/zod-openapi";
import { ROLES } from "../security/admin-roles";
import { ClientId, CsvFormat, PageInfo, Pagination, Timestamp } from "./common";

// Named admin keys and the audit log, as their routes answer them.

export const AdminRole = z.enum(ROLES).openapi({
  description: "owner: everything; admin: all but admin keys; billing: credits, refunds, budget modes, pricing and reads; viewer: reads",
});

export const AdminKey = z
  .object({
    key_id: z.string(),
    name: z.string(),
    role: AdminRole,
    organization_id: z.string().nullable().openapi({ description: "The organization the key is confined to; null for every organization" }),
    key_prefix: z.string(),
    created_at: Timestamp,
    last_used_at: Timestamp.nullable().openapi({ description: "Updated at most once a minute" }),
    revoked_at: Timestamp.nullable(),
  })
  .openapi("AdminKey");

export const CreatedAdminKey = AdminKey.extend({ admin_key: z.string().openapi({ description: "Shown once, never again" }) });

export const AdminKeyPage = z.object({ admin_keys: z.array(AdminKey), ...PageInfo });

export const AuditEntry = z
  .object({
    seq: z.number().int().openapi({ description: "Increasing with time: rows are listed newest (highest) first" }),
    at: Timestamp,
    actor_key_id: z
      .string()
      .openapi({ description: "The admin key's id, `bootstrap` for ADMIN_API_KEY, `-` when no admin key was recognized" }),
    actor_name: z.string(),
    actor_role: z.string().nullable(),
    action: z.string().openapi({ example: "credits.add" }),
    resource_type: z.string(),
    resource_id: z.string().nullable(),
    organization_id: z.string().nullable(),
    summary: z.record(z.string(), z.unknown()).openapi({ description: "The whitelisted fields of the request (never a key or a secret)" }),
    request_id: z.string(),
    client_ip: z.string().nullable(),
    status: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "The answer's HTTP status; null while the write runs, or if its outcome could not be recorded" }),
  })
  .openapi("AuditEntry");

export const AuditPage = z.object({ entries: z.array(AuditEntry), ...PageInfo });

export const CreateAdminKey = z.object({
  name: z.string().trim().min(1, { error: "must not be empty" }).max(200, { error: "must be at most 200 characters" }),
  role: AdminRole,
  organization_id: ClientId.nullable().optional(),
});

/** An instant in a query: any ISO 8601 date-time, read as UTC. */
const Instant = z.iso
  .datetime({ offset: true, error: "must be an ISO 8601 date-time, e.g. 2026-12-01T00:00:00Z" })
  .transform((value) => new Date(value).toISOString());

/** Which audit rows to show: a page (or, as CSV, all) of those matching every filter given. */
export const AuditQuery = Pagination.extend(CsvFormat).extend({
  actor: z.string().min(1).max(200).optional(),
  action: z.string().min(1).max(100).optional(),
  resource_id: z.string().min(1).max(200).optional(),
  organization_id: ClientId.optional(),
  since: Instant.optional().openapi({ type: "string", format: "date-time" }),
  until: Instant.optional().openapi({ type: "string", format: "date-time" }),
});

/** Who an admin key is, and what it may do. */
export const AdminKeyIdentity = z.object({
  key_id: z.string(),
  name: z.string(),
  role: AdminRole,
  organization_id: z.string().nullable(),
  permissions: z.array(z.string()),
});

export const KeyRevoked = z.object({ key_id: z.string(), message: z.string() });
