import type { LedgerErrorCode } from "../errors";
import type { WebhookEndpoint } from "../webhooks/events";
import type { GrantMoveKind, GrantSource } from "./rules/grants";
import type { Overdraft, UnpricedCalls } from "./rules/holds";
import type { BudgetMode, BudgetSettings } from "./rules/money";

// Values that cross the RPC boundary between the Worker and a team's TeamLedger object.
// Outcomes are values ({ ok: false, code }), never exceptions: see src/http/errors.ts for
// how each code becomes an HTTP status.

export type { LedgerErrorCode };

export type LedgerResult<T> = { ok: true; value: T } | { ok: false; code: LedgerErrorCode; detail: string; retryAfterSeconds?: number };

/** A ledger's no, as a value. */
export type Refusal = Extract<LedgerResult<never>, { ok: false }>;

export function refusal(code: LedgerErrorCode, detail: string): Refusal {
  return { ok: false, code, detail };
}

export function ok<T>(value: T): LedgerResult<T> {
  return { ok: true, value };
}

/** What kind of caller is asking: a team key is refused while its team is suspended; the admin is not. */
export type CallerKind = "team" | "admin";

export type TeamStatus = "active" | "suspended" | "paused";
export type JobStatus = "pending" | "in_progress" | "completed" | "failed" | "cancelled" | "expired";
export const TERMINAL_JOB_STATUSES = ["completed", "failed", "cancelled"] as const;
export type CompletionStatus = (typeof TERMINAL_JOB_STATUSES)[number];
export type CallStatus = "success" | "failed" | "aborted";
/** Who completes a job: the team that opened it, or the gateway for the one-request jobs it opens. */
export type JobOwner = "team" | "gateway";

export interface AccountInit {
  teamId: string;
  organizationId: string;
  creditsAllocated: number;
  budgetMode: BudgetMode;
  creditsPerDollar: number;
  tokensPerCredit: number;
  costMarkupPercentage: number;
  jobTtlSeconds: number;
  rateLimitPerMinute: number | null;
  /** Defaults for a new account: overdraft none, unpriced calls refused, no tokens-per-minute limit. */
  overdraft?: Overdraft;
  unpricedCalls?: UnpricedCalls;
  tpmLimit?: number | null;
  /** How long before a grant expires `grant.expiring` is sent (default DEFAULT_GRANT_NOTICE_SECONDS). */
  grantNoticeSeconds?: number;
  /** The team's first key, by its keyed hash, and its model groups: the object decides access from them. */
  keyHash: string;
  modelGroups: Array<{ name: string; models: string[] }>;
  /** Its organization's webhook, if it has one: a new team is told its events from the start. */
  webhooks?: WebhookEndpoint[];
}

/** What the balance adds about grants: remaining credits by source (and the overdraft), the next expiry and renewal. */
export interface GrantTotals {
  grants: Record<GrantSource, number> & { overdrawn: number };
  next_expiry: { grant_id: string; source: GrantSource; at: string; credits: number } | null;
  next_renewal: { at: string; credits: number } | null;
}

/** A team's balance: its account's counters and settings, and what its grants add. */
export interface Balance extends AccountBalance, GrantTotals {}

export interface AccountBalance {
  team_id: string;
  organization_id: string;
  credits_allocated: number;
  credits_used: number;
  credits_remaining: number;
  credits_reserved: number;
  credits_available: number;
  budget_mode: BudgetMode;
  credits_per_dollar: number;
  tokens_per_credit: number;
  /** Admins only: teams never see the markup on provider cost. */
  cost_markup_percentage?: number;
  job_ttl_seconds: number;
  rate_limit_per_minute: number | null;
  /** Holds of the calls in flight, in credits rounded up (part of what their jobs hold). */
  credits_held: number;
  overdraft: Overdraft;
  unpriced_calls: UnpricedCalls;
  tpm_limit: number | null;
  grant_expiring_notice_seconds: number;
  status: TeamStatus;
}

/** How one ledger row moved one grant (grant_id null: the team's overdraft, beyond every grant). */
export interface GrantSplit {
  grant_id: string | null;
  source: GrantSource | null;
  kind: GrantMoveKind;
  credits: number;
}

export const LEDGER_KINDS = [
  "allocation",
  "reservation",
  "release",
  "deduction",
  "refund",
  "adjustment",
  "hold",
  "capture",
  "expiry",
  "void",
] as const;

export interface LedgerEntry {
  transaction_id: string;
  team_id: string;
  kind: (typeof LEDGER_KINDS)[number];
  /** Signed change to credits_remaining. */
  amount: number;
  /** Signed change to credits_reserved. */
  reserved_change: number;
  /** Signed change, in micro-credits, to what calls in flight hold (`hold` and `capture` rows). */
  held_change_micro: number;
  balance_before: number;
  balance_after: number;
  job_id: string | null;
  reason: string;
  created_at: string;
  /** Which grants the row's amount came from or went to, and how much each (Σ credits = amount). */
  grants: GrantSplit[];
}

export interface JobCreated {
  job_id: string;
  team_id: string;
  job_type: string;
  status: "pending";
  created_at: string;
  expires_at: string;
}

/** A job a team asks to open. */
export interface NewJob {
  jobId: string;
  jobType: string;
  userId: string | null;
  metadata: Record<string, unknown>;
  /** Who may use and complete it: the team (default), or the gateway for the jobs it opens itself. */
  owner?: JobOwner;
}

/** A one-request job opened with its call admitted; or refused, with the job's id when the job opened before the call was refused. */
export type OneRequestStart =
  | LedgerResult<{ job: JobCreated; admission: CallAdmission }>
  | { ok: false; code: LedgerErrorCode; detail: string; retryAfterSeconds?: number; jobId: string };

export interface CallAdmission {
  jobType: string;
  userId: string | null;
  markupPercentage: number;
  /** The max_tokens the gateway set because the call had none (null: the client's own, or none). */
  budgetMaxTokens: number | null;
  /** The group's models, priority first, as the team's object holds them. */
  models: string[];
}

/** What the Worker observed about one LLM call, sent to the object to be recorded. */
export interface CallRecord {
  callId: string;
  modelGroup: string;
  modelUsed: string | null;
  attempts: Array<{ model: string; outcome: string; status?: number; latency_ms: number }>;
  purpose: string | null;
  status: CallStatus;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** Provider cost in nano-USD; null when unpriced. */
  providerCostNano: number | null;
  costSource: "litellm" | "pricing_table" | "unpriced";
  usageEstimated: boolean;
  latencyMs: number;
  /** What the team is told, in the gateway's words. */
  error: string | null;
  /** The upstream's own text (secrets removed): admins only. */
  upstreamError?: string | null;
  stream: boolean;
}

export interface JobCosts {
  total_calls: number;
  successful_calls: number;
  failed_calls: number;
  total_tokens: number;
  total_cost_usd: number;
  avg_latency_ms: number;
  credit_applied: boolean;
  credits_remaining: number;
}

export interface CallSummary {
  call_id: string;
  purpose: string | null;
  model_group: string;
  tokens: number;
  latency_ms: number;
  error: string | null;
}

export interface CompletionSummary {
  job_id: string;
  status: CompletionStatus;
  completed_at: string;
  costs: JobCosts & { credits_charged: number };
  /** The job's first calls (at most COMPLETION_CALLS_SHOWN); the rest are paged by GET /api/jobs/{id}. */
  calls: CallSummary[];
  calls_has_more: boolean;
}

/**
 * What a completed job keeps (`jobs.summary`) for repeated completions: the summary without its
 * calls, which are read back from the calls table up to `calls_through_seq` (the last call
 * recorded at completion), so a stored row stays small however many calls the job made.
 * Jobs completed before this kept `calls` whole.
 */
export type StoredCompletion = Omit<CompletionSummary, "calls" | "calls_has_more"> & {
  calls_through_seq?: number;
  calls?: CallSummary[];
};

/** Which of a job's calls to show, in the order they were recorded. */
export interface CallsPage {
  limit: number;
  offset: number;
}

/** What every view of a call shows: the job view's calls and the cost breakdown's. */
export type CallFacts = {
  call_id: string;
  purpose: string | null;
  model_group: string;
  status: CallStatus;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cost_usd: number;
  usage_estimated: boolean;
  latency_ms: number;
};

export interface JobView {
  job_id: string;
  team_id: string;
  job_type: string;
  user_id: string | null;
  status: JobStatus;
  metadata: Record<string, unknown>;
  error_message: string | null;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  expires_at: string;
  credit_applied: boolean;
  credits_charged: number;
  model_groups_used: string[];
  costs: Omit<JobCosts, "credits_remaining" | "credit_applied">;
  calls: Array<
    CallFacts & {
      error: string | null;
      /** Admins only: the upstream's own error text. */
      upstream_error?: string | null;
      /** Admins only: the model that answered, and every model tried, in order. */
      model_used?: string | null;
      attempts?: CallRecord["attempts"];
      stream: boolean;
      created_at: string;
    }
  >;
}

/** A job's per-call cost breakdown (GET /api/jobs/{id}/costs); the model and provider cost for admins only. */
export interface JobCostBreakdown {
  job_id: string;
  team_id: string;
  status: JobStatus;
  credits_charged: number;
  totals: JobView["costs"] & { prompt_tokens: number; completion_tokens: number; provider_cost_usd?: number };
  calls: Array<
    CallFacts & {
      created_at: string;
      model_used?: string | null;
      provider_cost_usd?: number | null;
    }
  >;
  calls_limit: number;
  calls_offset: number;
  calls_has_more: boolean;
}

/** A job as listed (its calls are only in the single-job view). */
export type JobListing = Omit<JobView, "calls">;

/** Which jobs a listing shows, newest first. */
export type JobFilter = { status?: JobStatus; jobType?: string; limit: number; offset: number };

/** The ledger from a position back, for exports that page through it all (`next`: where the next page starts, null at the end). */
export type LedgerTail = { items: LedgerEntry[]; next: number | null };

/** One job with one page of its calls (GET /api/jobs/{id}). */
export type JobWithCalls = JobView & { calls_limit: number; calls_offset: number; calls_has_more: boolean };

export interface Page<T> {
  items: T[];
  limit: number;
  offset: number;
  has_more: boolean;
}

export interface UsageTotals {
  jobs: number;
  completed: number;
  failed: number;
  cancelled: number;
  expired: number;
  calls: number;
  credits_charged: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  client_cost_usd: number;
  /** For the admin key only: what the calls cost the operator. */
  provider_cost_usd?: number;
}

/** A model group's (or, for the admin key, a serving model's) calls in a period. */
export interface ModelUsage {
  calls: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  client_cost_usd: number;
  provider_cost_usd?: number;
}

export interface UsageReport {
  team_id: string;
  period: string;
  summary: UsageTotals;
  job_types: Record<string, UsageTotals>;
  /** Per day of the period (UTC, by job creation), oldest first: the days add up to the summary. */
  days: Record<string, UsageTotals>;
  model_groups: Record<string, ModelUsage>;
  /** For the admin key only: per model that served ('(none)' for calls no model answered). */
  models?: Record<string, ModelUsage>;
}

/** A change of budget settings; `rateLimitPerMinute`/`tpmLimit` null removes the limit, undefined keeps it. */
export type SettingsChange = Partial<BudgetSettings> & {
  jobTtlSeconds?: number;
  rateLimitPerMinute?: number | null;
  overdraft?: Overdraft;
  unpricedCalls?: UnpricedCalls;
  tpmLimit?: number | null;
  grantNoticeSeconds?: number;
};

/** `closedBy` (default: the team) is who asks; a job the gateway opened only it can close. */
export type Completion = {
  jobId: string;
  status: CompletionStatus;
  errorMessage: string | null;
  metadata: Record<string, unknown> | null;
  closedBy?: JobOwner;
};
