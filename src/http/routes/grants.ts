import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { onLedger } from "../../ledger/client";
import type { AllowanceRequest, GrantRequest, Statement as StatementValue } from "../../ledger/types";
import { CsvFormat, csvContent, errorResponses, jsonBody, jsonResponse, Pagination, security } from "../../schemas/common";
import {
  AllowanceRemoved,
  AllowanceSet,
  CreateGrant,
  GrantList,
  GrantPage,
  GrantParam,
  SetAllowance,
  Statement,
  StatementQuery,
  TeamAllowance,
  VoidGrant,
} from "../../schemas/grants";
import { TeamParam } from "../../schemas/params";
import { GrantMade, GrantVoided } from "../../schemas/teams";
import type { AppEnv } from "../context";
import { csvResponse, oneBatch, wantsCsv } from "../csv";
import { adminWrite } from "../middleware/audit";
import { assertTeamAccess, callerOf, requireTeamOrAdmin } from "../middleware/auth";
import { idempotent, operationId } from "../middleware/idempotency";
import { teamAt } from "../middleware/team-address";
import { validationHook } from "../validation";

// Grants, the plan allowance and the monthly statement (docs/credits.md). Admin keys make and
// void grants and set the allowance; a team key reads its own grants, allowance and statement.

export const grantRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

grantRoutes.openapi(
  createRoute({
    method: "post",
    path: "/teams/{team_id}/grants",
    tags: ["Credits"],
    summary: "Grant credits to a team (admin): paid, promotional or plan, with a priority and an optional expiry",
    description:
      "Charges draw on grants in burn-down order: lowest priority first, then soonest expiry, then oldest. With an " +
      "`Idempotency-Key`, a retry answers the first grant; with an `external_ref`, the grant is made once for good. " +
      "The `idempotency_key` of a `credits.recharge_requested` event, sent as the Idempotency-Key, is applied once for good, " +
      "here or through `POST …/add`: a repeat, however late, answers the grant made first (`created: false`).",
    security: security.admin,
    middleware: [adminWrite("credits.grant"), idempotent] as const,
    request: { params: TeamParam, body: jsonBody(CreateGrant) },
    responses: { 200: jsonResponse(GrantMade, "The grant"), ...errorResponses(400, 401, 403, 404, 413, 422, 503) },
  }),
  async (c) => {
    const { team_id } = c.req.valid("param");
    const body = c.req.valid("json");
    const request: GrantRequest = {
      credits: body.credits,
      source: body.source,
      expiresAtMs: body.expires_at ? Date.parse(body.expires_at) : null,
      priority: body.priority ?? null,
      reason: body.reason ?? null,
      externalRef: body.external_ref ?? null,
    };
    const idempotencyKey = c.req.header("idempotency-key") ?? null;
    const made = await onLedger(c.env, await teamAt(c, team_id), "makeGrant", request, { id: operationId(c) }, idempotencyKey);
    const balance = await onLedger(c.env, await teamAt(c, team_id), "getBalance", { kind: "admin" });
    return c.json({ team_id, ...made, balance }, 200);
  },
);

grantRoutes.openapi(
  createRoute({
    method: "get",
    path: "/teams/{team_id}/grants",
    tags: ["Credits"],
    summary: "A team's grants, newest first",
    security: security.teamOrAdmin,
    middleware: [requireTeamOrAdmin("credits.read")] as const,
    request: { params: TeamParam, query: Pagination.extend(GrantList.shape) },
    responses: {
      200: jsonResponse(GrantPage, "A page of grants"),
      ...errorResponses(401, 403, 404, 422, 503),
    },
  }),
  async (c) => {
    const { team_id } = c.req.valid("param");
    assertTeamAccess(c.get("principal"), team_id, "the grants");
    const { limit, offset, status } = c.req.valid("query");
    const page = await onLedger(c.env, await teamAt(c, team_id), "listGrants", callerOf(c), status === "live", limit, offset);
    return c.json({ team_id, grants: page.items, limit: page.limit, offset: page.offset, has_more: page.has_more }, 200);
  },
);

grantRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/teams/{team_id}/grants/{grant_id}",
    tags: ["Credits"],
    summary: "Void what remains of a grant (admin): a ledger row, never a deletion",
    description: "What open jobs hold of the grant stays with them until they end. A grant already expired or voided is 409.",
    security: security.admin,
    middleware: [adminWrite("credits.grant_void")] as const,
    request: { params: TeamParam.extend(GrantParam.shape), query: VoidGrant },
    responses: {
      200: jsonResponse(GrantVoided, "The voided grant"),
      ...errorResponses(401, 403, 404, 409, 413, 422, 503),
    },
  }),
  async (c) => {
    const { team_id, grant_id } = c.req.valid("param");
    const { reason } = c.req.valid("query");
    const voided = await onLedger(c.env, await teamAt(c, team_id), "voidGrant", grant_id, reason ?? null, { id: operationId(c) });
    const balance = await onLedger(c.env, await teamAt(c, team_id), "getBalance", { kind: "admin" });
    return c.json({ team_id, ...voided, balance }, 200);
  },
);

grantRoutes.openapi(
  createRoute({
    method: "put",
    path: "/teams/{team_id}/allowance",
    tags: ["Credits"],
    summary: "Set a team's plan allowance (admin): credits granted each day, week or month, renewed at each period's start (UTC)",
    description:
      "The same terms again change nothing. New terms start at once: the current period's plan credits are voided and " +
      "the new allowance's grant for the period under way is made.",
    security: security.admin,
    middleware: [adminWrite("credits.allowance_set")] as const,
    request: { params: TeamParam, body: jsonBody(SetAllowance) },
    responses: {
      200: jsonResponse(AllowanceSet, "The allowance"),
      ...errorResponses(401, 403, 404, 413, 422, 503),
    },
  }),
  async (c) => {
    const { team_id } = c.req.valid("param");
    const body = c.req.valid("json");
    const request: AllowanceRequest = {
      credits: body.credits,
      period: body.period,
      anchor: body.anchor ?? null,
      rolloverMax: body.rollover === "none" ? null : body.rollover.max,
      priority: body.priority ?? null,
    };
    const set = await onLedger(c.env, await teamAt(c, team_id), "setAllowance", request, { id: operationId(c) });
    return c.json({ team_id, ...set }, 200);
  },
);

grantRoutes.openapi(
  createRoute({
    method: "get",
    path: "/teams/{team_id}/allowance",
    tags: ["Credits"],
    summary: "A team's plan allowance, with its current period's plan credits (granted, used, remaining)",
    security: security.teamOrAdmin,
    middleware: [requireTeamOrAdmin("credits.read")] as const,
    request: { params: TeamParam },
    responses: {
      200: jsonResponse(TeamAllowance, "The allowance"),
      ...errorResponses(401, 403, 404, 422, 503),
    },
  }),
  async (c) => {
    const { team_id } = c.req.valid("param");
    assertTeamAccess(c.get("principal"), team_id, "the allowance");
    return c.json({ team_id, allowance: await onLedger(c.env, await teamAt(c, team_id), "getAllowance", callerOf(c)) }, 200);
  },
);

grantRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/teams/{team_id}/allowance",
    tags: ["Credits"],
    summary: "Stop a team's plan allowance (admin): no more renewals; the current period's plan credits stay until they expire",
    security: security.admin,
    middleware: [adminWrite("credits.allowance_delete")] as const,
    request: { params: TeamParam },
    responses: {
      200: jsonResponse(AllowanceRemoved, "Removed"),
      ...errorResponses(401, 403, 404, 422, 503),
    },
  }),
  async (c) => {
    const { team_id } = c.req.valid("param");
    await onLedger(c.env, await teamAt(c, team_id), "removeAllowance", { id: operationId(c) });
    return c.json({ team_id, message: `Team '${team_id}' has no plan allowance now` }, 200);
  },
);

const STATEMENT_COLUMNS = [
  "line",
  "grant_id",
  "source",
  "reason",
  "expires_at",
  "status",
  "opening",
  "granted",
  "consumed",
  "refunded",
  "expired",
  "voided",
  "closing",
] as const;

/** The statement as CSV: one line per grant (and the overdraft), then the month's totals. */
function statementCsv(teamId: string, s: StatementValue): Response {
  const figures = (l: StatementValue["grants"][number] | StatementValue) =>
    [l.opening, l.granted, l.consumed, l.refunded, l.expired, l.voided, l.closing] as unknown[];
  const rows = [
    ...s.grants.map((g) => [
      g.grant_id === null ? "overdraft" : "grant",
      g.grant_id,
      g.source,
      g.reason,
      g.expires_at,
      g.status,
      ...figures(g),
    ]),
    ["total", null, null, `Statement ${s.period}`, null, null, ...figures(s)],
  ];
  return csvResponse(`statement-${teamId}-${s.period}.csv`, STATEMENT_COLUMNS, oneBatch(rows));
}

grantRoutes.openapi(
  createRoute({
    method: "get",
    path: "/teams/{team_id}/statement",
    tags: ["Credits"],
    summary: "A team's statement for a month: opening balance, grants made, consumed, refunded, expired, voided, closing balance",
    description:
      "Its totals are the ledger's for the month (UTC); `by_source` and `grants` split them by grant. " +
      "`?format=csv` (or `Accept: text/csv`) answers one line per grant and a total line.",
    security: security.teamOrAdmin,
    middleware: [requireTeamOrAdmin("credits.read")] as const,
    request: { params: TeamParam, query: StatementQuery.extend(CsvFormat) },
    responses: {
      200: {
        description: "The statement",
        content: { "application/json": { schema: Statement }, ...csvContent("One line per grant, then the total") },
      },
      ...errorResponses(401, 403, 404, 422, 503),
    },
  }),
  async (c) => {
    const { team_id } = c.req.valid("param");
    assertTeamAccess(c.get("principal"), team_id, "the statement");
    const { period, format } = c.req.valid("query");
    const statement = await onLedger(c.env, await teamAt(c, team_id), "statement", callerOf(c), period);
    if (wantsCsv(c, format)) return statementCsv(team_id, statement);
    return c.json(statement, 200);
  },
);
