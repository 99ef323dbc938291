import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { CACHE_SCOPES, type GroupCache, groupCacheOf } from "../../db/access-records";
import type { ModelGroupWithModels } from "../../db/repository";
import { Conflict } from "../../errors";
import { nanoToUsd } from "../../ledger/rules/money";
import { ClientId, errorResponses, jsonBody, jsonResponse, PageInfo, Pagination, security, Timestamp } from "../../schemas/common";
import { MonthPeriod } from "../../schemas/reports";
import type { AppEnv } from "../context";
import { apiError } from "../errors";
import { pushAccessToTeams } from "../flows/access-push";
import { adminWrite } from "../middleware/audit";
import { requireAdmin } from "../middleware/auth";
import { validationHook } from "../validation";

/** A model name as LiteLLM knows it (e.g. `gpt-4o-mini`, `openai/gpt-4o`). */
const ModelName = z
  .string()
  .min(1, { error: "must not be empty" })
  .max(200, { error: "must be at most 200 characters" })
  .regex(/^[A-Za-z0-9._:/@+=-]+$/, { error: "may contain only letters, digits and . _ : / @ + = -" });

const GroupModelInput = z.object({
  model_name: ModelName,
  priority: z
    .number()
    .int({ error: "must be an integer" })
    .min(0, { error: "must not be negative" })
    .max(1000, { error: "must be at most 1000" })
    .default(0),
});

const GroupModels = z
  .array(GroupModelInput)
  .min(1, { error: "must list at least one model" })
  .max(20, { error: "must list at most 20 models" })
  .refine((models) => new Set(models.map((m) => m.model_name)).size === models.length, { error: "must not list a model twice" });

/** The longest a cached answer is kept: 30 days. */
const MAX_CACHE_TTL_SECONDS = 30 * 24 * 3600;

const CacheSetting = z
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

const CacheInput = CacheSetting.nullable().optional();

const ModelGroup = z
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

const DisplayName = z.string().max(200, { error: "must be at most 200 characters" });
const Description = z.string().max(2000, { error: "must be at most 2000 characters" }).nullable();

const CreateModelGroup = z.object({
  group_name: ClientId,
  display_name: DisplayName.optional(),
  description: Description.optional(),
  models: GroupModels,
  cache: CacheInput,
});

const UpdateModelGroup = z.object({ display_name: DisplayName.optional(), description: Description.optional(), cache: CacheInput });

const GroupUsage = z
  .object({
    group_name: z.string(),
    period: z.string(),
    calls: z.number().int().openapi({ description: "The group's calls in the period, over every team that uses it" }),
    cache_hits: z.number().int(),
    hit_rate: z.number().openapi({ description: "cache_hits / calls (0 without calls)" }),
    cache_saved_usd: z.number().openapi({ description: "The client cost the hits saved against their originals" }),
  })
  .openapi("ModelGroupUsage");

const GroupParam = z.object({ group_name: ClientId.openapi({ param: { name: "group_name", in: "path" } }) });

function present(g: ModelGroupWithModels) {
  const cache = groupCacheOf(g);
  return {
    group_name: g.groupName,
    display_name: g.displayName,
    description: g.description,
    status: g.status,
    models: g.models.map((m) => ({ model_name: m.modelName, priority: m.priority })),
    cache: cache && { ttl_seconds: cache.ttlSeconds, scope: cache.scope, hit_price_percent: cache.hitPricePercent },
    created_at: g.createdAt,
    updated_at: g.updatedAt,
  };
}

function toCache(cache: z.infer<typeof CacheInput>): GroupCache | null | undefined {
  if (cache === undefined || cache === null) return cache;
  return { ttlSeconds: cache.ttl_seconds, scope: cache.scope, hitPricePercent: cache.hit_price_percent };
}

/** What every team assigned a group gets pushed when its models or cache change: the group as its object holds it. */
function groupChange(group: ModelGroupWithModels) {
  return { groupModels: { name: group.groupName, models: group.models.map((m) => m.modelName), cache: groupCacheOf(group) } };
}

function toModels(models: z.infer<typeof GroupModels>) {
  return models.map((m) => ({ modelName: m.model_name, priority: m.priority }));
}

export const modelGroupRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

modelGroupRoutes.openapi(
  createRoute({
    method: "post",
    path: "/create",
    tags: ["Model groups"],
    summary: "Create a model group (a prioritized list of models)",
    security: security.admin,
    middleware: [adminWrite("model_group.create")] as const,
    request: { body: jsonBody(CreateModelGroup) },
    responses: { 200: jsonResponse(ModelGroup, "The new model group"), ...errorResponses(400, 401, 403, 413, 422, 503) },
  }),
  async (c) => {
    const body = c.req.valid("json");
    try {
      const group = await c.get("repo").modelGroups.create({
        groupName: body.group_name,
        displayName: body.display_name ?? body.group_name,
        description: body.description ?? null,
        models: toModels(body.models),
        cache: toCache(body.cache) ?? null,
      });
      return c.json(present(group), 200);
    } catch (error) {
      if (error instanceof Conflict) throw apiError(400, `Model group '${body.group_name}' already exists`);
      throw error;
    }
  },
);

modelGroupRoutes.openapi(
  createRoute({
    method: "get",
    path: "/",
    tags: ["Model groups"],
    summary: "List model groups",
    security: security.admin,
    middleware: [requireAdmin("model_groups.read")] as const,
    request: { query: Pagination },
    responses: {
      200: jsonResponse(z.object({ model_groups: z.array(ModelGroup), ...PageInfo }), "A page of model groups"),
      ...errorResponses(401, 403, 422, 503),
    },
  }),
  async (c) => {
    const { limit, offset } = c.req.valid("query");
    const groups = await c
      .get("repo")
      .replica()
      .modelGroups.list(limit + 1, offset);
    return c.json({ model_groups: groups.slice(0, limit).map(present), limit, offset, has_more: groups.length > limit }, 200);
  },
);

modelGroupRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{group_name}",
    tags: ["Model groups"],
    summary: "Get a model group",
    security: security.admin,
    middleware: [requireAdmin("model_groups.read")] as const,
    request: { params: GroupParam },
    responses: { 200: jsonResponse(ModelGroup, "The model group"), ...errorResponses(401, 403, 404, 422, 503) },
  }),
  async (c) => {
    const { group_name } = c.req.valid("param");
    const group = await c.get("repo").modelGroups.get(group_name);
    if (!group) throw apiError(404, `Model group '${group_name}' not found`);
    return c.json(present(group), 200);
  },
);

modelGroupRoutes.openapi(
  createRoute({
    method: "put",
    path: "/{group_name}/models",
    tags: ["Model groups"],
    summary: "Replace a model group's models",
    description:
      'The body is the new list, either bare or as `{"models": [...]}`. The list is pushed to the ledger object of every team assigned ' +
      "the group, so their next call uses it; if some cannot be reached, the answer is 503 and sending the same request again finishes it.",
    security: security.admin,
    middleware: [adminWrite("model_group.update_models")] as const,
    request: { params: GroupParam, body: jsonBody(z.union([GroupModels, z.object({ models: GroupModels })])) },
    responses: { 200: jsonResponse(ModelGroup, "The updated model group"), ...errorResponses(401, 403, 404, 413, 422, 503) },
  }),
  async (c) => {
    const { group_name } = c.req.valid("param");
    const body = c.req.valid("json");
    const models = Array.isArray(body) ? body : body.models;
    const repo = c.get("repo");
    if (!(await repo.modelGroups.replaceModels(group_name, toModels(models)))) {
      throw apiError(404, `Model group '${group_name}' not found`);
    }
    const group = await repo.modelGroups.get(group_name);
    if (!group) throw apiError(404, `Model group '${group_name}' not found`);
    // Each team's object holds the models of its groups: every team assigned this one gets the new list.
    await pushAccessToTeams(c.env, await repo.access.teamsUsingGroup(group_name), groupChange(group));
    return c.json(present(group), 200);
  },
);

modelGroupRoutes.openapi(
  createRoute({
    method: "patch",
    path: "/{group_name}",
    tags: ["Model groups"],
    summary: "Change a model group's display name, description or response cache",
    description:
      "Fields left out keep their value; `cache: null` turns the response cache off. The cache setting is pushed to the ledger object " +
      "of every team assigned the group, as a change of its models is; if some cannot be reached, the answer is 503 and sending the same " +
      "request again finishes it. Entries already stored stay until their time-to-live; a change of the group's models makes them unreachable.",
    security: security.admin,
    middleware: [adminWrite("model_group.update")] as const,
    request: { params: GroupParam, body: jsonBody(UpdateModelGroup) },
    responses: { 200: jsonResponse(ModelGroup, "The updated model group"), ...errorResponses(401, 403, 404, 413, 422, 503) },
  }),
  async (c) => {
    const { group_name } = c.req.valid("param");
    const body = c.req.valid("json");
    const repo = c.get("repo");
    const change = { displayName: body.display_name, description: body.description, cache: toCache(body.cache) };
    if (!(await repo.modelGroups.update(group_name, change))) throw apiError(404, `Model group '${group_name}' not found`);
    const group = await repo.modelGroups.get(group_name);
    if (!group) throw apiError(404, `Model group '${group_name}' not found`);
    if (body.cache !== undefined) await pushAccessToTeams(c.env, await repo.access.teamsUsingGroup(group_name), groupChange(group));
    return c.json(present(group), 200);
  },
);

modelGroupRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{group_name}/usage",
    tags: ["Model groups"],
    summary: "A model group's calls and response cache hits for a month",
    description:
      "Over every team that uses the group, from the usage totals the teams' objects send to D1 a few seconds after each call " +
      "(so it may lag by seconds). The hit rate is the share of the group's calls answered from its cache.",
    security: security.admin,
    middleware: [requireAdmin("model_groups.read")] as const,
    request: { params: GroupParam, query: z.object({ period: MonthPeriod }) },
    responses: { 200: jsonResponse(GroupUsage, "The group's usage"), ...errorResponses(401, 403, 404, 422, 503) },
  }),
  async (c) => {
    const { group_name } = c.req.valid("param");
    const { period = new Date().toISOString().slice(0, 7) } = c.req.valid("query");
    const repo = c.get("repo");
    if (!(await repo.modelGroups.get(group_name))) throw apiError(404, `Model group '${group_name}' not found`);
    const usage = await repo.usage.groupUsage(group_name, period);
    return c.json(
      {
        group_name,
        period,
        calls: usage.calls,
        cache_hits: usage.cache_hits,
        hit_rate: usage.calls === 0 ? 0 : usage.cache_hits / usage.calls,
        cache_saved_usd: nanoToUsd(usage.cache_saved_nano),
      },
      200,
    );
  },
);

modelGroupRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/{group_name}",
    tags: ["Model groups"],
    summary: "Delete a model group that no team uses",
    security: security.admin,
    middleware: [adminWrite("model_group.delete")] as const,
    request: { params: GroupParam },
    responses: {
      200: jsonResponse(z.object({ group_name: z.string(), message: z.string() }), "Deleted"),
      ...errorResponses(400, 401, 403, 404, 422, 503),
    },
  }),
  async (c) => {
    const { group_name } = c.req.valid("param");
    const outcome = await c.get("repo").modelGroups.delete(group_name);
    if (outcome === "missing") throw apiError(404, `Model group '${group_name}' not found`);
    if (outcome !== "deleted") {
      throw apiError(400, `Model group '${group_name}' is assigned to ${outcome.inUseBy} team(s); remove it from them first`);
    }
    return c.json({ group_name, message: `Model group '${group_name}' deleted` }, 200);
  },
);
