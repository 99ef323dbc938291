import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { onLedger } from "../../ledger/client";
import type { ModelUsage, UsageReport, UsageTotals } from "../../ledger/types";
import { dashboardOf } from "../../reports/dashboard";
import { type OrgUsageTotals, organizationUsageOf } from "../../reports/organization-usage";
import { csvContent, errorResponses, security } from "../../schemas/common";
import { OrganizationParam, TeamParam } from "../../schemas/params";
import { Dashboard, DashboardQuery, OrganizationUsage, OrganizationUsageQuery, TeamUsage, TeamUsageQuery } from "../../schemas/reports";
import type { AppEnv } from "../context";
import { csvResponse, oneBatch, wantsCsv } from "../csv";
import { apiError } from "../errors";
import { assertOrganizationInScope, scopedOrganization } from "../middleware/admin-guard";
import { assertTeamAccess, callerOf, requireAdmin, requireTeamOrAdmin } from "../middleware/auth";
import { validationHook } from "../validation";

// Usage reports and the operator's dashboard. A team's usage is read from its own object; an
// organization's usage and the dashboard read only the totals the objects send to D1, so they
// cost the same with 3 teams or 300, and lag the ledgers by a few seconds.

const currentMonth = () => new Date().toISOString().slice(0, 7);

const COUNT_COLUMNS = [
  "jobs",
  "completed",
  "failed",
  "cancelled",
  "expired",
  "calls",
  "credits_charged",
  "prompt_tokens",
  "completion_tokens",
  "total_tokens",
  "client_cost_usd",
  "cache_hits",
  "cache_saved_usd",
] as const;
const MODEL_COLUMNS = [
  "calls",
  "prompt_tokens",
  "completion_tokens",
  "total_tokens",
  "client_cost_usd",
  "cache_hits",
  "cache_saved_usd",
] as const;

/** A team's report as CSV rows: one per job type, model group, (admin) model and (group_by) tag or end user, named by `dimension`. */
function teamUsageCsv(report: UsageReport, admin: boolean): { header: string[]; rows: unknown[][] } {
  const header = [
    "period",
    "team_id",
    "dimension",
    "name",
    ...COUNT_COLUMNS,
    ...(admin ? ["cache_saved_provider_usd", "provider_cost_usd"] : []),
  ];
  const cost = (u: UsageTotals | ModelUsage) => (admin ? [u.cache_saved_provider_usd ?? 0, u.provider_cost_usd ?? 0] : []);
  const line = (dimension: string, name: string, values: unknown[], u: UsageTotals | ModelUsage) => [
    report.period,
    report.team_id,
    dimension,
    name,
    ...values,
    ...cost(u),
  ];
  const rows = [
    ...Object.entries(report.job_types).map(([name, u]) =>
      line(
        "job_type",
        name,
        COUNT_COLUMNS.map((k) => u[k]),
        u,
      ),
    ),
    ...[
      ["model_group", report.model_groups] as const,
      ...(admin && report.models ? [["model", report.models] as const] : []),
      ...(report.tags ? [["tag", report.tags] as const] : []),
      ...(report.end_users ? [["end_user", report.end_users] as const] : []),
    ].flatMap(([dimension, byName]) =>
      Object.entries(byName).map(([name, u]) =>
        line(
          dimension,
          name,
          COUNT_COLUMNS.map((k) => ((MODEL_COLUMNS as readonly string[]).includes(k) ? u[k as (typeof MODEL_COLUMNS)[number]] : null)),
          u,
        ),
      ),
    ),
  ];
  return { header, rows };
}

/** A team's usage per key as CSV rows: one per key, with its id and name. */
function keyUsageCsv(report: UsageReport, admin: boolean): { header: string[]; rows: unknown[][] } {
  const header = ["period", "team_id", "key_id", "key_name", ...COUNT_COLUMNS, ...(admin ? ["provider_cost_usd"] : [])];
  const rows = Object.entries(report.keys ?? {}).map(([keyId, u]) => [
    report.period,
    report.team_id,
    keyId,
    u.name,
    ...COUNT_COLUMNS.map((k) => u[k]),
    ...(admin ? [u.provider_cost_usd ?? 0] : []),
  ]);
  return { header, rows };
}

export const teamUsageRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

teamUsageRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{team_id}/usage",
    tags: ["Reports"],
    summary: "A team's usage for a month or a day: totals, per job type and per model group (and per tag or end user)",
    description:
      "Counted by the job's creation day (UTC). The admin key also gets `provider_cost_usd` and `models` (per model that served). " +
      "`group_by=tag` adds `tags` (per tag; a call with several tags counts under each, untagged calls under `(none)`); " +
      "`group_by=end_user` adds `end_users` (per end user; calls without one under `(none)`). " +
      "`?format=csv` or `Accept: text/csv` answers CSV: one row per job type, model group, (admin) model and (group_by) tag or end user, " +
      "named in `dimension`; jobs and credits are per job type only. `?group_by=key` adds `keys`, the totals per key (id and name; " +
      "jobs count against the key that opened them), and makes the CSV one row per key.",
    security: security.teamOrAdmin,
    middleware: [requireTeamOrAdmin("jobs.read")] as const,
    request: { params: TeamParam, query: TeamUsageQuery },
    responses: {
      200: {
        description: "The team's usage for the period",
        content: { "application/json": { schema: TeamUsage }, ...csvContent("The same usage, one row per job type, group and model") },
      },
      ...errorResponses(401, 403, 404, 422, 503),
    },
  }),
  async (c) => {
    const { team_id } = c.req.valid("param");
    const { period = currentMonth(), format, group_by } = c.req.valid("query");
    const principal = c.get("principal");
    assertTeamAccess(principal, team_id, "the usage");
    const report = await onLedger(c.env, team_id, "usage", callerOf(c), period, group_by ?? null);
    if (!wantsCsv(c, format)) return c.json(report, 200);
    const csvOf = group_by === "key" ? keyUsageCsv : teamUsageCsv;
    const { header, rows } = csvOf(report, principal.kind === "admin");
    return csvResponse(`usage-${team_id}-${period}.csv`, header, oneBatch(rows));
  },
);

export const organizationUsageRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

organizationUsageRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{organization_id}/usage",
    tags: ["Reports"],
    summary: "An organization's usage for a month: totals, per job type and per team",
    description:
      "Read from the usage totals each team's object sends to D1 a few seconds after a change (never from the objects), " +
      "so it may lag the teams' own usage by seconds. Teams without usage in the period are not listed. " +
      "`?format=csv` or `Accept: text/csv` answers CSV, one row per team and job type.",
    security: security.admin,
    middleware: [requireAdmin("organizations.read")] as const,
    request: { params: OrganizationParam, query: OrganizationUsageQuery },
    responses: {
      200: {
        description: "The organization's usage for the month",
        content: { "application/json": { schema: OrganizationUsage }, ...csvContent("One row per team and job type") },
      },
      ...errorResponses(401, 403, 404, 422, 503),
    },
  }),
  async (c) => {
    const { organization_id } = c.req.valid("param");
    const { period = currentMonth(), format } = c.req.valid("query");
    const repo = c.get("repo");
    if (!(await repo.organizations.get(organization_id))) throw apiError(404, `Organization '${organization_id}' not found`);
    const rows = await repo.usage.organizationUsage(organization_id, period);
    const report = organizationUsageOf(organization_id, period, rows);
    if (!wantsCsv(c, format)) return c.json(report, 200);
    const columns = [...COUNT_COLUMNS, "cache_saved_provider_usd", "provider_cost_usd"] as const;
    const lines = Object.entries(report.teams).flatMap(([teamId, team]) =>
      Object.entries(team.job_types).map(([jobType, u]) => [
        period,
        organization_id,
        teamId,
        jobType,
        ...columns.map((k) => u[k as keyof OrgUsageTotals]),
      ]),
    );
    const header = ["period", "organization_id", "team_id", "job_type", ...columns];
    return csvResponse(`usage-${organization_id}-${period}.csv`, header, oneBatch(lines));
  },
);

export const statsRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

statsRoutes.openapi(
  createRoute({
    method: "get",
    path: "/dashboard",
    tags: ["Reports"],
    summary: "Counts for the operator: organizations, teams by status, jobs, credits, tokens and cost",
    description:
      "Jobs today and this month (UTC, by creation), credits charged, tokens and client cost this month, from the usage totals " +
      "in D1 (a few seconds behind the ledgers). `organization_id` limits every count to one organization (404 if it does not exist); a key scoped to an organization always sees only its own.",
    security: security.admin,
    middleware: [requireAdmin("organizations.read")] as const,
    request: { query: DashboardQuery },
    responses: {
      200: { description: "The dashboard", content: { "application/json": { schema: Dashboard } } },
      ...errorResponses(401, 403, 404, 422, 503),
    },
  }),
  async (c) => {
    const { organization_id: asked } = c.req.valid("query");
    // A key scoped to an organization sees that organization's counts, whatever it asks.
    if (asked !== undefined) assertOrganizationInScope(c, asked);
    const organization_id = asked ?? scopedOrganization(c) ?? undefined;
    const dashboard = await dashboardOf(c.get("repo"), { organizationId: organization_id });
    if (!dashboard) throw apiError(404, `Organization '${organization_id}' not found`);
    return c.json(dashboard, 200);
  },
);
