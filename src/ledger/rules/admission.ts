import type { TokenPrice } from "../../db/price-cache";
import { CALLS_PAGE_MAX } from "../../schemas/jobs";
import type { AccountRow, JobRow } from "../rows";
import {
  type AdmissionBudgets,
  type AdmissionOutlook,
  type BudgetSettings,
  type CallerKind,
  type CallsPage,
  type CompletionStatus,
  type JobOwner,
  type JobStatus,
  type Refusal,
  refusal,
  type StoredCompletion,
} from "../types";
import { JOB_RESERVATION_CREDITS, jobHoldMicro, MICRO_PER_CREDIT } from "./money";
import type { PeriodBudget } from "./period-budget";

// Who may do what with a team's money, as pure functions of its rows: each answers with a
// refusal (a value, never an exception) or null when the request may go on.

/**
 * The most calls one job holds. A job is one business operation; this bounds what one job's
 * pages, summary and row counters can grow to. Calls already in flight when a job reaches it
 * are still recorded, so a job can pass it by the number of its concurrent calls.
 */
export const MAX_CALLS_PER_JOB = 20_000;

export const OPEN_STATUSES: ReadonlySet<JobStatus> = new Set(["pending", "in_progress"]);

export const accountNotFound = (): Refusal => refusal("ACCOUNT_NOT_FOUND", "Team not found");
export const jobNotFound = (jobId: string): Refusal => refusal("JOB_NOT_FOUND", `Job '${jobId}' not found`);

export function settingsOf(acct: AccountRow): BudgetSettings {
  return {
    budgetMode: acct.budget_mode,
    creditsPerDollar: acct.credits_per_dollar,
    tokensPerCredit: acct.tokens_per_credit,
    costMarkupPercentage: acct.cost_markup_percentage,
  };
}

/** Credits, in micro-credits, the team has beyond everything its open jobs hold (negative after an overrun). */
export function headroomMicro(acct: AccountRow): number {
  return (acct.credits_allocated - acct.credits_used) * MICRO_PER_CREDIT - acct.open_jobs_hold_micro;
}

/** The tokens a job is billed for in consumption_tokens: its calls' tokens, less what its cache hits are not billed for. */
export function billedTokensOf(job: JobRow): number {
  return job.total_tokens - job.unbilled_tokens;
}

/** What a job has consumed so far, in micro-credits (0 in job_based mode). */
export function consumedMicro(acct: AccountRow, job: JobRow): number {
  return jobHoldMicro(settingsOf(acct), 0, job.client_cost_nano, billedTokensOf(job));
}

export function refuseSuspended(acct: AccountRow, caller: CallerKind): Refusal | null {
  if (caller === "team" && acct.status === "suspended") {
    return refusal("TEAM_SUSPENDED", `Team '${acct.team_id}' is suspended`);
  }
  return null;
}

/** A suspended or paused team opens no job and makes no call. (The rate is checked after this.) */
export function refuseInactive(acct: AccountRow): Refusal | null {
  const suspended = refuseSuspended(acct, "team");
  if (suspended) return suspended;
  if (acct.status === "paused") return refusal("TEAM_PAUSED", `Team '${acct.team_id}' is paused: new jobs and calls are refused`);
  return null;
}

/** New jobs and calls beyond the team's rate: 429 with the seconds until one more is allowed. */
export function rateLimited(perMinute: number, retryAfterSeconds: number): Refusal {
  return {
    ...refusal("RATE_LIMITED", `Rate limit of ${perMinute} new jobs and calls per minute reached; retry in ${retryAfterSeconds} s`),
    retryAfterSeconds,
  };
}

/** A job may open only when the team's headroom covers its reservation, and under a new id. */
export function refuseNewJob(acct: AccountRow, existing: JobRow | null, jobId: string): Refusal | null {
  const headroom = headroomMicro(acct);
  if (headroom < JOB_RESERVATION_CREDITS * MICRO_PER_CREDIT) {
    const available = Math.max(0, Math.floor(headroom / MICRO_PER_CREDIT));
    return refusal(
      "INSUFFICIENT_CREDITS",
      `Insufficient credits: ${available} available, ${JOB_RESERVATION_CREDITS} required to open a job`,
    );
  }
  if (existing) return refusal("JOB_EXISTS", `Job '${jobId}' already exists`);
  return null;
}

/**
 * A job the gateway opened (a one-request job) is the gateway's: a team can read it, but
 * cannot make another call in it or complete it, so it cannot end its own job uncharged.
 */
export function refuseNotOwner(job: JobRow | null, by: JobOwner): Refusal | null {
  if (job?.owner !== "gateway" || by === "gateway") return null;
  return refusal(
    "JOB_OWNED_BY_GATEWAY",
    `Job '${job.job_id}' was opened by the gateway for a one-request call; only the gateway completes it, and no other call can be made in it`,
  );
}

/**
 * A job is for one end user (or none), named when it opens: its calls are theirs, and their
 * budget holds them. A call in it that names another end user (X-End-User-Id, OpenAI's `user`,
 * Anthropic's `metadata.user_id`) is refused, so what the budget counts and what usage reports
 * per end user are the same calls.
 */
export function refuseOtherEndUser(job: JobRow, endUser: string | null | undefined): Refusal | null {
  if (!endUser || endUser === job.end_user) return null;
  const jobs = job.end_user === null ? "is for no end user" : `is for end user '${job.end_user}'`;
  return refusal(
    "END_USER_MISMATCH",
    `Job '${job.job_id}' ${jobs}, and a call in it cannot name another ('${endUser}'); open a job for that end user (X-End-User-Id or user_id)`,
  );
}

/**
 * A call may start in an open job; in the consumption modes, a job past its reservation may go
 * on only while the team has headroom left, unless the call costs nothing (a free cache hit).
 */
export function refuseCall(acct: AccountRow, job: JobRow | null, jobId: string, costsNothing = false): Refusal | null {
  if (!job) return jobNotFound(jobId);
  if (!OPEN_STATUSES.has(job.status)) return refusal("JOB_FINISHED", `Job '${jobId}' is ${job.status}; no more calls can be made in it`);
  if (job.total_calls >= MAX_CALLS_PER_JOB) {
    return refusal(
      "JOB_CALL_LIMIT",
      `Job '${jobId}' already has ${MAX_CALLS_PER_JOB} calls, the most one job can hold; open a new job for more calls`,
    );
  }
  if (acct.budget_mode !== "job_based" && !costsNothing) {
    // What this job may still consume: what is left of its own reservation, plus the team's
    // headroom beyond everything the open jobs (this one included) already hold.
    const ownRoomMicro = Math.max(0, job.reserved * MICRO_PER_CREDIT - consumedMicro(acct, job));
    if (ownRoomMicro + headroomMicro(acct) <= 0) {
      return refusal("INSUFFICIENT_CREDITS", "Insufficient credits: the team's available credits are used up by its open jobs");
    }
  }
  return null;
}

/**
 * Whether a job can end with `status`: an open job can; a closed one replays its stored summary
 * when asked for the same status again (so completing twice charges once), and refuses otherwise.
 */
export function completionOf(
  job: JobRow,
  status: CompletionStatus,
): { open: true } | { open: false; replay: StoredCompletion } | { open: false; refusal: Refusal } {
  if (job.summary !== null) {
    if (job.status === status) return { open: false, replay: JSON.parse(job.summary) as StoredCompletion };
    return {
      open: false,
      refusal: refusal("JOB_STATUS_CONFLICT", `Job '${job.job_id}' is already ${job.status}; it cannot become ${status}`),
    };
  }
  if (!OPEN_STATUSES.has(job.status)) {
    return { open: false, refusal: refusal("JOB_STATUS_CONFLICT", `Job '${job.job_id}' is ${job.status}; it cannot become ${status}`) };
  }
  return { open: true };
}

/** A page of a job's calls holds 1 to CALLS_PAGE_MAX of them, from a non-negative offset. */
export function refuseCallsPage(page: CallsPage): Refusal | null {
  const { limit, offset } = page;
  if (Number.isSafeInteger(limit) && limit >= 1 && limit <= CALLS_PAGE_MAX && Number.isSafeInteger(offset) && offset >= 0) return null;
  return refusal("INVALID_ARGUMENT", `calls_limit must be 1 to ${CALLS_PAGE_MAX} and calls_offset 0 or more`);
}

/** Only a charged job (completed, or unfinished under `unfinished_jobs: charged`) can be refunded, and only once. */
export function refuseRefund(job: JobRow): Refusal | null {
  if (job.refunded) return refusal("ALREADY_REFUNDED", `Job '${job.job_id}' has already been refunded`);
  if (OPEN_STATUSES.has(job.status) || job.credits_charged === 0) {
    return refusal("JOB_NOT_CHARGED", `Job '${job.job_id}' was not charged; there is nothing to refund`);
  }
  return null;
}

/**
 * What an admission tells the Worker about the team's next (calls/speculation.ts): whether its
 * calls may start upstream before their admission, the credit free after this one (`acct` as it
 * now stands) and until when (`freeUntilMs`: the grants' next change of it), how a hold is
 * priced (`price`: this call's group's, when it was read), and the room the budgets over the
 * call's job leave.
 */
export function outlookOf(
  acct: AccountRow,
  price: TokenPrice | null,
  budgets: AdmissionBudgets,
  freeUntilMs: number | null,
): AdmissionOutlook {
  return {
    speculative: acct.speculative_admission === 1,
    freeMicro: headroomMicro(acct),
    freeUntilMs,
    holds: acct.budget_mode === "job_based" ? null : { settings: settingsOf(acct), price, team: acct.overdraft === "none" },
    budgets,
  };
}

const wholeCredits = (micro: number) => Math.max(0, Math.floor(micro / MICRO_PER_CREDIT));

/** 402 when a subject's budget cannot hold what a job or call needs; names the budget and when it resets. */
export function budgetExceeded(
  label: string,
  budget: PeriodBudget,
  roomMicro: number,
  needMicro: number,
  resetsAtMs: number | null,
  what: string,
): Refusal {
  const resets = resetsAtMs === null ? "it does not reset (period total)" : `it resets at ${new Date(resetsAtMs).toISOString()}`;
  const need = Math.ceil(needMicro / MICRO_PER_CREDIT);
  return refusal(
    "BUDGET_EXCEEDED",
    `Budget exceeded: ${label} has a budget of ${budget.credits} credit(s) ${budget.period === "total" ? "in total" : `per ${budget.period}`}, ` +
      `${wholeCredits(roomMicro)} left, and ${what} needs up to ${need}; ${resets}`,
  );
}
