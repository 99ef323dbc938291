import { COMPLETION_CALLS_SHOWN } from "../../schemas/jobs";
import type { AccountRow, CallRow, JobRow, ModelUsageRow, UsageRow } from "../rows";
import type {
  AccountBalance,
  CallerKind,
  CallFacts,
  CallSummary,
  CallsPage,
  CompletionStatus,
  CompletionSummary,
  JobCostBreakdown,
  JobView,
  Page,
  StoredCompletion,
  UsageReport,
} from "../types";
import { creditsHeld } from "./holds";
import { MICRO_PER_CREDIT, nanoToUsd, unfinishedJobsOf } from "./money";

// What a team's ledger shows, as pure functions of its rows: balances, jobs, usage, pages.
// What only an admin may see (the markup, LiteLLM's error text) depends on who is asking:
// a team never learns what its calls cost the operator or which provider served them.

/**
 * A team's balance. `credits_available` is what it can still spend: the remaining credits less
 * everything its open jobs hold (reservations, what consumption jobs consumed, and what their
 * calls in flight hold), rounded down, so the number a new job or hold is refused against. The
 * grants' side of the balance is grant-views.ts grantTotalsOf.
 */
export function balanceOf(acct: AccountRow, viewer: CallerKind): AccountBalance {
  const remaining = acct.credits_allocated - acct.credits_used;
  return {
    team_id: acct.team_id,
    organization_id: acct.organization_id,
    credits_allocated: acct.credits_allocated,
    credits_used: acct.credits_used,
    credits_remaining: remaining,
    credits_reserved: acct.credits_reserved,
    credits_available: Math.floor((remaining * MICRO_PER_CREDIT - acct.open_jobs_hold_micro) / MICRO_PER_CREDIT),
    budget_mode: acct.budget_mode,
    credits_per_dollar: acct.credits_per_dollar,
    tokens_per_credit: acct.tokens_per_credit,
    ...(viewer === "admin" ? { cost_markup_percentage: acct.cost_markup_percentage } : {}),
    job_ttl_seconds: acct.job_ttl_seconds,
    rate_limit_per_minute: acct.rate_limit_per_minute,
    credits_held: creditsHeld(acct.call_holds_micro),
    overdraft: acct.overdraft,
    unpriced_calls: acct.unpriced_calls,
    tpm_limit: acct.tpm_limit,
    unfinished_jobs: unfinishedJobsOf(acct.budget_mode, acct.unfinished_jobs),
    grant_expiring_notice_seconds: acct.grant_notice_seconds,
    ...(viewer === "admin" ? { speculation: { enabled: acct.speculative_admission === 1, aborted_calls: acct.speculative_aborts } } : {}),
    status: acct.status,
  };
}

export function costsOf(job: JobRow): JobView["costs"] {
  return {
    total_calls: job.total_calls,
    successful_calls: job.successful_calls,
    failed_calls: job.failed_calls,
    total_tokens: job.total_tokens,
    total_cost_usd: nanoToUsd(job.client_cost_nano),
    avg_latency_ms: job.latency_count === 0 ? 0 : Math.round(job.latency_sum_ms / job.latency_count),
    cache_hits: job.cache_hits,
    cache_saved_usd: nanoToUsd(job.cache_saved_nano),
  };
}

/** A job's calls as its completion summary lists them. */
export function callSummariesOf(calls: CallRow[]): CallSummary[] {
  return calls.map((c) => ({
    call_id: c.call_id,
    purpose: c.purpose,
    model_group: c.model_group,
    tokens: c.total_tokens,
    latency_ms: c.latency_ms,
    error: c.error,
  }));
}

/** A job's key as its views name it (`keyName`: the key's name now, null for a job of no named key); its calls were made with it. */
function keyOfJob(job: JobRow, keyName: string | null) {
  return { key_id: job.key_id, key_name: keyName };
}

/** What every view of a call shows (the job view and the cost breakdown add their own fields); `key` is its job's. */
function callFactsOf(c: CallRow, key: { key_id: string | null; key_name: string | null }): CallFacts {
  return {
    call_id: c.call_id,
    purpose: c.purpose,
    model_group: c.model_group,
    ...key,
    status: c.status,
    prompt_tokens: c.prompt_tokens,
    completion_tokens: c.completion_tokens,
    total_tokens: c.total_tokens,
    cost_usd: nanoToUsd(c.client_cost_nano),
    usage_estimated: c.usage_estimated === 1,
    latency_ms: c.latency_ms,
    cached: c.cached === 1,
    tags: JSON.parse(c.tags ?? "[]"),
    end_user: c.end_user ?? null,
  };
}

export function jobViewOf(teamId: string, job: JobRow, calls: CallRow[], viewer: CallerKind, keyName: string | null = null): JobView {
  const key = keyOfJob(job, keyName);
  return {
    job_id: job.job_id,
    team_id: teamId,
    job_type: job.job_type,
    user_id: job.user_id,
    ...key,
    end_user: job.end_user,
    status: job.status,
    metadata: JSON.parse(job.metadata),
    error_message: job.error_message,
    created_at: job.created_at,
    started_at: job.started_at,
    completed_at: job.completed_at,
    expires_at: job.expires_at,
    credit_applied: job.credit_applied === 1,
    credits_charged: job.credits_charged,
    model_groups_used: JSON.parse(job.model_groups_used),
    tags: JSON.parse(job.tags ?? "[]"),
    costs: costsOf(job),
    calls: calls.map((c) => ({
      ...callFactsOf(c, key),
      error: c.error,
      ...(viewer === "admin" ? { upstream_error: c.upstream_error, model_used: c.model_used, attempts: JSON.parse(c.attempts) } : {}),
      stream: c.stream === 1,
      created_at: c.created_at,
    })),
  };
}

/** A page of a job's calls as a cost breakdown (`rows`: up to one more than `page.limit`). */
export function costBreakdownOf(
  teamId: string,
  job: JobRow,
  rows: CallRow[],
  page: CallsPage,
  viewer: CallerKind,
  keyName: string | null = null,
): JobCostBreakdown {
  const admin = viewer === "admin";
  const key = keyOfJob(job, keyName);
  return {
    job_id: job.job_id,
    team_id: teamId,
    ...key,
    status: job.status,
    credits_charged: job.credits_charged,
    totals: {
      ...costsOf(job),
      prompt_tokens: job.prompt_tokens,
      completion_tokens: job.completion_tokens,
      ...(admin ? { provider_cost_usd: nanoToUsd(job.provider_cost_nano) } : {}),
    },
    calls: rows.slice(0, page.limit).map((c) => ({
      ...callFactsOf(c, key),
      created_at: c.created_at,
      ...(admin
        ? { model_used: c.model_used, provider_cost_usd: c.provider_cost_nano === null ? null : nanoToUsd(c.provider_cost_nano) }
        : {}),
    })),
    calls_limit: page.limit,
    calls_offset: page.offset,
    calls_has_more: rows.length > page.limit,
  };
}

/** A job as listed (its calls are only in the single-job view). */
export function jobListingOf(teamId: string, job: JobRow, keyName: string | null = null): Omit<JobView, "calls"> {
  const { calls: _calls, ...view } = jobViewOf(teamId, job, [], "team", keyName);
  return view;
}

/** `rows` holds one more row than `limit` when there is a next page. */
export function pageOf<T>(rows: T[], limit: number, offset: number): Page<T> {
  return { items: rows.slice(0, limit), limit, offset, has_more: rows.length > limit };
}

/** Adds `row` into `total`, key by key. */
export function sumInto<T extends Record<string, number>>(total: T, row: T): T {
  for (const k of Object.keys(total) as Array<keyof T>) total[k] = (total[k] + row[k]) as T[keyof T];
  return total;
}

const emptyModelUsage = (): ModelUsageRow => ({
  calls: 0,
  prompt_tokens: 0,
  completion_tokens: 0,
  total_tokens: 0,
  client_cost_nano: 0,
  provider_cost_nano: 0,
  cache_hits: 0,
  cache_saved_nano: 0,
  cache_saved_provider_nano: 0,
});

/** Usage sums of nothing yet. */
export const emptyUsage = (): UsageRow => ({
  jobs: 0,
  completed: 0,
  failed: 0,
  cancelled: 0,
  expired: 0,
  ...emptyModelUsage(),
  credits_charged: 0,
});

/**
 * Usage sums as shown (a team's, a model's, an organization's): the counts as they are, the costs
 * in USD, and what the calls cost the operator only to the admin key.
 */
export function usageShown<T extends ModelUsageRow>(sums: T, viewer: CallerKind) {
  const { client_cost_nano, provider_cost_nano, cache_saved_nano, cache_saved_provider_nano, ...counts } = sums;
  const admin = viewer === "admin";
  return {
    ...counts,
    client_cost_usd: nanoToUsd(client_cost_nano),
    cache_saved_usd: nanoToUsd(cache_saved_nano),
    ...(admin ? { provider_cost_usd: nanoToUsd(provider_cost_nano), cache_saved_provider_usd: nanoToUsd(cache_saved_provider_nano) } : {}),
  };
}

/** Sums rows by a key (a model group, a model). */
function totalsBy<R extends ModelUsageRow>(rows: R[], keyOf: (r: R) => string): Map<string, ModelUsageRow> {
  const totals = new Map<string, ModelUsageRow>();
  for (const r of rows) totals.set(keyOf(r), sumInto(totals.get(keyOf(r)) ?? emptyModelUsage(), r));
  return totals;
}

/**
 * A period's usage, in total, per job type and per model group (and, when asked, per tag or end
 * user), from its aggregate rows; the admin key also sees the provider cost and the models that
 * served (a team never does).
 */
export function usageReportOf(
  teamId: string,
  period: string,
  rows: {
    jobTypes: Array<UsageRow & { job_type: string }>;
    days: Array<UsageRow & { day: string }>;
    models: Array<ModelUsageRow & { model_group: string; model: string }>;
    labels?: { dimension: "tag" | "end_user"; rows: Array<ModelUsageRow & { label: string }> };
  },
  viewer: CallerKind,
): UsageReport {
  const total = emptyUsage();
  for (const { job_type: _type, ...r } of rows.jobTypes) sumInto(total, r);
  const shown = (totals: Map<string, ModelUsageRow>) => Object.fromEntries([...totals].map(([k, r]) => [k, usageShown(r, viewer)]));
  return {
    team_id: teamId,
    period,
    summary: usageShown(total, viewer),
    job_types: Object.fromEntries(rows.jobTypes.map(({ job_type, ...r }) => [job_type, usageShown(r, viewer)])),
    days: Object.fromEntries(rows.days.map(({ day, ...r }) => [day, usageShown(r, viewer)])),
    model_groups: shown(totalsBy(rows.models, (r) => r.model_group)),
    ...(viewer === "admin" ? { models: shown(totalsBy(rows.models, (r) => r.model || "(none)")) } : {}),
    ...(rows.labels
      ? { [rows.labels.dimension === "tag" ? "tags" : "end_users"]: shown(totalsBy(rows.labels.rows, (r) => r.label || "(none)")) }
      : {}),
  };
}

/** A period's usage per key, each with the key's name now (null: a key no longer known). */
export function keyUsageOf(
  rows: Array<UsageRow & { key_id: string }>,
  names: Map<string, string>,
  viewer: CallerKind,
): NonNullable<UsageReport["keys"]> {
  return Object.fromEntries(rows.map(({ key_id, ...r }) => [key_id, { name: names.get(key_id) ?? null, ...usageShown(r, viewer) }]));
}

/** What a completed job keeps: its summary without the calls, which stay in the calls table. */
export function completionSummaryOf(
  job: JobRow,
  closed: { status: CompletionStatus; completedAt: string; charge: number; creditsRemaining: number; callsThroughSeq: number },
): StoredCompletion {
  return {
    job_id: job.job_id,
    status: closed.status,
    completed_at: closed.completedAt,
    costs: {
      ...costsOf(job),
      credit_applied: closed.charge > 0,
      credits_charged: closed.charge,
      credits_remaining: closed.creditsRemaining,
    },
    calls_through_seq: closed.callsThroughSeq,
  };
}

/**
 * What completing a job answers, and what a repeated completion replays: the kept summary with
 * its first calls (`rows`: up to one more than COMPLETION_CALLS_SHOWN) and whether more follow.
 */
export function completionAnswerOf(stored: StoredCompletion, rows: CallRow[]): CompletionSummary {
  const { calls_through_seq: _through, calls: keptWhole, ...summary } = stored;
  const calls = keptWhole ?? callSummariesOf(rows);
  return { ...summary, calls: calls.slice(0, COMPLETION_CALLS_SHOWN), calls_has_more: calls.length > COMPLETION_CALLS_SHOWN };
}
