import type { z } from "@hono/zod-openapi";
import type { GroupCache } from "../db/access-records";
import type { TokenPrice } from "../db/price-cache";
import type { LedgerErrorCode } from "../errors";
import type { BudgetMode, Overdraft, UnfinishedJobs, UnpricedCalls } from "../schemas/budget";
import type {
  AllowancePeriod,
  Allowance as AllowanceSchema,
  Grant as GrantSchema,
  GrantSource,
  GrantSplit as GrantSplitSchema,
  Statement as StatementSchema,
} from "../schemas/grants";
import type {
  CallFacts as CallFactsSchema,
  CompletionSummary as CompletionSummarySchema,
  JobCostBreakdown as JobCostBreakdownSchema,
  JobCosts as JobCostsSchema,
  JobCreated as JobCreatedSchema,
  Job as JobSchema,
  JobSummary as JobSummarySchema,
} from "../schemas/jobs";
import type { ModelUsage as ModelUsageSchema, TeamUsage as TeamUsageSchema, UsageTotals as UsageTotalsSchema } from "../schemas/reports";
import type { Balance as BalanceSchema, LedgerEntry as LedgerEntrySchema } from "../schemas/teams";
import type { WebhookEndpoint } from "../webhooks/events";

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

// What the ledger answers is the API's wire shape, declared once by its zod schema (src/schemas/).
export type Balance = z.infer<typeof BalanceSchema>;
export type LedgerEntry = z.infer<typeof LedgerEntrySchema>;
/** How one ledger row moved one grant (grant_id null: the team's overdraft, beyond every grant). */
export type GrantSplit = z.infer<typeof GrantSplitSchema>;
/** What the balance adds about grants: remaining credits by source (and the overdraft), the next expiry and renewal. */
export type GrantTotals = Pick<Balance, "grants" | "next_expiry" | "next_renewal">;
/** The account's side of the balance: its counters and settings. */
export type AccountBalance = Omit<Balance, keyof GrantTotals>;
export type GrantView = z.infer<typeof GrantSchema>;
export type AllowanceView = z.infer<typeof AllowanceSchema>;
export type Statement = z.infer<typeof StatementSchema>;
export type LedgerKind = LedgerEntry["kind"];
export type JobCreated = z.infer<typeof JobCreatedSchema>;
export type JobCosts = z.infer<typeof JobCostsSchema>;
export type CompletionSummary = z.infer<typeof CompletionSummarySchema>;
export type CallSummary = CompletionSummary["calls"][number];
/** One job with one page of its calls (GET /api/jobs/{id}). */
export type JobWithCalls = z.infer<typeof JobSchema>;
export type JobView = Omit<JobWithCalls, "calls_limit" | "calls_offset" | "calls_has_more">;
/** A job as listed (its calls are only in the single-job view). */
export type JobListing = z.infer<typeof JobSummarySchema>;
/** What every view of a call shows: the job view's calls and the cost breakdown's. */
export type CallFacts = z.infer<typeof CallFactsSchema>;
/** A job's per-call cost breakdown (GET /api/jobs/{id}/costs); the model and provider cost for admins only. */
export type JobCostBreakdown = z.infer<typeof JobCostBreakdownSchema>;
export type UsageTotals = z.infer<typeof UsageTotalsSchema>;
/** A model group's (or, for the admin key, a serving model's) calls in a period. */
export type ModelUsage = z.infer<typeof ModelUsageSchema>;
export type UsageReport = z.infer<typeof TeamUsageSchema>;

export type TeamStatus = Balance["status"];
export type JobStatus = JobListing["status"];
export type CompletionStatus = CompletionSummary["status"];
export type CallStatus = CallFacts["status"];
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
  /** null or absent: the budget mode's default (money.ts unfinishedJobsOf). */
  unfinishedJobs?: UnfinishedJobs | null;
  /** Whether its calls may go upstream while their admission is on its way (default: yes). */
  speculativeAdmission?: boolean;
  /** The team's first key (named `default`) with its secret's keyed hash, and its model groups: the object decides access from them. */
  key: { keyId: string; keyHash: string; prefix: string; name: string };
  modelGroups: Array<{ name: string; models: string[] }>;
  /** Its organization's webhook, if it has one: a new team is told its events from the start. */
  webhooks?: WebhookEndpoint[];
}

/** A grant as asked for (POST /api/credits/teams/{id}/grants, or a top-up). */
export interface GrantRequest {
  credits: number;
  source: GrantSource;
  expiresAtMs: number | null;
  priority: number | null;
  reason: string | null;
  externalRef: string | null;
}

/** A plan allowance as asked for (PUT /api/credits/teams/{id}/allowance). */
export interface AllowanceRequest {
  credits: number;
  period: AllowancePeriod;
  anchor: number | null;
  /** null: nothing rolls over. */
  rolloverMax: number | null;
  priority: number | null;
}

/** A job a team asks to open. */
export interface NewJob {
  jobId: string;
  jobType: string;
  userId: string | null;
  metadata: Record<string, unknown>;
  /** Who may use and complete it: the team (default), or the gateway for the jobs it opens itself. */
  owner?: JobOwner;
  /** The end user it is for (an OpenAI `user`, X-End-User-Id, or the job's user_id): their budget, if the team sets one, counts it. */
  endUser?: string | null;
}

/** An operation id, and optionally a text kept with its result (e.g. a sealed answer to give again). */
export interface Operation {
  id: string;
  keep?: string | null;
}

/** A job to open, under the operation id that makes a retry open it once. */
export type NewJobRequest = NewJob & { operation: Operation };

/** A call admitted (or refused) by the team's object; or, for a group with a response cache when the Worker looks first, where to look. */
export type Admission = LedgerResult<CallAdmission | CacheLookup>;

export interface CallAdmission {
  jobType: string;
  userId: string | null;
  /** The end user the job is for (its calls are theirs), or null. */
  endUser: string | null;
  markupPercentage: number;
  /** The max_tokens the gateway set because the call had none (null: the client's own, or none). */
  budgetMaxTokens: number | null;
  /** The group's models, priority first, as the team's object holds them. */
  models: string[];
  /** What the Worker may expect of the team's next admission (calls/speculation.ts). */
  outlook: AdmissionOutlook;
  /** The group's response cache and the scope whose entries the call shares (null: the group has none). */
  cache: CallCacheSetting | null;
}

/** What an admission tells the Worker about the next: whether it may start before it, and the credit then free. */
export interface AdmissionOutlook {
  /** The team's `speculative_admission` setting: whether its calls may go upstream while their admission is on its way. */
  speculative: boolean;
  /** What the team has free after this admission (credits remaining less what open jobs hold), in micro-credits. */
  freeMicro: number;
  /**
   * Until when that stands unless a call or an admin changes it: the next moment the team's
   * grants change it by themselves (a grant's expiry, the allowance's renewal; null: none).
   */
  freeUntilMs: number | null;
  /**
   * How a call's hold is priced (null under job_based, where calls hold nothing): the team's
   * settings, this call's group's price (null: not read, or unpriced), and whether holds count
   * against the team's credits (`overdraft: none`; a budget over a call holds it either way).
   */
  holds: { settings: BudgetSettings; price: TokenPrice | null; team: boolean } | null;
  /** The period budgets over this call's job (changes/period-budgets.ts) and what each leaves for new holds now. */
  budgets: AdmissionBudgets;
}

/** The budgets over an admitted call's job: its key's and its end user's room for new holds, in micro-credits (null: no budget). */
export interface AdmissionBudgets {
  keyRoomMicro: number | null;
  /** The room of the budget of the job's end user (the admission's `endUser`). */
  endUserRoomMicro: number | null;
  /** Whether the team gives every end user a budget (its budget policy's end_user_budget). */
  endUsersBudgeted: boolean;
}

/** Where a call's answer may be looked up and kept: its group's response cache and the id of the scope that shares it. */
export interface CallCacheSetting extends GroupCache {
  /** `team:<id>` or `organization:<id>`: ids are chosen by clients, so a team's and an organization's never meet. */
  scopeId: string;
}

/**
 * The first answer to a call of a group with a response cache, when the Worker asked to look
 * before being admitted: nothing is held or counted yet; the key and the group checked.
 */
export interface CacheLookup {
  lookUp: CallCacheSetting & { models: string[] };
}

/** Whether the team's object answered with where to look rather than with an admission. */
export function isCacheLookup<T extends object>(answer: T | CacheLookup): answer is CacheLookup {
  return "lookUp" in answer;
}

/** What the Worker observed about one LLM call, sent to the object to be recorded. */
export interface CallRecord {
  callId: string;
  modelGroup: string;
  modelUsed: string | null;
  attempts: Array<{ model: string; outcome: string; status?: number; latency_ms: number }>;
  purpose: string | null;
  /** The team's labels: its tags and the end user it was made for (absent: none). */
  tags?: string[];
  endUser?: string | null;
  status: CallStatus;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** Provider cost in nano-USD; null when unpriced. */
  providerCostNano: number | null;
  costSource: "litellm" | "pricing_table" | "unpriced" | "cache";
  usageEstimated: boolean;
  latencyMs: number;
  /** What the team is told, in the gateway's words. */
  error: string | null;
  /** The upstream's own text (secrets removed): admins only. */
  upstreamError?: string | null;
  stream: boolean;
  /** An answer from the group's response cache: priced from the original (cache-hits.ts), with no provider cost. */
  cache?: { hitPricePercent: number; originalProviderCostNano: number | null };
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

/** Which jobs a listing shows, newest first. */
export type JobFilter = { status?: JobStatus; jobType?: string; limit: number; offset: number };

/** The ledger from a position back, for exports that page through it all (`next`: where the next page starts, null at the end). */
export type LedgerTail = { items: LedgerEntry[]; next: number | null };

export interface Page<T> {
  items: T[];
  limit: number;
  offset: number;
  has_more: boolean;
}

/** How a team's consumption is priced: the budget settings the money rules read. */
export interface BudgetSettings {
  budgetMode: BudgetMode;
  creditsPerDollar: number;
  tokensPerCredit: number;
  costMarkupPercentage: number;
}

/** The dimensions a usage report can also be totalled by. */
export type UsageGrouping = "key" | "tag" | "end_user";

/** A change of budget settings; `rateLimitPerMinute`/`tpmLimit` null removes the limit, undefined keeps it. */
export type SettingsChange = Partial<BudgetSettings> & {
  jobTtlSeconds?: number;
  rateLimitPerMinute?: number | null;
  overdraft?: Overdraft;
  unpricedCalls?: UnpricedCalls;
  tpmLimit?: number | null;
  grantNoticeSeconds?: number;
  unfinishedJobs?: UnfinishedJobs | null;
  speculativeAdmission?: boolean;
};

/** `closedBy` (default: the team) is who asks; a job the gateway opened only it can close. */
export type Completion = {
  jobId: string;
  status: CompletionStatus;
  errorMessage: string | null;
  metadata: Record<string, unknown> | null;
  closedBy?: JobOwner;
};
