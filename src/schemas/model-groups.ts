import { z } from "@hono/zod-openapi";
import { CACHE_SCOPES } from "../db/access-records";
import { ClientId, ModelName, PageInfo, Timestamp } from "./common";

// What the model group routes answer.

/** The longest a cached answer is kept: 30 days. */
const MAX_CACHE_TTL_SECONDS = 30 * 24 * 3600;

export const CacheSetting = z
  .object({
    ttl_seconds: z
      .number()
      .int({ error: "must be an integer" })
      .min(1, { error: "must be at least 1" })
      .max(MAX_CACHE_TTL_SECONDS, { error: `must be at most ${MAX_CACHE_TTL_SECONDS} (30 days)` })
      .openapi({ description: "How long an answer is served from the cache after it was stored" }),
    scope: z
      .enum(CACHE_SCOPES, { error: "must be 'team' or 'organization'" })
      .default("team")
      .openapi({ description: "Who shares the entries: the team that made the call, or every team of its organization" }),
    hit_price_percent: z
      .number()
      .int({ error: "must be an integer" })
      .min(0, { error: "must be 0 to 100" })
      .max(100, { error: "must be 0 to 100" })
      .openapi({ description: "What a hit costs the team, in percent of what the original answer cost it (0: free)" }),
  })
  .openapi("ModelGroupCache", {
    description:
      "The group's response cache (docs/cache.md): an exact-match answer cache, off when null. A hit is a call of its job, " +
      "recorded with `cached: true`, the original's tokens and hit_price_percent of its cost.",
  });

/** A cache setting as sent: absent keeps it, null turns the cache off. */
export const CacheInput = CacheSetting.nullable().optional();

export const ModelGroup = z
  .object({
    group_name: z.string(),
    display_name: z.string(),
    description: z.string().nullable(),
    status: z.string(),
    models: z.array(z.object({ model_name: z.string(), priority: z.number().int() })),
    cache: CacheSetting.nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("ModelGroup");

export const ModelGroupPage = z.object({ model_groups: z.array(ModelGroup), ...PageInfo });

export const GroupModelInput = z.object({
  model_name: ModelName,
  priority: z
    .number()
    .int({ error: "must be an integer" })
    .min(0, { error: "must not be negative" })
    .max(1000, { error: "must be at most 1000" })
    .default(0),
});

export const GroupModels = z
  .array(GroupModelInput)
  .min(1, { error: "must list at least one model" })
  .max(20, { error: "must list at most 20 models" })
  .refine((models) => new Set(models.map((m) => m.model_name)).size === models.length, { error: "must not list a model twice" });

const DisplayName = z.string().max(200, { error: "must be at most 200 characters" });
const Description = z.string().max(2000, { error: "must be at most 2000 characters" }).nullable();

export const CreateModelGroup = z.object({
  group_name: ClientId,
  display_name: DisplayName.optional(),
  description: Description.optional(),
  models: GroupModels,
  cache: CacheInput,
});

/** A change of a group's names or cache: fields left out keep their value. */
export const UpdateModelGroup = z.object({ display_name: DisplayName.optional(), description: Description.optional(), cache: CacheInput });

export const GroupUsage = z
  .object({
    group_name: z.string(),
    period: z.string(),
    calls: z.number().int().openapi({ description: "The group's calls in the period, over every team that uses it" }),
    cache_hits: z.number().int(),
    hit_rate: z.number().openapi({ description: "cache_hits / calls (0 without calls)" }),
    cache_saved_usd: z.number().openapi({ description: "The client cost the hits saved against their originals" }),
  })
  .openapi("ModelGroupUsage");

/** A group's new models: the list, or `{ "models": [...] }`. */
export const GroupModelsChange = z.union([GroupModels, z.object({ models: GroupModels })]);

export const GroupDeleted = z.object({ group_name: z.string(), message: z.string() });
