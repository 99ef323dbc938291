import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { GroupCache } from "../../db/access-records";
import { groupCacheOf } from "../../db/access-records";
import type { ModelGroupWithModels } from "../../db/repository";
import { Conflict } from "../../errors";
import { nanoToUsd } from "../../ledger/rules/money";
import { errorResponses, jsonBody, jsonResponse, Pagination, security } from "../../schemas/common";
import {
  type CacheInput,
  CreateModelGroup,
  GroupDeleted,
  type GroupModels,
  GroupModelsChange,
  GroupUsage,
  ModelGroup,
  ModelGroupPage,
  UpdateModelGroup,
} from "../../schemas/model-groups";
import { GroupParam } from "../../schemas/params";
import { MonthPeriod } from "../../schemas/reports";
import type { AppEnv } from "../context";
import { apiError } from "../errors";
import { pushAccessToTeams } from "../flows/access-push";
import { adminWrite } from "../middleware/audit";
import { requireAdmin } from "../middleware/auth";
import { idempotent } from "../middleware/idempotency";
import { validationHook } from "../validation";

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
    middleware: [adminWrite("model_group.create"), idempotent] as const,
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
      200: jsonResponse(ModelGroupPage, "A page of model groups"),
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
    request: { params: GroupParam, body: jsonBody(GroupModelsChange) },
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
      200: jsonResponse(GroupDeleted, "Deleted"),
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
