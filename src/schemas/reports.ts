import { z } from "@hono/zod-openapi";
import { ClientId, CsvFormat } from "./common";

// Schemas of the usage reports and the dashboard.

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;
const MONTH_OR_DAY = /^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$/;

/** A real calendar day (2026-02-30 is not one); other shapes are the regex's to refuse. */
function isRealDay(p: string): boolean {
  if (!MONTH_OR_DAY.test(p) || p.length === 7) return true;
  const parsed = Date.parse(`${p}T00:00:00Z`);
  return !Number.isNaN(parsed) && new Date(parsed).toISOString().slice(0, 10) === p;
}

export const MonthPeriod = z
  .string()
  .regex(MONTH, { error: "must be a month as YYYY-MM" })
  .optional()
  .openapi({ description: "YYYY-MM (UTC); defaults to the current month" });

export const MonthOrDayPeriod = z
  .string()
  .regex(MONTH_OR_DAY, { error: "must be a month as YYYY-MM or a day as YYYY-MM-DD" })
  .refine(isRealDay, { error: "must be a real calendar day" })
  .optional()
  .openapi({ description: "YYYY-MM (a month) or YYYY-MM-DD (a day), UTC; defaults to the current month" });

const counts = {
  jobs: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
  cancelled: z.number().int(),
  expired: z.number().int(),
  calls: z.number().int(),
  credits_charged: z.number().int(),
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  total_tokens: z.number().int(),
  client_cost_usd: z.number(),
  cache_hits: z.number().int().openapi({ description: "Calls answered from a response cache" }),
  cache_saved_usd: z.number().openapi({ description: "What the cache hits saved against their originals' cost" }),
};

const cacheSavedProvider = z.number().openapi({ description: "Admin key only: the provider cost the cache hits saved" });

export const UsageTotals = z
  .object({
    ...counts,
    provider_cost_usd: z.number().optional().openapi({ description: "Admin key only" }),
    cache_saved_provider_usd: cacheSavedProvider.optional(),
  })
  .openapi("UsageTotals");

export const ModelUsage = z
  .object({
    calls: z.number().int(),
    prompt_tokens: z.number().int(),
    completion_tokens: z.number().int(),
    total_tokens: z.number().int(),
    client_cost_usd: z.number(),
    provider_cost_usd: z.number().optional().openapi({ description: "Admin key only" }),
    cache_hits: counts.cache_hits,
    cache_saved_usd: counts.cache_saved_usd,
    cache_saved_provider_usd: cacheSavedProvider.optional(),
  })
  .openapi("ModelUsage");

export const TeamUsage = z
  .object({
    team_id: z.string(),
    period: z.string(),
    summary: UsageTotals,
    job_types: z.record(z.string(), UsageTotals),
    days: z
      .record(z.string(), UsageTotals)
      .openapi({ description: "Per day of the period (YYYY-MM-DD, UTC, by job creation) with usage; the days add up to `summary`" }),
    model_groups: z.record(z.string(), ModelUsage),
    models: z
      .record(z.string(), ModelUsage)
      .optional()
      .openapi({ description: "Admin key only: per model that served (`(none)`: calls no model answered)" }),
    tags: z
      .record(z.string(), ModelUsage)
      .optional()
      .openapi({ description: "With `group_by=tag`: per tag (`(none)`: untagged calls); a call with several tags counts under each" }),
    end_users: z
      .record(z.string(), ModelUsage)
      .optional()
      .openapi({ description: "With `group_by=end_user`: per end user (`(none)`: calls without one); they add up to the calls' totals" }),
    keys: z
      .record(z.string(), UsageTotals.extend({ name: z.string().nullable() }))
      .optional()
      .openapi({ description: "With `group_by=key`: per key id, with the key's name (a job counts for the key that opened it)" }),
  })
  .openapi("TeamUsage");

/** A team usage report's extra breakdown: per key, per tag or per end user. */
export const UsageGroupBy = z.enum(["key", "tag", "end_user"], { error: "must be key, tag or end_user" }).optional().openapi({
  description:
    "Also total the usage per key (`keys`; the CSV is then one row per key), or break the calls down per tag (`tags`) or per end user (`end_users`)",
});

export const OrgTotals = z
  .object({ ...counts, provider_cost_usd: z.number(), cache_saved_provider_usd: cacheSavedProvider })
  .openapi("OrganizationUsageTotals");

export const OrganizationUsage = z
  .object({
    organization_id: z.string(),
    period: z.string(),
    summary: OrgTotals,
    job_types: z.record(z.string(), OrgTotals),
    teams: z.record(z.string(), z.object({ summary: OrgTotals, job_types: z.record(z.string(), OrgTotals) })),
  })
  .openapi("OrganizationUsage");

export const Dashboard = z
  .object({
    organization_id: z.string().nullable(),
    day: z.string(),
    period: z.string(),
    organizations: z.number().int(),
    teams: z.object({ total: z.number().int(), by_status: z.record(z.string(), z.number().int()) }),
    jobs_today: z.number().int(),
    jobs_this_month: z.number().int(),
    credits_charged_this_month: z.number().int(),
    tokens_this_month: z.number().int(),
    client_cost_usd_this_month: z.number(),
  })
  .openapi("Dashboard");

export const TeamUsageQuery = z.object({ period: MonthOrDayPeriod, group_by: UsageGroupBy, ...CsvFormat });
export const OrganizationUsageQuery = z.object({ period: MonthPeriod, ...CsvFormat });
export const DashboardQuery = z.object({ organization_id: ClientId.optional() });
