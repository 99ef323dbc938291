import { z } from "@hono/zod-openapi";
import { ClientId, Metadata, PageInfo, Timestamp } from "./common";

// What the organization routes answer.

export const Organization = z
  .object({
    organization_id: z.string(),
    name: z.string(),
    status: z.string(),
    metadata: z.record(z.string(), z.unknown()),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Organization");

export const OrganizationPage = z.object({ organizations: z.array(Organization), ...PageInfo });

export const CreateOrganization = z.object({
  organization_id: ClientId,
  name: z.string().min(1, { error: "must not be empty" }).max(500, { error: "must be at most 500 characters" }),
  metadata: Metadata.default({}),
});
