import { z } from "@hono/zod-openapi";
import { ClientId, Metadata, PageInfo, Timestamp } from "./common";

// What the organization routes take and answer.

/** Cloudflare's Durable Object location hints: the region a new object is created near. */
export const LOCATION_HINTS = ["wnam", "enam", "sam", "weur", "eeur", "apac", "oc", "afr", "me"] as const;
export type LocationHint = (typeof LOCATION_HINTS)[number];

/** Durable Object jurisdictions: an object created in one runs and stores its data only inside it. */
export const JURISDICTIONS = ["eu", "fedramp"] as const;
export type Jurisdiction = (typeof JURISDICTIONS)[number];

export const Placement = z
  .object({
    location_hint: z.enum(LOCATION_HINTS).nullable().default(null).openapi({
      description:
        "Cloudflare location hint: the region new team objects are created near (their traffic, and LiteLLM). Null: near the request that creates the team",
    }),
    jurisdiction: z.enum(JURISDICTIONS).nullable().default(null).openapi({
      description:
        "Jurisdiction new team objects are created in; they then run and store their data only inside it (eu: the European Union). Null: none",
    }),
  })
  .openapi("Placement", {
    description:
      "Where the Durable Objects of the organization's teams are placed when each team is created. A team keeps the placement it was created with",
  });

export const Organization = z
  .object({
    organization_id: z.string(),
    name: z.string(),
    status: z.string(),
    metadata: z.record(z.string(), z.unknown()),
    placement: Placement,
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Organization");

export const OrganizationPage = z.object({ organizations: z.array(Organization), ...PageInfo });

export const CreateOrganization = z.object({
  organization_id: ClientId,
  name: z.string().min(1, { error: "must not be empty" }).max(500, { error: "must be at most 500 characters" }),
  metadata: Metadata.default({}),
  placement: Placement.optional(),
});

export const UpdateOrganization = z.object({
  placement: Placement.openapi({ description: "The placement of teams created from now on; existing teams keep theirs" }),
});
