import { DurableObject } from "cloudflare:workers";
import {
  accountNotFound,
  type Caller,
  completionOf,
  jobNotFound,
  OPEN_STATUSES,
  ok,
  type Refusal,
  rateLimited,
  refusal,
  refuseCall,
  refuseCallsPage,
  refuseInactive,
  refuseNewJob,
  refuseNotOwner,
  refuseRefund,
  refuseSuspended,
  settingsOf,
} from "./admission";
import { cappedToHold, captureCallHold, chargeWithinBalance, exposureOf, placeCallHold, refreshExposure } from "./call-holds";
import { HoldStore } from "./hold-store";
import { type CallBudget, type Overdraft, TokenRate, type UnpricedCalls } from "./holds";
import {
  type BudgetSettings,
  clientCostNano,
  completionCharge,
  consumedCredits,
  JOB_RESERVATION_CREDITS,
  MICRO_PER_CREDIT,
  nanoToUsd,
} from "./money";
import { type Operation, OperationLog, type OperationMethod, operationMismatch, type Recalled } from "./operations";
import { RequestRate } from "./rate-limit";
import type { AccountRow } from "./rows";
import { isoNow, LedgerStore } from "./storage";
import type {
  AccountInit,
  Balance,
  CallAdmission,
  CallRecord,
  CallsPage,
  CompletionStatus,
  CompletionSummary,
  JobCreated,
  JobOwner,
  JobStatus,
  JobView,
  JobWithCalls,
  LedgerEntry,
  LedgerResult,
  Page,
  StoredCompletion,
  TeamStatus,
  UsageReport,
} from "./types";
import {
  balanceOf,
  CALLS_PAGE_DEFAULT,
  COMPLETION_CALLS_SHOWN,
  completionAnswerOf,
  completionSummaryOf,
  jobListingOf,
  jobViewOf,
  pageOf,
  usageReportOf,
} from "./views";

export type { Caller } from "./admission";

type SettingsChange = Partial<BudgetSettings> & {
  jobTtlSeconds?: number;
  rateLimitPerMinute?: number | null;
  overdraft?: Overdraft;
  unpricedCalls?: UnpricedCalls;
  tpmLimit?: number | null;
};
type NewJob = { jobId: string; jobType: string; userId: string | null; metadata: Record<string, unknown>; owner?: JobOwner };
/** `closedBy` (default: the team) is who asks; a job the gateway opened only it can close. */
type Completion = {
  jobId: string;
  status: CompletionStatus;
  errorMessage: string | null;
  metadata: Record<string, unknown> | null;
  closedBy?: JobOwner;
};

/**
 * One object per team: the only place where a team's balance, reservations, jobs, calls and
 * ledger change. Every method that checks and then changes money does so synchronously, with
 * no await in between, so concurrent requests are serialized by the object and cannot
 * overdraw or double-charge. The rules are in admission.ts, the SQL in storage.ts, what is
 * shown in views.ts; the methods here put them together.
 */
export class TeamLedger extends DurableObject<Env> {
  private readonly store: LedgerStore;
  private readonly operations: OperationLog;
  /** The team's request rate (in memory: a restarted object starts with a full bucket). */
  private rate: RequestRate | undefined;
  /** The team's tokens per minute (in memory, like the rate). */
  private tokenRate: TokenRate | undefined;
  private readonly holds: HoldStore;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new LedgerStore(ctx.storage);
    this.store.migrate();
    this.operations = new OperationLog(ctx.storage.sql);
    this.holds = new HoldStore(ctx.storage.sql);
  }

  /** Runs a money change once per operation id (see operations.ts); a repeat returns the first result. */
  private once<T>(method: OperationMethod, operation: Operation, args: unknown, change: () => LedgerResult<T>) {
    return this.operations.applyOnce((write) => this.store.transaction(write), method, operation, args, change);
  }

  /** What an applied operation answered, and the text kept with it (null if it never ran or was forgotten). */
  recall(operationId: string, method: OperationMethod, args?: unknown): Promise<LedgerResult<Recalled | null>> {
    return this.operations.recall(operationId, method, args);
  }

  // ---------------------------------------------------------------- account

  openAccount(init: AccountInit, operation: Operation): Promise<LedgerResult<Balance>> {
    return this.once("openAccount", operation, init, () => {
      if (this.store.account()) return refusal("ACCOUNT_EXISTS", `Team '${init.teamId}' already has a ledger`);
      this.store.insertAccount(init, isoNow());
      this.store.appendLedger("allocation", { allocated: init.creditsAllocated }, null, "Opening allocation");
      return ok(balanceOf(this.store.account()!, "admin"));
    });
  }

  getBalance(caller: Caller): LedgerResult<Balance> {
    const acct = this.store.account();
    if (!acct) return accountNotFound();
    return refuseSuspended(acct, caller) ?? ok(balanceOf(acct, caller));
  }

  addCredits(credits: number, reason: string, operation: Operation): Promise<LedgerResult<{ balance: Balance; transaction: LedgerEntry }>> {
    return this.once("addCredits", operation, { credits, reason }, () => {
      if (!this.store.account()) return accountNotFound();
      if (!Number.isSafeInteger(credits) || credits <= 0) return refusal("INVALID_ARGUMENT", "credits must be a positive integer");
      const transaction = this.store.appendLedger("allocation", { allocated: credits }, null, reason);
      return ok({ balance: balanceOf(this.store.account()!, "admin"), transaction });
    });
  }

  setStatus(status: TeamStatus): LedgerResult<Balance> {
    if (!this.store.account()) return accountNotFound();
    this.store.setStatus(status);
    return ok(balanceOf(this.store.account()!, "admin"));
  }

  /** Changes budget settings; `rateLimitPerMinute: null` removes the limit, undefined keeps it. */
  updateSettings(settings: SettingsChange, operation: Operation): Promise<LedgerResult<Balance>> {
    return this.once("updateSettings", operation, settings, () => this.applySettings(settings));
  }

  private applySettings(settings: SettingsChange) {
    const acct = this.store.account();
    if (!acct) return accountNotFound();
    this.store.updateSettings({
      ...acct,
      budget_mode: settings.budgetMode ?? acct.budget_mode,
      credits_per_dollar: settings.creditsPerDollar ?? acct.credits_per_dollar,
      tokens_per_credit: settings.tokensPerCredit ?? acct.tokens_per_credit,
      cost_markup_percentage: settings.costMarkupPercentage ?? acct.cost_markup_percentage,
      job_ttl_seconds: settings.jobTtlSeconds ?? acct.job_ttl_seconds,
      rate_limit_per_minute: settings.rateLimitPerMinute === undefined ? acct.rate_limit_per_minute : settings.rateLimitPerMinute,
      overdraft: settings.overdraft ?? acct.overdraft,
      unpriced_calls: settings.unpricedCalls ?? acct.unpriced_calls,
      tpm_limit: settings.tpmLimit === undefined ? acct.tpm_limit : settings.tpmLimit,
    });
    // What each open job holds is worked out again under the new settings (a call's own hold keeps its amount).
    const updated = this.store.account()!;
    this.store.resetOpenJobHolds((job) => exposureOf(updated, job));
    return ok(balanceOf(this.store.account()!, "admin"));
  }

  /** Erases the team's ledger (the team is being deleted); its id may later be reused. */
  async closeAccount(): Promise<LedgerResult<null>> {
    await this.ctx.storage.deleteAlarm();
    await this.store.eraseAll();
    this.store.migrate();
    return ok(null);
  }

  listTransactions(caller: Caller, limit: number, offset: number): LedgerResult<Page<LedgerEntry>> {
    const acct = this.store.account();
    if (!acct) return accountNotFound();
    const refused = refuseSuspended(acct, caller);
    if (refused) return refused;
    const rows = this.store.ledgerRows(limit, offset).map((r) => ({ ...r, team_id: acct.team_id }));
    return ok(pageOf(rows, limit, offset));
  }

  // ---------------------------------------------------------------- jobs

  /** Opens a job and reserves its minimum charge. Refused with nothing available. */
  async createJob(input: NewJob & { operation: Operation }): Promise<LedgerResult<JobCreated>> {
    const { operation, jobId, ...request } = input;
    // The job id is made per request: a repeat is compared by what was asked, and gets the first job.
    const created = await this.once("createJob", operation, request, () => this.openJob({ jobId, ...request }));
    // After the money is written: the alarm only expires jobs, it never decides a charge.
    if (created.ok) await this.scheduleExpiry(Date.parse(created.value.expires_at));
    return created;
  }

  private openJob(input: NewJob) {
    const acct = this.store.account();
    if (!acct) return accountNotFound();
    const refused = this.refuseNewWork(acct) ?? refuseNewJob(acct, this.store.job(input.jobId), input.jobId);
    if (refused) return refused;

    const nowMs = Date.now();
    const expiresAtMs = nowMs + acct.job_ttl_seconds * 1000;
    const created: JobCreated = {
      job_id: input.jobId,
      team_id: acct.team_id,
      job_type: input.jobType,
      status: "pending",
      created_at: isoNow(nowMs),
      expires_at: isoNow(expiresAtMs),
    };
    const holdMicro = JOB_RESERVATION_CREDITS * MICRO_PER_CREDIT;
    this.store.insertJob({
      ...input,
      createdAt: created.created_at,
      expiresAt: created.expires_at,
      expiresAtMs,
      reserved: JOB_RESERVATION_CREDITS,
      holdMicro,
      owner: input.owner ?? "team",
    });
    this.store.addToOpenJobsHold(holdMicro);
    this.store.appendLedger("reservation", { reserved: JOB_RESERVATION_CREDITS }, input.jobId, `Reservation for job ${input.jobType}`);
    this.store.bumpUsage(created.created_at, input.jobType, { jobs: 1 });
    return ok(created);
  }

  /**
   * Admits one LLM call in a job (see refuseCall for the rules); `by` says who makes it. With a
   * budget, the call's worst case is held (holds.ts) and its tokens taken from the team's limit.
   */
  beginCall(jobId: string, modelGroup: string, by: JobOwner = "team", budget?: CallBudget): LedgerResult<CallAdmission> {
    const acct = this.store.account();
    if (!acct) return accountNotFound();
    const job = this.store.job(jobId);
    const refused = this.refuseNewWork(acct) ?? refuseNotOwner(job, by) ?? refuseCall(acct, job, jobId);
    if (refused) return refused;
    const placed = budget ? placeCallHold(this.store, this.holds, acct, job!, budget, (n) => this.takeTokens(acct, n)) : null;
    if (placed && "ok" in placed) return placed;
    // Admission is read-only once a job is running and knows the group (and nothing is held): the hot path writes nothing.
    const groups: string[] = JSON.parse(job!.model_groups_used);
    if (job!.status === "pending" || !groups.includes(modelGroup)) {
      if (!groups.includes(modelGroup)) groups.push(modelGroup);
      this.store.markJobStarted(jobId, groups);
    }
    return ok({
      jobType: job!.job_type,
      userId: job!.user_id,
      markupPercentage: acct.cost_markup_percentage,
      budgetMaxTokens: placed?.budgetMaxTokens ?? null,
    });
  }

  /** Records the outcome of a call admitted by beginCall, whatever it was; its call id is its operation id. */
  recordCall(jobId: string, call: CallRecord): LedgerResult<{ call_id: string; client_cost_usd: number }> {
    const acct = this.store.account();
    if (!acct) return accountNotFound();
    const job = this.store.job(jobId);
    if (!job) return jobNotFound(jobId);
    const recorded = this.store.recordedCall(call.callId);
    if (recorded) {
      // A repeat (the first answer was lost on the way back) changes nothing.
      if (recorded.job_id !== jobId) return operationMismatch();
      return ok({ call_id: call.callId, client_cost_usd: nanoToUsd(recorded.client_cost_nano) });
    }
    const settings = settingsOf(acct);
    const hold = this.holds.hold(call.callId);
    const priced = call.providerCostNano === null ? 0 : clientCostNano(call.providerCostNano, settings.costMarkupPercentage);
    const { call: billed, clientNano } = cappedToHold(call, priced, hold);
    this.store.transaction(() => {
      this.store.insertCall(jobId, billed, clientNano, isoNow());
      if (hold) {
        const captured = Math.round(consumedCredits(settings, clientNano, billed.totalTokens) * MICRO_PER_CREDIT);
        captureCallHold(this.store, this.holds, hold, captured);
        if (acct.tpm_limit !== null) this.tokenRate?.settle(hold.prompt_tokens + hold.max_tokens, billed.totalTokens, Date.now());
      }
      this.store.bumpUsage(job.created_at, job.job_type, {
        calls: 1,
        prompt_tokens: billed.promptTokens,
        completion_tokens: billed.completionTokens,
        total_tokens: billed.totalTokens,
        client_cost_nano: clientNano,
      });
      // What the job holds: its consumption now counts, this call's hold no longer does.
      refreshExposure(this.store, acct, jobId);
      const updated = this.store.job(jobId)!;
      if (!OPEN_STATUSES.has(updated.status) && updated.status === "completed" && updated.credit_applied && !updated.refunded) {
        // The call finished after its job was completed: charge whatever it adds, so no usage goes unbilled.
        const owed = completionCharge(settings, updated.client_cost_nano, updated.total_tokens) - updated.credits_charged;
        const due = chargeWithinBalance(this.store.account()!, owed);
        if (due > 0) {
          this.store.appendLedger("deduction", { used: due }, jobId, `Late call ${call.callId} after job completion`);
          this.store.addJobCharge(jobId, due);
          this.store.bumpUsage(job.created_at, job.job_type, { credits_charged: due });
        }
      }
    });
    return ok({ call_id: call.callId, client_cost_usd: nanoToUsd(clientNano) });
  }

  /**
   * Ends a job. `completed` turns the reservation into the charge, exactly once; `failed` and
   * `cancelled` release it. Completing again with the same status replays the stored summary.
   */
  completeJob(input: Completion & { operation: Operation }): Promise<LedgerResult<CompletionSummary>> {
    const { operation, ...request } = input;
    return this.once("completeJob", operation, request, () => this.settleJob(request));
  }

  private settleJob(input: Completion): LedgerResult<CompletionSummary> {
    const acct = this.store.account();
    if (!acct) return accountNotFound();
    const suspended = refuseSuspended(acct, "team");
    if (suspended) return suspended;
    const job = this.store.job(input.jobId);
    if (!job) return jobNotFound(input.jobId);
    const notOwner = refuseNotOwner(job, input.closedBy ?? "team");
    if (notOwner) return notOwner;
    const completion = completionOf(job, input.status);
    if (!completion.open) return "replay" in completion ? ok(this.completionAnswer(job.job_id, completion.replay)) : completion.refusal;

    const settings = settingsOf(acct);
    const charge =
      input.status === "completed" ? chargeWithinBalance(acct, completionCharge(settings, job.client_cost_nano, job.total_tokens)) : 0;
    const completedAt = isoNow();
    if (charge > 0) {
      this.store.appendLedger(
        "deduction",
        { used: charge, reserved: -job.reserved },
        job.job_id,
        `Job ${job.job_type} completed (${settings.budgetMode}: ${charge} credit${charge === 1 ? "" : "s"})`,
      );
    } else {
      this.store.appendLedger(
        "release",
        { reserved: -job.reserved },
        job.job_id,
        `Job ${job.job_type} ${input.status}: reservation released`,
      );
    }
    const metadata = input.metadata ? { ...JSON.parse(job.metadata), ...input.metadata } : JSON.parse(job.metadata);
    const after = this.store.account()!;
    const creditsRemaining = after.credits_allocated - after.credits_used;
    const callsThroughSeq = this.store.lastCallSeq(job.job_id);
    const summary = completionSummaryOf(job, { status: input.status, completedAt, charge, creditsRemaining, callsThroughSeq });
    this.store.closeJob(job.job_id, { status: input.status, completedAt, errorMessage: input.errorMessage, metadata, charge, summary });
    // A closed job still holds what its calls in flight hold, until they are recorded.
    this.store.addToOpenJobsHold(job.calls_hold_micro - job.hold_micro);
    this.store.setJobHold(job.job_id, job.calls_hold_micro);
    this.store.bumpUsage(job.created_at, job.job_type, { [input.status]: 1, credits_charged: charge });
    return ok(this.completionAnswer(job.job_id, summary));
  }

  /** A kept completion summary with the job's first calls, as completing answers it. */
  private completionAnswer(jobId: string, stored: StoredCompletion): CompletionSummary {
    const first = { limit: COMPLETION_CALLS_SHOWN, offset: 0, throughSeq: stored.calls_through_seq };
    return completionAnswerOf(stored, stored.calls ? [] : this.store.callRows(jobId, first));
  }

  /** Gives back what a completed job was charged, once. */
  refundJob(jobId: string, reason: string, operation: Operation): Promise<LedgerResult<{ transaction: LedgerEntry; balance: Balance }>> {
    return this.once("refundJob", operation, { jobId, reason }, () => {
      if (!this.store.account()) return accountNotFound();
      const job = this.store.job(jobId);
      if (!job) return jobNotFound(jobId);
      const refused = refuseRefund(job);
      if (refused) return refused;
      const transaction = this.store.appendLedger("refund", { used: -job.credits_charged }, jobId, reason);
      this.store.markJobRefunded(jobId);
      this.store.bumpUsage(job.created_at, job.job_type, { credits_charged: -job.credits_charged });
      return ok({ transaction, balance: balanceOf(this.store.account()!, "admin") });
    });
  }

  /** A job with one page of its calls (the first CALLS_PAGE_DEFAULT unless asked). */
  getJob(caller: Caller, jobId: string, calls: CallsPage = { limit: CALLS_PAGE_DEFAULT, offset: 0 }): LedgerResult<JobWithCalls> {
    const acct = this.store.account();
    if (!acct) return accountNotFound();
    const refused = refuseSuspended(acct, caller) ?? refuseCallsPage(calls);
    if (refused) return refused;
    const job = this.store.job(jobId);
    if (!job) return jobNotFound(jobId);
    const rows = this.store.callRows(jobId, calls);
    const view = jobViewOf(acct.team_id, job, rows.slice(0, calls.limit), caller);
    return ok({ ...view, calls_limit: calls.limit, calls_offset: calls.offset, calls_has_more: rows.length > calls.limit });
  }

  listJobs(
    caller: Caller,
    filter: { status?: JobStatus; jobType?: string; limit: number; offset: number },
  ): LedgerResult<Page<Omit<JobView, "calls">>> {
    const acct = this.store.account();
    if (!acct) return accountNotFound();
    const refused = refuseSuspended(acct, caller);
    if (refused) return refused;
    const rows = this.store.jobRows(filter).map((job) => jobListingOf(acct.team_id, job));
    return ok(pageOf(rows, filter.limit, filter.offset));
  }

  /** A month's usage from the aggregates kept as jobs and calls happen: as cheap with a million jobs as with ten. */
  usage(caller: Caller, period: string): LedgerResult<UsageReport> {
    const acct = this.store.account();
    if (!acct) return accountNotFound();
    const refused = refuseSuspended(acct, caller);
    if (refused) return refused;
    return ok(usageReportOf(acct.team_id, period, this.store.usageRows(period)));
  }

  // ---------------------------------------------------------------- expiry

  /** Expires open jobs past their time-to-live: released, never charged. Safe to run twice. */
  async alarm(): Promise<void> {
    const nowMs = Date.now();
    this.store.transaction(() => {
      for (const job of this.store.openJobsExpiredBy(nowMs)) {
        this.store.appendLedger("release", { reserved: -job.reserved }, job.job_id, `Job ${job.job_type} expired: reservation released`);
        this.store.expireJob(job.job_id, isoNow(nowMs));
        this.store.addToOpenJobsHold(job.calls_hold_micro - job.hold_micro);
        this.store.setJobHold(job.job_id, job.calls_hold_micro);
        this.store.bumpUsage(job.created_at, job.job_type, { expired: 1 });
      }
    });
    const next = this.store.nextExpiryMs();
    if (next !== null) await this.ctx.storage.setAlarm(next);
  }

  private async scheduleExpiry(expiresAtMs: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > expiresAtMs) await this.ctx.storage.setAlarm(expiresAtMs);
  }

  // ---------------------------------------------------------------- guard

  /**
   * The guard on new jobs and calls: the team must be active, then within its rate. The rate is
   * the object's only in-memory state, so it is checked here rather than in admission.ts.
   */
  private refuseNewWork(acct: AccountRow): Refusal | null {
    const inactive = refuseInactive(acct);
    if (inactive) return inactive;
    const limit = acct.rate_limit_per_minute;
    if (limit === null) return null;
    const now = Date.now();
    if (this.rate?.perMinute !== limit) this.rate = new RequestRate(limit, now);
    const taken = this.rate.take(now);
    return taken.ok ? null : rateLimited(limit, taken.retryAfterSeconds);
  }

  /** Takes a call's held tokens from the team's tokens-per-minute limit, if it has one. */
  private takeTokens(acct: AccountRow, count: number): Refusal | null {
    const limit = acct.tpm_limit;
    if (limit === null) return null;
    const now = Date.now();
    if (this.tokenRate?.perMinute !== limit) this.tokenRate = new TokenRate(limit, now);
    const taken = this.tokenRate.take(count, now);
    if (taken.ok) return null;
    return {
      ...refusal(
        "RATE_LIMITED",
        `Tokens-per-minute limit of ${limit} reached (this call may use ${count}); retry in ${taken.retryAfterSeconds} s`,
      ),
      retryAfterSeconds: taken.retryAfterSeconds,
    };
  }
}
