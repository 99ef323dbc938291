import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { TeamWithGroups } from "../../db/repository";
import { Conflict } from "../../errors";
import { onLedger, tryLedger } from "../../ledger/client";
import { DEFAULT_CREDITS_PER_DOLLAR, DEFAULT_TOKENS_PER_CREDIT } from "../../ledger/money";
import type { Balance as LedgerBalance, TeamStatus } from "../../ledger/types";
import { log } from "../../log";
import { generateVirtualKey, hashVirtualKey } from "../../security/keys";
import { pushAccess } from "../access-push";
import { requireAdmin } from "../auth";
import type { AppContext, AppEnv } from "../context";
import { apiError } from "../errors";
import { idempotent } from "../idempotency";
import { TeamParam } from "../params";
import { ClientId, errorResponses, jsonBody, jsonResponse, Metadata, PageInfo, Pagination, security } from "../schemas/common";
import { BudgetFields, budgetSettingsOf, Credits, DEFAULT_JOB_TTL_SECONDS, Team, TeamWithBalance } from "../schemas/teams";
import { validationHook } from "../validation";

const GroupNames = z
  .array(ClientId)
  .max(50, { error: "must list at most 50 model groups" })
  .refine((names) => new Set(names).size === names.length, { error: "must not list a model group twice" });

const CreateTeam = z.object({
  organization_id: ClientId,
  team_id: ClientId,
  team_alias: z.string().max(200, { error: "must be at most 200 characters" }).nullable().optional(),
  model_groups: GroupNames.default([]),
  credits_allocated: Credits.default(0),
  metadata: Metadata.default({}),
  ...BudgetFields,
});

const CreatedTeam = TeamWithBalance.extend({
  allowed_models: z.array(z.string()),
  virtual_key: z.string().openapi({ description: "Shown once, never again" }),
  message: z.string(),
}).openapi("CreatedTeam");

const UpdateTeam = z.object({
  team_alias: z.string().max(200, { error: "must be at most 200 characters" }).nullable().optional(),
  metadata: Metadata.optional(),
  ...BudgetFields,
});

const RotateKey = z.object({
  grace_seconds: z
    .number()
    .int({ error: "must be an integer" })
    .min(0, { error: "must not be negative" })
    .max(7 * 24 * 60 * 60, { error: "must be at most 604800 (7 days)" })
    .default(0),
});

const RotatedKey = z.object({
  team_id: z.string(),
  virtual_key: z.string(),
  key_prefix: z.string(),
  previous_keys_valid_until: z.string().nullable(),
  message: z.string(),
});

const StatusChange = z.object({ team_id: z.string(), status: z.string(), message: z.string() });

function presentTeam(team: TeamWithGroups) {
  return {
    team_id: team.teamId,
    organization_id: team.organizationId,
    team_alias: team.teamAlias,
    status: team.status,
    model_groups: team.modelGroups,
    key_prefix: team.keyPrefix,
    metadata: team.metadata,
    created_at: team.createdAt,
    updated_at: team.updatedAt,
  };
}

function withBalance(team: TeamWithGroups, balance: LedgerBalance) {
  const { team_id: _t, organization_id: _o, ...money } = balance;
  return { ...presentTeam(team), ...money, status: balance.status };
}

async function loadTeam(c: AppContext, teamId: string): Promise<TeamWithGroups> {
  const team = await c.get("repo").getTeam(teamId);
  if (!team) throw apiError(404, `Team '${teamId}' not found`);
  return team;
}

function pepper(c: AppContext): string {
  const value = c.env.KEY_PEPPER;
  if (!value) throw apiError(503, "Team keys are not configured on this deployment (KEY_PEPPER is missing)");
  return value;
}

export const teamRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

teamRoutes.openapi(
  createRoute({
    method: "post",
    path: "/create",
    tags: ["Teams"],
    summary: "Create a team with its virtual key and opening credits",
    security: security.admin,
    middleware: [requireAdmin, idempotent] as const,
    request: { body: jsonBody(CreateTeam) },
    responses: {
      200: jsonResponse(CreatedTeam, "The new team; `virtual_key` is shown only here"),
      ...errorResponses(400, 401, 403, 404, 413, 422, 503),
    },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const repo = c.get("repo");
    const [organization, missingGroups] = await Promise.all([
      repo.getOrganization(body.organization_id),
      repo.missingModelGroups(body.model_groups),
    ]);
    if (!organization) throw apiError(404, `Organization '${body.organization_id}' not found`);
    if (missingGroups.length > 0) throw apiError(404, `Model group '${missingGroups[0]}' not found`);

    const { key, prefix } = generateVirtualKey();
    const keyHash = await hashVirtualKey(pepper(c), key);
    try {
      await repo.createTeam({
        teamId: body.team_id,
        organizationId: body.organization_id,
        teamAlias: body.team_alias ?? null,
        metadata: body.metadata,
        modelGroups: body.model_groups,
        key: { keyId: crypto.randomUUID(), keyHash, keyPrefix: prefix },
      });
    } catch (error) {
      if (error instanceof Conflict) throw apiError(400, `Team '${body.team_id}' already exists`);
      throw error;
    }

    const init = {
      teamId: body.team_id,
      organizationId: body.organization_id,
      creditsAllocated: body.credits_allocated,
      budgetMode: body.budget_mode ?? "job_based",
      creditsPerDollar: body.credits_per_dollar ?? DEFAULT_CREDITS_PER_DOLLAR,
      tokensPerCredit: body.tokens_per_credit ?? DEFAULT_TOKENS_PER_CREDIT,
      costMarkupPercentage: body.cost_markup_percentage ?? 0,
      jobTtlSeconds: body.job_ttl_seconds ?? DEFAULT_JOB_TTL_SECONDS,
      rateLimitPerMinute: body.rate_limit_per_minute ?? null,
      // The team's object decides who may use it: it starts with the first key and the groups' models.
      keyHash,
      modelGroups: await repo.access.groupsWithModels(body.model_groups),
    };
    let balance: LedgerBalance;
    try {
      let opened = await tryLedger(c.env, body.team_id, "openAccount", init);
      if (!opened.ok && opened.code === "ACCOUNT_EXISTS") {
        // D1 had no such team, so this ledger belongs to a deleted team of the same id whose erasure did not finish.
        await tryLedger(c.env, body.team_id, "closeAccount");
        opened = await tryLedger(c.env, body.team_id, "openAccount", init);
      }
      if (!opened.ok) throw apiError(503, "Team ledger could not be opened; please retry");
      balance = opened.value;
    } catch (error) {
      // Without a ledger the team must not exist either: undo the D1 rows so a retry can succeed.
      await repo
        .deleteTeam(body.team_id)
        .catch((e) => log("error", "could not undo team creation", { team_id: body.team_id, error: String(e) }));
      throw error;
    }

    const team = await loadTeam(c, body.team_id);
    const allowedModels = new Set(init.modelGroups.flatMap((g) => g.models));
    return c.json(
      {
        ...withBalance(team, balance),
        allowed_models: [...allowedModels].sort(),
        virtual_key: key,
        message: "Team created. Store the virtual key now: it is not shown again.",
      },
      200,
    );
  },
);

teamRoutes.openapi(
  createRoute({
    method: "get",
    path: "/",
    tags: ["Teams"],
    summary: "List teams (optionally of one organization)",
    description: "Balances are not included (they live in each team's ledger); use GET /api/teams/{team_id}.",
    security: security.admin,
    middleware: [requireAdmin] as const,
    request: { query: Pagination.extend({ organization_id: ClientId.optional() }) },
    responses: {
      200: jsonResponse(z.object({ teams: z.array(Team), ...PageInfo }), "A page of teams"),
      ...errorResponses(401, 403, 422, 503),
    },
  }),
  async (c) => {
    const { limit, offset, organization_id } = c.req.valid("query");
    const rows = await c
      .get("repo")
      .replica()
      .listTeams(organization_id, limit + 1, offset);
    return c.json({ teams: rows.slice(0, limit).map(presentTeam), limit, offset, has_more: rows.length > limit }, 200);
  },
);

teamRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{team_id}",
    tags: ["Teams"],
    summary: "Get a team and its balance (never its key)",
    security: security.admin,
    middleware: [requireAdmin] as const,
    request: { params: TeamParam },
    responses: { 200: jsonResponse(TeamWithBalance, "The team"), ...errorResponses(401, 403, 404, 422, 503) },
  }),
  async (c) => {
    const { team_id } = c.req.valid("param");
    const team = await loadTeam(c, team_id);
    const balance = await onLedger(c.env, team_id, "getBalance", { kind: "admin" });
    return c.json(withBalance(team, balance), 200);
  },
);

teamRoutes.openapi(
  createRoute({
    method: "put",
    path: "/{team_id}/model-groups",
    tags: ["Teams"],
    summary: "Replace a team's model groups",
    description:
      'The body is the list of group names, either bare or as `{"model_groups": [...]}`. The team\'s ledger object, which decides ' +
      "every call, is told at once; if it cannot be, the answer is 503 and sending the same request again finishes the change.",
    security: security.admin,
    middleware: [requireAdmin] as const,
    request: { params: TeamParam, body: jsonBody(z.union([GroupNames, z.object({ model_groups: GroupNames })])) },
    responses: { 200: jsonResponse(Team, "The team with its new groups"), ...errorResponses(401, 403, 404, 413, 422, 503) },
  }),
  async (c) => {
    const { team_id } = c.req.valid("param");
    const body = c.req.valid("json");
    const groups = Array.isArray(body) ? body : body.model_groups;
    const repo = c.get("repo");
    const missing = await repo.missingModelGroups(groups);
    if (missing.length > 0) throw apiError(404, `Model group '${missing[0]}' not found`);
    if (!(await repo.replaceTeamModelGroups(team_id, groups))) throw apiError(404, `Team '${team_id}' not found`);
    await pushAccess(c.env, team_id, { groups: await repo.access.groupsWithModels(groups) });
    return c.json(presentTeam(await loadTeam(c, team_id)), 200);
  },
);

teamRoutes.openapi(
  createRoute({
    method: "patch",
    path: "/{team_id}",
    tags: ["Teams"],
    summary: "Update a team's alias, metadata, budget settings or job time-to-live",
    security: security.admin,
    middleware: [requireAdmin] as const,
    request: { params: TeamParam, body: jsonBody(UpdateTeam) },
    responses: { 200: jsonResponse(TeamWithBalance, "The updated team"), ...errorResponses(401, 403, 404, 413, 422, 503) },
  }),
  async (c) => {
    const { team_id } = c.req.valid("param");
    const body = c.req.valid("json");
    const repo = c.get("repo");
    await loadTeam(c, team_id);
    if (body.team_alias !== undefined || body.metadata !== undefined) {
      await repo.updateTeam(team_id, { teamAlias: body.team_alias, metadata: body.metadata });
    }
    const balance = await onLedger(c.env, team_id, "updateSettings", budgetSettingsOf(body));
    return c.json(withBalance(await loadTeam(c, team_id), balance), 200);
  },
);

async function changeStatus(c: AppContext, teamId: string, status: TeamStatus, verb: string) {
  await loadTeam(c, teamId);
  // The ledger decides (atomically with credit operations); D1 keeps a copy for listings.
  await onLedger(c.env, teamId, "setStatus", status);
  await c.get("repo").updateTeam(teamId, { status });
  return c.json({ team_id: teamId, status, message: `Team '${teamId}' ${verb}` }, 200);
}

for (const [path, status, verb, summary] of [
  ["suspend", "suspended", "suspended", "Suspend a team: every team route answers 403"],
  ["pause", "paused", "paused", "Pause a team: new jobs and calls answer 429, reads still work"],
  ["resume", "active", "resumed", "Resume a suspended or paused team"],
] as const) {
  teamRoutes.openapi(
    createRoute({
      method: "put",
      path: `/{team_id}/${path}`,
      tags: ["Teams"],
      summary,
      security: security.admin,
      middleware: [requireAdmin] as const,
      request: { params: TeamParam },
      responses: { 200: jsonResponse(StatusChange, "The new status"), ...errorResponses(401, 403, 404, 422, 503) },
    }),
    async (c) => changeStatus(c, c.req.valid("param").team_id, status, verb),
  );
}

teamRoutes.openapi(
  createRoute({
    method: "post",
    path: "/{team_id}/keys/rotate",
    tags: ["Teams"],
    summary: "Issue a new virtual key; the old one stops at once or after grace_seconds",
    description:
      "The team's ledger object, which checks the key on every request, is told at once, so the old key stops on the next request " +
      "(or when the grace period ends). If the object cannot be told, the answer is 503, no key is issued, and the request can be repeated.",
    security: security.admin,
    middleware: [requireAdmin, idempotent] as const,
    request: { params: TeamParam, body: { content: { "application/json": { schema: RotateKey } }, required: false } },
    responses: { 200: jsonResponse(RotatedKey, "The new key, shown once"), ...errorResponses(401, 403, 404, 413, 422, 503) },
  }),
  async (c) => {
    const { team_id } = c.req.valid("param");
    const { grace_seconds } = RotateKey.parse((c.req.valid("json") as z.infer<typeof RotateKey> | undefined) ?? {});
    const { key, prefix } = generateVirtualKey();
    const keyHash = await hashVirtualKey(pepper(c), key);
    const rotated = await c.get("repo").rotateTeamKey(team_id, { keyId: crypto.randomUUID(), keyHash, keyPrefix: prefix }, grace_seconds);
    if (!rotated) throw apiError(404, `Team '${team_id}' not found`);
    // The team's object decides: the old keys stop there, at once or after the grace period.
    await pushAccess(c.env, team_id, { rotate: { keyHash, graceSeconds: grace_seconds } });
    return c.json(
      {
        team_id,
        virtual_key: key,
        key_prefix: prefix,
        previous_keys_valid_until: grace_seconds > 0 ? new Date(Date.now() + grace_seconds * 1000).toISOString() : null,
        message: "Key rotated. Store the new key now: it is not shown again.",
      },
      200,
    );
  },
);

teamRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/{team_id}",
    tags: ["Teams"],
    summary: "Delete a team, its keys and its ledger",
    security: security.admin,
    middleware: [requireAdmin] as const,
    request: { params: TeamParam },
    responses: {
      200: jsonResponse(z.object({ team_id: z.string(), message: z.string() }), "Deleted"),
      ...errorResponses(401, 403, 404, 422, 503),
    },
  }),
  async (c) => {
    const { team_id } = c.req.valid("param");
    await loadTeam(c, team_id);
    // The ledger first: while the team's D1 rows exist no team of the same id can be created, so
    // the erasure cannot hit a new team's ledger. If the D1 delete then fails, deleting again
    // finishes the job (erasing an erased ledger changes nothing).
    await onLedger(c.env, team_id, "closeAccount");
    if (!(await c.get("repo").deleteTeam(team_id))) throw apiError(404, `Team '${team_id}' not found`);
    return c.json({ team_id, message: `Team '${team_id}' deleted` }, 200);
  },
);
