import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { onLedger } from "../../ledger/client";
import type { TeamStatus } from "../../ledger/types";
import { budgetSettingsOf } from "../../schemas/budget";
import { ClientId, errorResponses, jsonBody, jsonResponse, Pagination, security } from "../../schemas/common";
import { TeamParam } from "../../schemas/params";
import { budgetPolicyOf } from "../../schemas/period-budgets";
import {
  CreatedTeam,
  CreateTeam,
  StatusChange,
  Team,
  TeamDeleted,
  TeamGroupsChange,
  TeamPage,
  TeamWithBalance,
  UpdateTeam,
} from "../../schemas/teams";
import type { AppContext, AppEnv } from "../context";
import { apiError } from "../errors";
import { pushAccess } from "../flows/access-push";
import { createTeamWithLedger } from "../flows/team-creation";
import { loadTeam, presentTeam, withBalance } from "../flows/team-views";
import { assertOrganizationInScope, scopedOrganization } from "../middleware/admin-guard";
import { adminWrite } from "../middleware/audit";
import { requireAdmin } from "../middleware/auth";
import { idempotent, operationId } from "../middleware/idempotency";
import { validationHook } from "../validation";

export const teamRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

teamRoutes.openapi(
  createRoute({
    method: "post",
    path: "/create",
    tags: ["Teams"],
    summary: "Create a team with its virtual key and opening credits",
    description:
      "With an `Idempotency-Key`, a retry after a 5xx that finds the team already created by the first attempt answers 200 " +
      "with that attempt's virtual key (kept sealed in the team's ledger for 24 h, for this key only); without it, a duplicate is 400.",
    security: security.admin,
    middleware: [adminWrite("team.create"), idempotent] as const,
    request: { body: jsonBody(CreateTeam) },
    responses: {
      200: jsonResponse(CreatedTeam, "The new team; `virtual_key` is shown only here"),
      ...errorResponses(400, 401, 403, 404, 413, 422, 503),
    },
  }),
  async (c) => {
    const body = c.req.valid("json");
    assertOrganizationInScope(c, body.organization_id);
    return createTeamWithLedger(c, body);
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
    middleware: [requireAdmin("teams.read")] as const,
    request: { query: Pagination.extend({ organization_id: ClientId.optional() }) },
    responses: {
      200: jsonResponse(TeamPage, "A page of teams"),
      ...errorResponses(401, 403, 422, 503),
    },
  }),
  async (c) => {
    const { limit, offset, organization_id: asked } = c.req.valid("query");
    // A key scoped to an organization lists that organization's teams only.
    if (asked !== undefined) assertOrganizationInScope(c, asked);
    const organization_id = asked ?? scopedOrganization(c) ?? undefined;
    const rows = await c
      .get("repo")
      .replica()
      .teams.list(organization_id, limit + 1, offset);
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
    middleware: [requireAdmin("teams.read")] as const,
    request: { params: TeamParam },
    responses: { 200: jsonResponse(TeamWithBalance, "The team"), ...errorResponses(401, 403, 404, 422, 503) },
  }),
  async (c) => {
    const { team_id } = c.req.valid("param");
    const team = await loadTeam(c, team_id);
    const [balance, policy] = await Promise.all([
      onLedger(c.env, team_id, "getBalance", { kind: "admin" }),
      onLedger(c.env, team_id, "budgetPolicy", { kind: "admin" }),
    ]);
    return c.json(withBalance(team, balance, policy), 200);
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
    middleware: [adminWrite("team.model_groups")] as const,
    request: { params: TeamParam, body: jsonBody(TeamGroupsChange) },
    responses: { 200: jsonResponse(Team, "The team with its new groups"), ...errorResponses(401, 403, 404, 413, 422, 503) },
  }),
  async (c) => {
    const { team_id } = c.req.valid("param");
    const body = c.req.valid("json");
    const groups = Array.isArray(body) ? body : body.model_groups;
    const repo = c.get("repo");
    const missing = await repo.modelGroups.missing(groups);
    if (missing.length > 0) throw apiError(404, `Model group '${missing[0]}' not found`);
    if (!(await repo.teams.replaceGroups(team_id, groups))) throw apiError(404, `Team '${team_id}' not found`);
    await pushAccess(c.env, team_id, { groups: await repo.access.groupsWithModels(groups) });
    return c.json(presentTeam(await loadTeam(c, team_id)), 200);
  },
);

teamRoutes.openapi(
  createRoute({
    method: "patch",
    path: "/{team_id}",
    tags: ["Teams"],
    summary: "Update a team's alias, metadata, budget settings, budget policy (alerts, auto_recharge, end_user_budget) or job time-to-live",
    security: security.admin,
    middleware: [adminWrite("team.update")] as const,
    request: { params: TeamParam, body: jsonBody(UpdateTeam) },
    responses: { 200: jsonResponse(TeamWithBalance, "The updated team"), ...errorResponses(401, 403, 404, 413, 422, 503) },
  }),
  async (c) => {
    const { team_id } = c.req.valid("param");
    const body = c.req.valid("json");
    const repo = c.get("repo");
    await loadTeam(c, team_id);
    if (body.team_alias !== undefined || body.metadata !== undefined) {
      await repo.teams.update(team_id, { teamAlias: body.team_alias, metadata: body.metadata });
    }
    const settings = { ...budgetSettingsOf(body), ...budgetPolicyOf(body) };
    const balance = await onLedger(c.env, team_id, "updateSettings", settings, { id: operationId(c) });
    const policy = await onLedger(c.env, team_id, "budgetPolicy", { kind: "admin" });
    return c.json(withBalance(await loadTeam(c, team_id), balance, policy), 200);
  },
);

async function changeStatus(c: AppContext, teamId: string, status: TeamStatus, verb: string) {
  await loadTeam(c, teamId);
  // The ledger decides (atomically with credit operations); D1 keeps a copy for listings.
  await onLedger(c.env, teamId, "setStatus", status);
  await c.get("repo").teams.update(teamId, { status });
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
      middleware: [adminWrite(`team.${path}`)] as const,
      request: { params: TeamParam },
      responses: { 200: jsonResponse(StatusChange, "The new status"), ...errorResponses(401, 403, 404, 422, 503) },
    }),
    async (c) => changeStatus(c, c.req.valid("param").team_id, status, verb),
  );
}

teamRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/{team_id}",
    tags: ["Teams"],
    summary: "Delete a team, its keys and its ledger",
    security: security.admin,
    middleware: [adminWrite("team.delete")] as const,
    request: { params: TeamParam },
    responses: {
      200: jsonResponse(TeamDeleted, "Deleted"),
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
    if (!(await c.get("repo").teams.delete(team_id))) throw apiError(404, `Team '${team_id}' not found`);
    return c.json({ team_id, message: `Team '${team_id}' deleted` }, 200);
  },
);
