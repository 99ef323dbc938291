import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { onLedger } from "../../ledger/client";
import { budgetSettingsOf } from "../../schemas/budget";
import { CsvFormat, csvContent, errorResponses, jsonBody, jsonResponse, Pagination, security } from "../../schemas/common";
import { TeamParam } from "../../schemas/params";
import { AddCredits, Balance, BudgetModeChange, CreditsAdded, Refund, Refunded, TransactionPage } from "../../schemas/teams";
import type { AppEnv } from "../context";
import { wantsCsv } from "../csv";
import { transactionsCsv } from "../flows/transactions-csv";
import { adminWrite } from "../middleware/audit";
import { assertTeamAccess, callerOf, requireTeamOrAdmin } from "../middleware/auth";
import { idempotent, operationId } from "../middleware/idempotency";
import { teamAt } from "../middleware/team-address";
import { validationHook } from "../validation";

export const creditRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

creditRoutes.openapi(
  createRoute({
    method: "get",
    path: "/teams/{team_id}/balance",
    tags: ["Credits"],
    summary: "A team's balance",
    description:
      "credits_remaining = allocated - used; credits_available = remaining less everything open jobs hold (their reservations, what " +
      "consumption jobs consumed, and what their calls in flight hold; `credits_held` shows the last), rounded down. " +
      "`grants` splits credits_remaining by source; `next_expiry` and `next_renewal` say what changes next. " +
      "`cost_markup_percentage` is shown to the admin key only.",
    security: security.teamOrAdmin,
    middleware: [requireTeamOrAdmin("credits.read")] as const,
    request: { params: TeamParam },
    responses: { 200: jsonResponse(Balance, "The balance"), ...errorResponses(401, 403, 404, 422, 503) },
  }),
  async (c) => {
    const { team_id } = c.req.valid("param");
    const principal = c.get("principal");
    assertTeamAccess(principal, team_id, "the credit balance");
    return c.json(await onLedger(c.env, await teamAt(c, team_id), "getBalance", callerOf(c)), 200);
  },
);

creditRoutes.openapi(
  createRoute({
    method: "post",
    path: "/teams/{team_id}/add",
    tags: ["Credits"],
    summary: "Add credits to a team (admin only: a team never funds itself): a paid grant that never expires",
    description:
      "With an `Idempotency-Key`, a retry (also after a 5xx) answers the first addition and adds nothing more; with an " +
      "`external_ref`, the addition is made once for good (a repeat answers the first with `created: false`). " +
      "The `idempotency_key` of a `credits.recharge_requested` event, sent as the Idempotency-Key, is applied once for good, " +
      "here or through `POST …/grants`: however often and however late it is sent (beyond the 24 h other keys are kept), " +
      "the first application is answered again (`created: false`).",
    security: security.admin,
    middleware: [adminWrite("credits.add"), idempotent] as const,
    request: { params: TeamParam, body: jsonBody(AddCredits) },
    responses: {
      200: jsonResponse(CreditsAdded, "The allocation"),
      ...errorResponses(400, 401, 403, 404, 413, 422, 503),
    },
  }),
  async (c) => {
    const { team_id } = c.req.valid("param");
    const body = c.req.valid("json");
    const reason = body.reason ?? "Manual credit allocation";
    const idempotencyKey = c.req.header("idempotency-key") ?? null;
    const team = await teamAt(c, team_id);
    const added = await onLedger(
      c.env,
      team,
      "addCredits",
      body.credits,
      reason,
      { id: operationId(c) },
      body.external_ref ?? null,
      idempotencyKey,
    );
    return c.json({ team_id, credits_added: body.credits, ...added }, 200);
  },
);

creditRoutes.openapi(
  createRoute({
    method: "get",
    path: "/teams/{team_id}/transactions",
    tags: ["Credits"],
    summary: "A team's ledger, newest first",
    description:
      "`?format=csv` or `Accept: text/csv` answers the whole ledger as CSV (newest first, streamed; `limit` and `offset` apply to JSON only).",
    security: security.teamOrAdmin,
    middleware: [requireTeamOrAdmin("credits.read")] as const,
    request: { params: TeamParam, query: Pagination.extend(CsvFormat) },
    responses: {
      200: {
        description: "A page of ledger rows",
        content: {
          "application/json": { schema: TransactionPage },
          ...csvContent("The whole ledger, one row per transaction"),
        },
      },
      ...errorResponses(401, 403, 404, 422, 503),
    },
  }),
  async (c) => {
    const { team_id } = c.req.valid("param");
    const { limit, offset, format } = c.req.valid("query");
    const principal = c.get("principal");
    assertTeamAccess(principal, team_id, "the transactions");
    if (wantsCsv(c, format)) return transactionsCsv(c.env, await teamAt(c, team_id), callerOf(c));
    const page = await onLedger(c.env, await teamAt(c, team_id), "listTransactions", callerOf(c), limit, offset);
    return c.json({ team_id, transactions: page.items, limit: page.limit, offset: page.offset, has_more: page.has_more }, 200);
  },
);

creditRoutes.openapi(
  createRoute({
    method: "patch",
    path: "/teams/{team_id}/budget-mode",
    tags: ["Credits"],
    summary: "Change a team's budget mode and conversion rates",
    security: security.admin,
    middleware: [adminWrite("credits.budget_mode")] as const,
    request: { params: TeamParam, body: jsonBody(BudgetModeChange) },
    responses: { 200: jsonResponse(Balance, "The balance with the new settings"), ...errorResponses(401, 403, 404, 413, 422, 503) },
  }),
  async (c) => {
    const { team_id } = c.req.valid("param");
    const body = c.req.valid("json");
    const balance = await onLedger(c.env, await teamAt(c, team_id), "updateSettings", budgetSettingsOf(body), { id: operationId(c) });
    return c.json(balance, 200);
  },
);

creditRoutes.openapi(
  createRoute({
    method: "post",
    path: "/teams/{team_id}/refund",
    tags: ["Credits"],
    summary: "Refund what a completed job was charged (once)",
    description: "With an `Idempotency-Key`, a retry (also after a 5xx) answers the first refund.",
    security: security.admin,
    middleware: [adminWrite("job.refund"), idempotent] as const,
    request: { params: TeamParam, body: jsonBody(Refund) },
    responses: {
      200: jsonResponse(Refunded, "The refund"),
      ...errorResponses(400, 401, 403, 404, 409, 413, 422, 503),
    },
  }),
  async (c) => {
    const { team_id } = c.req.valid("param");
    const body = c.req.valid("json");
    const refund = await onLedger(c.env, await teamAt(c, team_id), "refundJob", body.job_id, body.reason, { id: operationId(c) });
    return c.json({ team_id, job_id: body.job_id, credits_refunded: refund.transaction.amount, ...refund }, 200);
  },
);
