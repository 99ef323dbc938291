import { DurableObject } from "cloudflare:workers";
import {
  type BudgetMode,
  type BudgetSettings,
  clientCostNano,
  completionCharge,
  JOB_RESERVATION_CREDITS,
  jobHoldMicro,
  MICRO_PER_CREDIT,
  nanoToUsd,
} from "./money";
import { RequestRate } from "./rate-limit";
import { LEDGER_MIGRATIONS } from "./storage-schema";
import type {
  AccountInit,
  Balance,
  CallAdmission,
  CallRecord,
  CompletionStatus,
  CompletionSummary,
  JobCreated,
  JobStatus,
  JobView,
  LedgerEntry,
  LedgerErrorCode,
  LedgerResult,
  Page,
  TeamStatus,
  UsageReport,
  UsageTotals,
} from "./types";

/** Who is asking: a team key is refused while its team is suspended; the admin is not. */
export type Caller = "team" | "admin";

type AccountRow = {
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
};

type JobRow = {
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
};

type CallRow = {
  call_id: string;
  model_group: string;
  purpose: string | null;
  status: "success" | "failed" | "aborted";
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  client_cost_nano: number;
  usage_estimated: number;
  latency_ms: number;
  error: string | null;
  stream: number;
  created_at: string;
};

type UsageRow = {
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
  client_cost_nano: number;
};

const OPEN_STATUSES: ReadonlySet<JobStatus> = new Set(["pending", "in_progress"]);

type Refusal = Extract<LedgerResult<never>, { ok: false }>;

function fail(code: LedgerErrorCode, detail: string): Refusal {
  return { ok: false, code, detail };
}

function ok<T>(value: T): LedgerResult<T> {
  return { ok: true, value };
}

function isoNow(ms = Date.now()): string {
  return new Date(ms).toISOString();
}

/**
 * One object per team: the only place where a team's balance, reservations, jobs, calls and
 * ledger change. Every method that checks and then changes money does so synchronously, with
 * no await in between, so concurrent requests are serialized by the object and cannot
 * overdraw or double-charge.
 */
export class TeamLedger extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** The team's request rate (in memory: a restarted object starts with a full bucket). */
  private rate: RequestRate | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.migrate();
  }

  // ---------------------------------------------------------------- account

  openAccount(init: AccountInit): LedgerResult<Balance> {
    if (this.account()) return fail("ACCOUNT_EXISTS", `Team '${init.teamId}' already has a ledger`);
    const now = isoNow();
    this.ctx.storage.transactionSync(() => {
      this.sql.exec(
        `INSERT INTO account (id, team_id, organization_id, status, budget_mode, credits_per_dollar, tokens_per_credit,
           cost_markup_percentage, job_ttl_seconds, rate_limit_per_minute, credits_allocated, credits_used, credits_reserved, created_at)
         VALUES (1, ?, ?, 'active', ?, ?, ?, ?, ?, ?, 0, 0, 0, ?)`,
        init.teamId,
        init.organizationId,
        init.budgetMode,
        init.creditsPerDollar,
        init.tokensPerCredit,
        init.costMarkupPercentage,
        init.jobTtlSeconds,
        init.rateLimitPerMinute,
        now,
      );
      this.appendLedger("allocation", { allocated: init.creditsAllocated }, null, "Opening allocation");
    });
    return ok(this.balanceOf(this.account()!));
  }

  getBalance(caller: Caller): LedgerResult<Balance> {
    const acct = this.account();
    if (!acct) return this.missingAccount();
    const refusal = this.refuseSuspended(acct, caller);
    if (refusal) return refusal;
    return ok(this.balanceOf(acct));
  }

  addCredits(credits: number, reason: string): LedgerResult<{ balance: Balance; transaction: LedgerEntry }> {
    const acct = this.account();
    if (!acct) return this.missingAccount();
    if (!Number.isSafeInteger(credits) || credits <= 0) return fail("INVALID_ARGUMENT", "credits must be a positive integer");
    const transaction = this.appendLedger("allocation", { allocated: credits }, null, reason);
    return ok({ balance: this.balanceOf(this.account()!), transaction });
  }

  setStatus(status: TeamStatus): LedgerResult<Balance> {
    if (!this.account()) return this.missingAccount();
    this.sql.exec("UPDATE account SET status = ? WHERE id = 1", status);
    return ok(this.balanceOf(this.account()!));
  }

  /** Changes budget settings; `rateLimitPerMinute: null` removes the limit, undefined keeps it. */
  updateSettings(
    settings: Partial<BudgetSettings> & { jobTtlSeconds?: number; rateLimitPerMinute?: number | null },
  ): LedgerResult<Balance> {
    const acct = this.account();
    if (!acct) return this.missingAccount();
    this.sql.exec(
      `UPDATE account SET budget_mode = ?, credits_per_dollar = ?, tokens_per_credit = ?, cost_markup_percentage = ?,
         job_ttl_seconds = ?, rate_limit_per_minute = ? WHERE id = 1`,
      settings.budgetMode ?? acct.budget_mode,
      settings.creditsPerDollar ?? acct.credits_per_dollar,
      settings.tokensPerCredit ?? acct.tokens_per_credit,
      settings.costMarkupPercentage ?? acct.cost_markup_percentage,
      settings.jobTtlSeconds ?? acct.job_ttl_seconds,
      settings.rateLimitPerMinute === undefined ? acct.rate_limit_per_minute : settings.rateLimitPerMinute,
    );
    this.recomputeHolds();
    return ok(this.balanceOf(this.account()!));
  }

  /** After a change of budget settings, what each open job holds is worked out again under the new ones. */
  private recomputeHolds(): void {
    const settings = this.settings(this.account()!);
    this.ctx.storage.transactionSync(() => {
      let total = 0;
      for (const job of this.sql.exec<JobRow>("SELECT * FROM jobs WHERE status IN ('pending', 'in_progress')").toArray()) {
        const hold = jobHoldMicro(settings, job.reserved, job.client_cost_nano, job.total_tokens);
        if (hold !== job.hold_micro) this.sql.exec("UPDATE jobs SET hold_micro = ? WHERE job_id = ?", hold, job.job_id);
        total += hold;
      }
      this.sql.exec("UPDATE account SET open_jobs_hold_micro = ? WHERE id = 1", total);
    });
  }

  /** Erases the team's ledger (the team is being deleted); its id may later be reused. */
  async closeAccount(): Promise<LedgerResult<null>> {
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.migrate();
    return ok(null);
  }

  listTransactions(caller: Caller, limit: number, offset: number): LedgerResult<Page<LedgerEntry>> {
    const acct = this.account();
    if (!acct) return this.missingAccount();
    const refusal = this.refuseSuspended(acct, caller);
    if (refusal) return refusal;
    const rows = this.sql
      .exec<Omit<LedgerEntry, "team_id">>(
        `SELECT transaction_id, kind, amount, reserved_change, balance_before, balance_after, job_id, reason, created_at
         FROM ledger ORDER BY seq DESC LIMIT ? OFFSET ?`,
        limit + 1,
        offset,
      )
      .toArray();
    return ok(
      this.page(
        rows.map((r) => ({ ...r, team_id: acct.team_id })),
        limit,
        offset,
      ),
    );
  }

  // ---------------------------------------------------------------- jobs

  /** Opens a job and reserves its minimum charge. Refused with nothing available. */
  async createJob(input: {
    jobId: string;
    jobType: string;
    userId: string | null;
    metadata: Record<string, unknown>;
  }): Promise<LedgerResult<JobCreated>> {
    const acct = this.account();
    if (!acct) return this.missingAccount();
    const refusal = this.refuseInactive(acct);
    if (refusal) return refusal;
    const headroomMicro = this.headroomMicro(acct);
    if (headroomMicro < JOB_RESERVATION_CREDITS * MICRO_PER_CREDIT) {
      const available = Math.max(0, Math.floor(headroomMicro / MICRO_PER_CREDIT));
      return fail(
        "INSUFFICIENT_CREDITS",
        `Insufficient credits: ${available} available, ${JOB_RESERVATION_CREDITS} required to open a job`,
      );
    }
    if (this.job(input.jobId)) return fail("JOB_EXISTS", `Job '${input.jobId}' already exists`);

    const nowMs = Date.now();
    const createdAt = isoNow(nowMs);
    const expiresAtMs = nowMs + acct.job_ttl_seconds * 1000;
    const created: JobCreated = {
      job_id: input.jobId,
      team_id: acct.team_id,
      job_type: input.jobType,
      status: "pending",
      created_at: createdAt,
      expires_at: isoNow(expiresAtMs),
    };
    this.ctx.storage.transactionSync(() => {
      this.sql.exec(
        `INSERT INTO jobs (job_id, job_type, user_id, status, metadata, created_at, expires_at, expires_at_ms, reserved, hold_micro)
         VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?)`,
        input.jobId,
        input.jobType,
        input.userId,
        JSON.stringify(input.metadata),
        createdAt,
        created.expires_at,
        expiresAtMs,
        JOB_RESERVATION_CREDITS,
        JOB_RESERVATION_CREDITS * MICRO_PER_CREDIT,
      );
      this.sql.exec(
        "UPDATE account SET open_jobs_hold_micro = open_jobs_hold_micro + ? WHERE id = 1",
        JOB_RESERVATION_CREDITS * MICRO_PER_CREDIT,
      );
      this.appendLedger("reservation", { reserved: JOB_RESERVATION_CREDITS }, input.jobId, `Reservation for job ${input.jobType}`);
      this.bumpUsage(createdAt, input.jobType, { jobs: 1 });
    });
    await this.scheduleExpiry(expiresAtMs);
    return ok(created);
  }

  /**
   * Admits one LLM call in a job: the job must be open and the team active; in the consumption
   * modes, a job past its reservation may go on only while the team has headroom left.
   */
  beginCall(jobId: string, modelGroup: string): LedgerResult<CallAdmission> {
    const acct = this.account();
    if (!acct) return this.missingAccount();
    const refusal = this.refuseInactive(acct);
    if (refusal) return refusal;
    const job = this.job(jobId);
    if (!job) return this.jobNotFound(jobId);
    if (!OPEN_STATUSES.has(job.status)) return fail("JOB_FINISHED", `Job '${jobId}' is ${job.status}; no more calls can be made in it`);
    if (acct.budget_mode !== "job_based") {
      // What this job may still consume: what is left of its own reservation, plus the team's
      // headroom beyond everything the open jobs (this one included) already hold.
      const ownRoomMicro = Math.max(0, job.reserved * MICRO_PER_CREDIT - this.consumedMicro(acct, job));
      if (ownRoomMicro + this.headroomMicro(acct) <= 0) {
        return fail("INSUFFICIENT_CREDITS", "Insufficient credits: the team's available credits are used up by its open jobs");
      }
    }
    // Admission is read-only once a job is running and knows the group: the hot path writes nothing.
    const groups: string[] = JSON.parse(job.model_groups_used);
    if (job.status === "pending" || !groups.includes(modelGroup)) {
      if (!groups.includes(modelGroup)) groups.push(modelGroup);
      this.sql.exec(
        `UPDATE jobs SET status = 'in_progress', started_at = COALESCE(started_at, ?), model_groups_used = ? WHERE job_id = ?`,
        isoNow(),
        JSON.stringify(groups),
        jobId,
      );
    }
    return ok({ jobType: job.job_type, userId: job.user_id, markupPercentage: acct.cost_markup_percentage });
  }

  /** Records the outcome of a call admitted by beginCall, whatever it was. */
  recordCall(jobId: string, call: CallRecord): LedgerResult<{ call_id: string; client_cost_usd: number }> {
    const acct = this.account();
    if (!acct) return this.missingAccount();
    const job = this.job(jobId);
    if (!job) return this.jobNotFound(jobId);
    const settings = this.settings(acct);
    const clientNano = call.providerCostNano === null ? 0 : clientCostNano(call.providerCostNano, settings.costMarkupPercentage);
    const succeeded = call.status === "success";
    this.ctx.storage.transactionSync(() => {
      const now = isoNow();
      this.sql.exec(
        `INSERT INTO calls (call_id, job_id, model_group, model_used, attempts, purpose, status, prompt_tokens, completion_tokens,
           total_tokens, provider_cost_nano, client_cost_nano, cost_source, usage_estimated, latency_ms, error, stream, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        call.callId,
        jobId,
        call.modelGroup,
        call.modelUsed,
        JSON.stringify(call.attempts),
        call.purpose,
        call.status,
        call.promptTokens,
        call.completionTokens,
        call.totalTokens,
        call.providerCostNano,
        clientNano,
        call.costSource,
        call.usageEstimated ? 1 : 0,
        Math.round(call.latencyMs),
        call.error,
        call.stream ? 1 : 0,
        now,
      );
      this.sql.exec(
        `UPDATE jobs SET total_calls = total_calls + 1, successful_calls = successful_calls + ?, failed_calls = failed_calls + ?,
           prompt_tokens = prompt_tokens + ?, completion_tokens = completion_tokens + ?, total_tokens = total_tokens + ?,
           provider_cost_nano = provider_cost_nano + ?, client_cost_nano = client_cost_nano + ?,
           latency_sum_ms = latency_sum_ms + ?, latency_count = latency_count + 1 WHERE job_id = ?`,
        succeeded ? 1 : 0,
        succeeded ? 0 : 1,
        call.promptTokens,
        call.completionTokens,
        call.totalTokens,
        call.providerCostNano ?? 0,
        clientNano,
        Math.round(call.latencyMs),
        jobId,
      );
      this.bumpUsage(job.created_at, job.job_type, {
        calls: 1,
        prompt_tokens: call.promptTokens,
        completion_tokens: call.completionTokens,
        total_tokens: call.totalTokens,
        client_cost_nano: clientNano,
      });
      const updated = this.job(jobId)!;
      if (OPEN_STATUSES.has(updated.status)) {
        // In job_based mode a job holds exactly its reservation whatever it consumes.
        if (settings.budgetMode === "job_based") return;
        const hold = jobHoldMicro(settings, updated.reserved, updated.client_cost_nano, updated.total_tokens);
        this.sql.exec("UPDATE jobs SET hold_micro = ? WHERE job_id = ?", hold, jobId);
        this.sql.exec("UPDATE account SET open_jobs_hold_micro = open_jobs_hold_micro + ? WHERE id = 1", hold - updated.hold_micro);
      } else if (updated.status === "completed" && updated.credit_applied && !updated.refunded) {
        // The call finished after its job was completed: charge whatever it adds, so no usage goes unbilled.
        const due = completionCharge(settings, updated.client_cost_nano, updated.total_tokens) - updated.credits_charged;
        if (due > 0) {
          this.appendLedger("deduction", { used: due }, jobId, `Late call ${call.callId} after job completion`);
          this.sql.exec("UPDATE jobs SET credits_charged = credits_charged + ? WHERE job_id = ?", due, jobId);
          this.bumpUsage(job.created_at, job.job_type, { credits_charged: due });
        }
      }
    });
    return ok({ call_id: call.callId, client_cost_usd: nanoToUsd(clientNano) });
  }

  /**
   * Ends a job. `completed` turns the reservation into the charge, exactly once; `failed` and
   * `cancelled` release it. Completing again with the same status replays the stored summary.
   */
  completeJob(input: {
    jobId: string;
    status: CompletionStatus;
    errorMessage: string | null;
    metadata: Record<string, unknown> | null;
  }): LedgerResult<CompletionSummary> {
    const acct = this.account();
    if (!acct) return this.missingAccount();
    const suspended = this.refuseSuspended(acct, "team");
    if (suspended) return suspended;
    const job = this.job(input.jobId);
    if (!job) return this.jobNotFound(input.jobId);
    if (job.summary !== null) {
      if (job.status === input.status) return ok(JSON.parse(job.summary) as CompletionSummary);
      return fail("JOB_STATUS_CONFLICT", `Job '${input.jobId}' is already ${job.status}; it cannot become ${input.status}`);
    }
    if (!OPEN_STATUSES.has(job.status)) {
      return fail("JOB_STATUS_CONFLICT", `Job '${input.jobId}' is ${job.status}; it cannot become ${input.status}`);
    }

    const settings = this.settings(acct);
    const charge = input.status === "completed" ? completionCharge(settings, job.client_cost_nano, job.total_tokens) : 0;
    const completedAt = isoNow();
    let summary!: CompletionSummary;
    this.ctx.storage.transactionSync(() => {
      if (charge > 0) {
        this.appendLedger(
          "deduction",
          { used: charge, reserved: -job.reserved },
          job.job_id,
          `Job ${job.job_type} completed (${settings.budgetMode}: ${charge} credit${charge === 1 ? "" : "s"})`,
        );
      } else {
        this.appendLedger("release", { reserved: -job.reserved }, job.job_id, `Job ${job.job_type} ${input.status}: reservation released`);
      }
      this.sql.exec("UPDATE account SET open_jobs_hold_micro = open_jobs_hold_micro - ? WHERE id = 1", job.hold_micro);
      const metadata = input.metadata ? { ...JSON.parse(job.metadata), ...input.metadata } : JSON.parse(job.metadata);
      const after = this.account()!;
      summary = {
        job_id: job.job_id,
        status: input.status,
        completed_at: completedAt,
        costs: {
          ...this.costsOf(job),
          credit_applied: charge > 0,
          credits_charged: charge,
          credits_remaining: after.credits_allocated - after.credits_used,
        },
        calls: this.callRows(job.job_id).map((c) => ({
          call_id: c.call_id,
          purpose: c.purpose,
          model_group: c.model_group,
          tokens: c.total_tokens,
          latency_ms: c.latency_ms,
          error: c.error,
        })),
      };
      this.sql.exec(
        `UPDATE jobs SET status = ?, completed_at = ?, error_message = ?, metadata = ?, credit_applied = ?, credits_charged = ?,
           hold_micro = 0, summary = ? WHERE job_id = ?`,
        input.status,
        completedAt,
        input.errorMessage,
        JSON.stringify(metadata),
        charge > 0 ? 1 : 0,
        charge,
        JSON.stringify(summary),
        job.job_id,
      );
      this.bumpUsage(job.created_at, job.job_type, {
        [input.status]: 1,
        credits_charged: charge,
      });
    });
    return ok(summary);
  }

  /** Gives back what a completed job was charged, once. */
  refundJob(jobId: string, reason: string): LedgerResult<{ transaction: LedgerEntry; balance: Balance }> {
    const acct = this.account();
    if (!acct) return this.missingAccount();
    const job = this.job(jobId);
    if (!job) return this.jobNotFound(jobId);
    if (job.refunded) return fail("ALREADY_REFUNDED", `Job '${jobId}' has already been refunded`);
    if (job.status !== "completed" || job.credits_charged === 0)
      return fail("JOB_NOT_CHARGED", `Job '${jobId}' was not charged; there is nothing to refund`);
    let transaction!: LedgerEntry;
    this.ctx.storage.transactionSync(() => {
      transaction = this.appendLedger("refund", { used: -job.credits_charged }, jobId, reason);
      this.sql.exec("UPDATE jobs SET refunded = 1 WHERE job_id = ?", jobId);
      this.bumpUsage(job.created_at, job.job_type, { credits_charged: -job.credits_charged });
    });
    return ok({ transaction, balance: this.balanceOf(this.account()!) });
  }

  getJob(caller: Caller, jobId: string): LedgerResult<JobView> {
    const acct = this.account();
    if (!acct) return this.missingAccount();
    const refusal = this.refuseSuspended(acct, caller);
    if (refusal) return refusal;
    const job = this.job(jobId);
    if (!job) return this.jobNotFound(jobId);
    return ok(this.viewOf(acct, job, this.callRows(jobId)));
  }

  listJobs(
    caller: Caller,
    filter: { status?: JobStatus; jobType?: string; limit: number; offset: number },
  ): LedgerResult<Page<Omit<JobView, "calls">>> {
    const acct = this.account();
    if (!acct) return this.missingAccount();
    const refusal = this.refuseSuspended(acct, caller);
    if (refusal) return refusal;
    const rows = this.sql
      .exec<JobRow>(
        `SELECT * FROM jobs WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR job_type = ?2)
         ORDER BY created_at DESC, job_id LIMIT ?3 OFFSET ?4`,
        filter.status ?? null,
        filter.jobType ?? null,
        filter.limit + 1,
        filter.offset,
      )
      .toArray();
    return ok(
      this.page(
        rows.map((j) => {
          const { calls: _calls, ...view } = this.viewOf(acct, j, []);
          return view;
        }),
        filter.limit,
        filter.offset,
      ),
    );
  }

  /** A month's usage from the aggregates kept as jobs and calls happen: as cheap with a million jobs as with ten. */
  usage(caller: Caller, period: string): LedgerResult<UsageReport> {
    const acct = this.account();
    if (!acct) return this.missingAccount();
    const refusal = this.refuseSuspended(acct, caller);
    if (refusal) return refusal;
    const rows = this.sql
      .exec<UsageRow & { job_type: string }>("SELECT * FROM usage_monthly WHERE period = ? ORDER BY job_type", period)
      .toArray();
    const present = (r: UsageRow): UsageTotals => ({
      jobs: r.jobs,
      completed: r.completed,
      failed: r.failed,
      cancelled: r.cancelled,
      expired: r.expired,
      calls: r.calls,
      credits_charged: r.credits_charged,
      prompt_tokens: r.prompt_tokens,
      completion_tokens: r.completion_tokens,
      total_tokens: r.total_tokens,
      client_cost_usd: nanoToUsd(r.client_cost_nano),
    });
    const total: UsageRow = {
      jobs: 0,
      completed: 0,
      failed: 0,
      cancelled: 0,
      expired: 0,
      calls: 0,
      credits_charged: 0,
      prompt_tokens: 0,
      completion_tokens: 0,
      total_tokens: 0,
      client_cost_nano: 0,
    };
    for (const r of rows) for (const k of Object.keys(total) as Array<keyof UsageRow>) total[k] += r[k];
    return ok({
      team_id: acct.team_id,
      period,
      summary: present(total),
      job_types: Object.fromEntries(rows.map((r) => [r.job_type, present(r)])),
    });
  }

  // ---------------------------------------------------------------- expiry

  /** Expires open jobs past their time-to-live: released, never charged. Safe to run twice. */
  async alarm(): Promise<void> {
    const nowMs = Date.now();
    this.ctx.storage.transactionSync(() => {
      const stale = this.sql
        .exec<JobRow>("SELECT * FROM jobs WHERE status IN ('pending', 'in_progress') AND expires_at_ms <= ?", nowMs)
        .toArray();
      for (const job of stale) {
        this.appendLedger("release", { reserved: -job.reserved }, job.job_id, `Job ${job.job_type} expired: reservation released`);
        this.sql.exec("UPDATE account SET open_jobs_hold_micro = open_jobs_hold_micro - ? WHERE id = 1", job.hold_micro);
        this.sql.exec(
          "UPDATE jobs SET status = 'expired', completed_at = ?, hold_micro = 0, error_message = 'Job expired before completion' WHERE job_id = ?",
          isoNow(nowMs),
          job.job_id,
        );
        this.bumpUsage(job.created_at, job.job_type, { expired: 1 });
      }
    });
    const next = this.sql
      .exec<{ next: number | null }>("SELECT MIN(expires_at_ms) AS next FROM jobs WHERE status IN ('pending', 'in_progress')")
      .one().next;
    if (next !== null) await this.ctx.storage.setAlarm(next);
  }

  // ---------------------------------------------------------------- internals

  private migrate(): void {
    this.sql.exec("CREATE TABLE IF NOT EXISTS _ledger_migrations (id INTEGER PRIMARY KEY)");
    const applied = new Set(
      this.sql
        .exec<{ id: number }>("SELECT id FROM _ledger_migrations")
        .toArray()
        .map((r) => r.id),
    );
    for (const migration of LEDGER_MIGRATIONS) {
      if (applied.has(migration.id)) continue;
      this.ctx.storage.transactionSync(() => {
        this.sql.exec(migration.sql);
        this.sql.exec("INSERT INTO _ledger_migrations (id) VALUES (?)", migration.id);
      });
    }
  }

  private async scheduleExpiry(expiresAtMs: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > expiresAtMs) await this.ctx.storage.setAlarm(expiresAtMs);
  }

  private account(): AccountRow | null {
    return this.sql.exec<AccountRow>("SELECT * FROM account WHERE id = 1").toArray()[0] ?? null;
  }

  private job(jobId: string): JobRow | null {
    return this.sql.exec<JobRow>("SELECT * FROM jobs WHERE job_id = ?", jobId).toArray()[0] ?? null;
  }

  private callRows(jobId: string): CallRow[] {
    return this.sql
      .exec<CallRow>(
        `SELECT call_id, model_group, purpose, status, prompt_tokens, completion_tokens, total_tokens, client_cost_nano,
           usage_estimated, latency_ms, error, stream, created_at FROM calls WHERE job_id = ? ORDER BY seq`,
        jobId,
      )
      .toArray();
  }

  /** Credits, in micro-credits, the team has beyond everything its open jobs hold (negative after an overrun). */
  private headroomMicro(acct: AccountRow): number {
    return (acct.credits_allocated - acct.credits_used) * MICRO_PER_CREDIT - acct.open_jobs_hold_micro;
  }

  /** What a job has consumed so far, in micro-credits (0 in job_based mode). */
  private consumedMicro(acct: AccountRow, job: JobRow): number {
    return jobHoldMicro(this.settings(acct), 0, job.client_cost_nano, job.total_tokens);
  }

  private settings(acct: AccountRow): BudgetSettings {
    return {
      budgetMode: acct.budget_mode,
      creditsPerDollar: acct.credits_per_dollar,
      tokensPerCredit: acct.tokens_per_credit,
      costMarkupPercentage: acct.cost_markup_percentage,
    };
  }

  /** Writes one ledger row and applies it to the account, in the caller's transaction. */
  private appendLedger(
    kind: LedgerEntry["kind"],
    change: { allocated?: number; used?: number; reserved?: number },
    jobId: string | null,
    reason: string,
  ): LedgerEntry {
    const acct = this.account()!;
    const before = acct.credits_allocated - acct.credits_used;
    const amount = (change.allocated ?? 0) - (change.used ?? 0);
    const entry: LedgerEntry = {
      transaction_id: crypto.randomUUID(),
      team_id: acct.team_id,
      kind,
      amount,
      reserved_change: change.reserved ?? 0,
      balance_before: before,
      balance_after: before + amount,
      job_id: jobId,
      reason,
      created_at: isoNow(),
    };
    this.sql.exec(
      `UPDATE account SET credits_allocated = credits_allocated + ?, credits_used = credits_used + ?,
         credits_reserved = credits_reserved + ? WHERE id = 1`,
      change.allocated ?? 0,
      change.used ?? 0,
      change.reserved ?? 0,
    );
    this.sql.exec(
      `INSERT INTO ledger (transaction_id, kind, amount, reserved_change, balance_before, balance_after, job_id, reason, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      entry.transaction_id,
      kind,
      entry.amount,
      entry.reserved_change,
      entry.balance_before,
      entry.balance_after,
      jobId,
      reason,
      entry.created_at,
    );
    return entry;
  }

  private bumpUsage(createdAt: string, jobType: string, delta: Record<string, number>): void {
    const period = createdAt.slice(0, 7);
    const columns = Object.keys(delta);
    this.sql.exec(
      `INSERT INTO usage_monthly (period, job_type, ${columns.join(", ")}) VALUES (?, ?, ${columns.map(() => "?").join(", ")})
       ON CONFLICT (period, job_type) DO UPDATE SET ${columns.map((c) => `${c} = ${c} + excluded.${c}`).join(", ")}`,
      period,
      jobType,
      ...columns.map((c) => delta[c]),
    );
  }

  private balanceOf(acct: AccountRow): Balance {
    const remaining = acct.credits_allocated - acct.credits_used;
    return {
      team_id: acct.team_id,
      organization_id: acct.organization_id,
      credits_allocated: acct.credits_allocated,
      credits_used: acct.credits_used,
      credits_remaining: remaining,
      credits_reserved: acct.credits_reserved,
      credits_available: remaining - acct.credits_reserved,
      budget_mode: acct.budget_mode,
      credits_per_dollar: acct.credits_per_dollar,
      tokens_per_credit: acct.tokens_per_credit,
      cost_markup_percentage: acct.cost_markup_percentage,
      job_ttl_seconds: acct.job_ttl_seconds,
      rate_limit_per_minute: acct.rate_limit_per_minute,
      status: acct.status,
    };
  }

  private costsOf(job: JobRow) {
    return {
      total_calls: job.total_calls,
      successful_calls: job.successful_calls,
      failed_calls: job.failed_calls,
      total_tokens: job.total_tokens,
      total_cost_usd: nanoToUsd(job.client_cost_nano),
      avg_latency_ms: job.latency_count === 0 ? 0 : Math.round(job.latency_sum_ms / job.latency_count),
    };
  }

  private viewOf(acct: AccountRow, job: JobRow, calls: CallRow[]): JobView {
    return {
      job_id: job.job_id,
      team_id: acct.team_id,
      job_type: job.job_type,
      user_id: job.user_id,
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
      costs: this.costsOf(job),
      calls: calls.map((c) => ({
        call_id: c.call_id,
        purpose: c.purpose,
        model_group: c.model_group,
        status: c.status,
        prompt_tokens: c.prompt_tokens,
        completion_tokens: c.completion_tokens,
        total_tokens: c.total_tokens,
        cost_usd: nanoToUsd(c.client_cost_nano),
        usage_estimated: c.usage_estimated === 1,
        latency_ms: c.latency_ms,
        error: c.error,
        stream: c.stream === 1,
        created_at: c.created_at,
      })),
    };
  }

  private page<T>(rows: T[], limit: number, offset: number): Page<T> {
    return { items: rows.slice(0, limit), limit, offset, has_more: rows.length > limit };
  }

  private refuseSuspended(acct: AccountRow, caller: Caller): Refusal | null {
    if (caller === "team" && acct.status === "suspended") {
      return fail("TEAM_SUSPENDED", `Team '${acct.team_id}' is suspended`);
    }
    return null;
  }

  private refuseInactive(acct: AccountRow): Refusal | null {
    const suspended = this.refuseSuspended(acct, "team");
    if (suspended) return suspended;
    if (acct.status === "paused") return fail("TEAM_PAUSED", `Team '${acct.team_id}' is paused: new jobs and calls are refused`);
    return this.refuseOverRate(acct);
  }

  /** New jobs and calls beyond the team's rate: 429 with the seconds until one more is allowed. */
  private refuseOverRate(acct: AccountRow): Refusal | null {
    const limit = acct.rate_limit_per_minute;
    if (limit === null) return null;
    const now = Date.now();
    if (this.rate?.perMinute !== limit) this.rate = new RequestRate(limit, now);
    const taken = this.rate.take(now);
    if (taken.ok) return null;
    return {
      ...fail("RATE_LIMITED", `Rate limit of ${limit} new jobs and calls per minute reached; retry in ${taken.retryAfterSeconds} s`),
      retryAfterSeconds: taken.retryAfterSeconds,
    };
  }

  private missingAccount(): Refusal {
    return fail("ACCOUNT_NOT_FOUND", "Team not found");
  }

  private jobNotFound(jobId: string): Refusal {
    return fail("JOB_NOT_FOUND", `Job '${jobId}' not found`);
  }
}
