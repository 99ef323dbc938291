import { z } from "@hono/zod-openapi";
import { ROLES } from "../security/admin-roles";
import { PageInfo, Timestamp } from "./common";

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
