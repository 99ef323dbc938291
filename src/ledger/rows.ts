import type { UsageSums } from "../db/usage-records";
import type { BudgetMode, Overdraft, UnfinishedJobs, UnpricedCalls } from "../schemas/budget";
import type { AllowancePeriod, GrantMoveKind, GrantSource } from "../schemas/grants";
import type { BudgetPeriod } from "../schemas/period-budgets";
import type { WebhookEventType, WebhookScope } from "../webhooks/events";
import type { CallStatus, JobOwner, JobStatus, LedgerEntry, TeamStatus } from "./types";

// The rows of a team ledger's SQLite tables (see storage-schema.ts), as storage.ts reads them.

export type AccountRow = {
  team_id: string;
  organization_id: string;
  status: TeamStatus;
  budget_mode: BudgetMode;
  credits_per_dollar: number;
  tokens_per_credit: number;
  cost_markup_percentage: number;
  job_ttl_seconds: number;
  rate_limit_per_minute: number | null;
  credits_allocated: number;
  credits_used: number;
  credits_reserved: number;
  open_jobs_hold_micro: number;
  created_at: string;
  overdraft: Overdraft;
  unpriced_calls: UnpricedCalls;
  tpm_limit: number | null;
  call_holds_micro: number;
  /** null: the budget mode's default (unfinishedJobsOf in money.ts). */
  unfinished_jobs: UnfinishedJobs | null;
  /** 1: the team's calls may go upstream while their admission is on its way; 0: admitted first. */
  speculative_admission: number;
  /** Calls sent upstream early and aborted: the admission refused them, or admitted them otherwise. */
  speculative_aborts: number;
  /** How long before a grant's expiry `grant.expiring` is sent (0: never). */
  grant_notice_seconds: number;
};

export type JobRow = {
  job_id: string;
  job_type: string;
  user_id: string | null;
  status: JobStatus;
  metadata: string;
  error_message: string | null;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  expires_at: string;
  expires_at_ms: number;
  reserved: number;
  hold_micro: number;
  credit_applied: number;
  credits_charged: number;
  refunded: number;
  model_groups_used: string;
  total_calls: number;
  successful_calls: number;
  failed_calls: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  provider_cost_nano: number;
  client_cost_nano: number;
  latency_sum_ms: number;
  latency_count: number;
  summary: string | null;
  owner: JobOwner;
  calls_hold_micro: number;
  cache_hits: number;
  cache_saved_nano: number;
  /** Tokens of its cache hits not billed (hitPricePercent < 100): consumption_tokens charges total_tokens - unbilled_tokens. */
  unbilled_tokens: number;
  /** JSON: the distinct tags of the job's calls (rules/job-tags.ts). */
  tags: string;
  /** The key that opened the job (null: opened before keys had ids); its calls are made with it. */
  key_id: string | null;
  /** The end user the job was opened for, if any. */
  end_user: string | null;
};

export type CallHoldRow = {
  call_id: string;
  job_id: string;
  hold_micro: number;
  cap_nano: number | null;
  prompt_tokens: number;
  /** Per choice: the call may complete `choices × max_tokens`. */
  max_tokens: number;
  choices: number;
  created_at_ms: number;
  /** When the call must have been recorded (holds.ts holdDeadlineMs); past it the alarm settles the hold. */
  deadline_ms: number;
  /** Which run of the object placed it (a restarted object has a new one): a hold from an earlier run is known abandoned. */
  incarnation: string;
  model_group: string;
  stream: number;
  /** JSON: the call's tags; and its own end user (NULL: none given, its job's user_id applies). */
  tags: string;
  end_user: string | null;
};

export type CallRow = {
  call_id: string;
  model_group: string;
  purpose: string | null;
  status: CallStatus;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  client_cost_nano: number;
  usage_estimated: number;
  latency_ms: number;
  error: string | null;
  upstream_error: string | null;
  /** JSON: the call's attempts, in order (CallRecord.attempts). */
  attempts: string;
  stream: number;
  created_at: string;
  /** JSON: the call's tags. */
  tags: string;
  end_user: string | null;
  /** Admins only, with provider_cost_nano (null when unpriced): what served the call and what it cost the operator. */
  model_used: string | null;
  provider_cost_nano: number | null;
  cached: number;
};

/** A period's usage totals: the same sums the team's object sends to D1 (db/usage-records.ts). */
export type UsageRow = UsageSums;

/** A model group's or a model's calls in a period. */
export type ModelUsageRow = Pick<
  UsageSums,
  | "calls"
  | "prompt_tokens"
  | "completion_tokens"
  | "total_tokens"
  | "client_cost_nano"
  | "provider_cost_nano"
  | "cache_hits"
  | "cache_saved_nano"
  | "cache_saved_provider_nano"
>;

export type LedgerRow = Omit<LedgerEntry, "team_id">;

export type OutboxRow = {
  seq: number;
  event_id: string;
  scope: WebhookScope;
  event_type: WebhookEventType;
  body: string;
  state: "pending" | "delivered" | "failed" | "dropped";
  attempts: number;
  created_at_ms: number;
  next_attempt_ms: number | null;
  last_attempt_ms: number | null;
  last_status: number | null;
  last_error: string | null;
  delivered_at_ms: number | null;
  attempt_log: string;
};

/** A subject's period budget (table period_budgets, store/budget-store.ts). */
export type BudgetRow = {
  subject_kind: "key" | "end_user";
  subject_id: string;
  budget_micro: number;
  period: BudgetPeriod;
  window_start_ms: number;
  spent_micro: number;
  alerted_percent: number;
  exhausted: number;
};

export type PolicyRow = {
  alert_thresholds: string;
  recharge_below: number | null;
  recharge_target: number | null;
  /** The idempotency key of the recharge request made at the last crossing, until the balance is back at or above `recharge_below`. */
  recharge_open: string | null;
  end_user_credits: number | null;
  end_user_period: BudgetPeriod | null;
};

export type RechargeRow = {
  idempotency_key: string;
  amount: number;
  requested_at_ms: number;
  applied_at_ms: number | null;
  applied_credits: number | null;
  result: string | null;
};

export type GrantEnd = "expired" | "voided";
/** Which plan grant of a period: the allowance's own, or what the previous period rolled over. */
export type PlanGrantKind = "allowance" | "rollover";

export type GrantRow = {
  seq: number;
  grant_id: string;
  source: GrantSource;
  credits: number;
  remaining: number;
  priority: number;
  expires_at_ms: number | null;
  created_at_ms: number;
  reason: string;
  external_ref: string | null;
  allowance_id: string | null;
  plan_period_ms: number | null;
  plan_kind: PlanGrantKind | null;
  ended: GrantEnd | null;
  ended_at_ms: number | null;
  notice_sent: number;
};

export type NewGrant = Omit<GrantRow, "seq" | "remaining" | "ended" | "ended_at_ms" | "notice_sent">;

/** One signed change to a grant's remaining credits (grant_id null: the team's overdraft), with the ledger row it belongs to. */
export type GrantMoveRow = {
  ledger_seq: number | null;
  grant_id: string | null;
  kind: GrantMoveKind;
  credits: number;
  job_id: string | null;
  at_ms: number;
};

export type AllowanceRow = {
  allowance_id: string;
  credits: number;
  period: AllowancePeriod;
  anchor: number;
  rollover_max: number | null;
  priority: number;
  /** The current period: begun at period_start_ms, renewed at period_end_ms. */
  period_start_ms: number;
  period_end_ms: number;
  created_at_ms: number;
  updated_at_ms: number;
};

/** A job's credits held from an ended grant. */
export type HeldCredits = { grant_id: string; credits: number };
