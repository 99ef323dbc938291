import { DEFAULT_GRANT_NOTICE_SECONDS } from "../../schemas/grants";
import type { AccountRow, JobRow, ModelUsageRow, UsageRow } from "../rows";
import type { AccountInit, CallRecord, CompletionStatus, GrantSplit, JobOwner, LedgerEntry, TeamStatus } from "../types";
import { addCallToTotals, type HitSavings, insertCall } from "./calls-table";
import { migrateLedger } from "./migrate";
import { guardedStorage, RowCache } from "./row-cache";
import { bumpDailyUsage, bumpLabelUsage, bumpModelUsage } from "./usage-store";

// The SQL statements of a team's ledger: the reads and writes the TeamLedger object makes (its
// paged history reads are in pages.ts, holds in hold-store.ts, usage in usage-store.ts).
// Nothing here decides anything; it runs inside the object, synchronously. The account and the
// jobs in use are kept in memory (row-cache.ts): read from SQLite once, then written through.

/** A signed change to the account's three counters, as one ledger row records it. */
export interface CreditChange {
  allocated?: number;
  used?: number;
  reserved?: number;
  /** Signed change to call_holds_micro (holds of calls in flight, see holds.ts). */
  heldMicro?: number;
  /** Signed change to open_jobs_hold_micro, made in the same statement (no ledger column: a job's hold is not a ledger amount). */
  openJobsHeldMicro?: number;
  /** The grant an allocation makes, or an expiry or voiding ends (otherwise the change is split across the grants). */
  grantId?: string;
}

/**
 * Who splits every change of credits_remaining across the team's grants (changes/grant-ledger.ts),
 * so the grants always explain the balance as the ledger does.
 */
export interface CreditSplitter {
  /** After a ledger row is written, in its transaction: how its amount moved the grants. */
  split(row: { seq: number; kind: LedgerEntry["kind"]; change: CreditChange; entry: LedgerEntry; atMs: number }): GrantSplit[];
  /** After a job's hold is written: what it holds of ended grants never exceeds it. */
  jobHoldSet(jobId: string): void;
  /** A transaction was rolled back: what is kept in memory is read again. */
  forget(): void;
}

export function isoNow(ms = Date.now()): string {
  return new Date(ms).toISOString();
}

/** Told of a ledger row that changes what a job was charged (`deltaCredits` > 0) or gives it back (< 0), in its transaction. */
export type JobChargeListener = (jobId: string, deltaCredits: number) => void;

/** A team ledger's SQLite tables, read and written synchronously (no await, so no interleaving). */
export class LedgerStore {
  /** The object's storage as every store of it uses it: statements seen by the row cache. */
  readonly storage: DurableObjectStorage;
  readonly sql: SqlStorage;
  /** The rows kept in memory (row-cache.ts); the hold store keeps its own there too. */
  readonly rows = new RowCache();
  private splitter: CreditSplitter | null = null;
  private jobCharged: JobChargeListener | null = null;

  constructor(storage: DurableObjectStorage) {
    this.storage = guardedStorage(storage, this.rows);
    this.sql = this.storage.sql;
  }

  /** A statement whose effect on the kept rows the caller applies itself. */
  private write(query: string, ...bindings: SqlStorageValue[]): void {
    this.rows.mirrored(() => this.sql.exec(query, ...bindings));
  }

  /** Changes the kept account as its row was just changed (nothing when it is not kept). */
  private patchAccount(change: (acct: AccountRow) => void): void {
    if (this.rows.account) change(this.rows.account);
  }

  /** Who splits changes of credits across the grants (set once by the object). */
  splitCreditsWith(splitter: CreditSplitter): void {
    this.splitter = splitter;
  }

  /** Who is told of every charge to a job and every refund of one (the period budgets count them). */
  onJobCharge(listener: JobChargeListener): void {
    this.jobCharged = listener;
  }

  /** Runs `write` as one SQLite transaction: all of it happens, or none (and what memory keeps of it is read again). */
  transaction<T>(write: () => T): T {
    try {
      return this.storage.transactionSync(write);
    } catch (error) {
      this.splitter?.forget();
      throw error;
    }
  }

  /** Applies the migrations not yet applied, each in its own transaction. */
  migrate(): void {
    migrateLedger(this.sql, (write) => this.transaction(write));
  }

  // ---------------------------------------------------------------- reads

  /** The account as it stands (a copy: later changes do not reach it). */
  account(): AccountRow | null {
    if (this.rows.account === undefined) {
      this.rows.account = this.sql.exec<AccountRow>("SELECT * FROM account WHERE id = 1").toArray()[0] ?? null;
    }
    return this.rows.account && { ...this.rows.account };
  }

  /** A job as it stands (a copy), or null. */
  job(jobId: string): JobRow | null {
    let row = this.rows.job(jobId);
    if (row === undefined) {
      row = this.sql.exec<JobRow>("SELECT * FROM jobs WHERE job_id = ?", jobId).toArray()[0];
      if (row === undefined) return null;
      this.rows.keepJob(row);
    }
    return { ...row };
  }

  /** A call already recorded under this id, if any. */
  recordedCall(callId: string): { job_id: string; client_cost_nano: number } | null {
    return (
      this.sql
        .exec<{ job_id: string; client_cost_nano: number }>("SELECT job_id, client_cost_nano FROM calls WHERE call_id = ?", callId)
        .toArray()[0] ?? null
    );
  }

  /** The position of the job's last recorded call (0 with none). */
  lastCallSeq(jobId: string): number {
    return this.sql.exec<{ last: number | null }>("SELECT MAX(seq) AS last FROM calls WHERE job_id = ?", jobId).one().last ?? 0;
  }

  /** Open jobs, and closed ones whose calls in flight still hold. */
  holdingJobs(): JobRow[] {
    return this.sql
      .exec<JobRow>("SELECT * FROM jobs WHERE status IN ('pending', 'in_progress') OR calls_hold_micro <> 0 OR hold_micro <> 0")
      .toArray();
  }

  openJobsExpiredBy(nowMs: number): JobRow[] {
    return this.sql.exec<JobRow>("SELECT * FROM jobs WHERE status IN ('pending', 'in_progress') AND expires_at_ms <= ?", nowMs).toArray();
  }

  /** When the next open job expires, or null with none open. */
  nextExpiryMs(): number | null {
    return this.sql
      .exec<{ next: number | null }>("SELECT MIN(expires_at_ms) AS next FROM jobs WHERE status IN ('pending', 'in_progress')")
      .one().next;
  }

  // ---------------------------------------------------------------- account writes

  insertAccount(init: AccountInit, createdAt: string): void {
    this.rows.account = undefined;
    this.write(
      `INSERT INTO account (id, team_id, organization_id, status, budget_mode, credits_per_dollar, tokens_per_credit,
         cost_markup_percentage, job_ttl_seconds, rate_limit_per_minute, credits_allocated, credits_used, credits_reserved, created_at,
         overdraft, unpriced_calls, tpm_limit, unfinished_jobs, speculative_admission, grant_notice_seconds)
       VALUES (1, ?, ?, 'active', ?, ?, ?, ?, ?, ?, 0, 0, 0, ?, ?, ?, ?, ?, ?, ?)`,
      init.teamId,
      init.organizationId,
      init.budgetMode,
      init.creditsPerDollar,
      init.tokensPerCredit,
      init.costMarkupPercentage,
      init.jobTtlSeconds,
      init.rateLimitPerMinute,
      createdAt,
      init.overdraft ?? "none",
      init.unpricedCalls ?? "refuse",
      init.tpmLimit ?? null,
      init.unfinishedJobs ?? null,
      init.speculativeAdmission === false ? 0 : 1,
      init.grantNoticeSeconds ?? DEFAULT_GRANT_NOTICE_SECONDS,
    );
  }

  setStatus(status: TeamStatus): void {
    this.write("UPDATE account SET status = ? WHERE id = 1", status);
    this.patchAccount((acct) => {
      acct.status = status;
    });
  }

  /** Writes the account's settings as `acct` has them (read back when next needed). */
  updateSettings(acct: AccountRow): void {
    this.rows.account = undefined;
    this.write(
      `UPDATE account SET budget_mode = ?, credits_per_dollar = ?, tokens_per_credit = ?, cost_markup_percentage = ?,
         job_ttl_seconds = ?, rate_limit_per_minute = ?, overdraft = ?, unpriced_calls = ?, tpm_limit = ?, unfinished_jobs = ?,
         speculative_admission = ?, grant_notice_seconds = ? WHERE id = 1`,
      acct.budget_mode,
      acct.credits_per_dollar,
      acct.tokens_per_credit,
      acct.cost_markup_percentage,
      acct.job_ttl_seconds,
      acct.rate_limit_per_minute,
      acct.overdraft,
      acct.unpriced_calls,
      acct.tpm_limit,
      acct.unfinished_jobs,
      acct.speculative_admission,
      acct.grant_notice_seconds,
    );
  }

  /** One more call sent upstream early and aborted (speculation.ts). */
  countSpeculativeAbort(): void {
    this.write("UPDATE account SET speculative_aborts = speculative_aborts + 1 WHERE id = 1");
    this.patchAccount((acct) => {
      acct.speculative_aborts += 1;
    });
  }

  setOpenJobsHold(totalMicro: number): void {
    this.write("UPDATE account SET open_jobs_hold_micro = ? WHERE id = 1", totalMicro);
    this.patchAccount((acct) => {
      acct.open_jobs_hold_micro = totalMicro;
    });
  }

  addToOpenJobsHold(deltaMicro: number): void {
    this.write("UPDATE account SET open_jobs_hold_micro = open_jobs_hold_micro + ? WHERE id = 1", deltaMicro);
    this.patchAccount((acct) => {
      acct.open_jobs_hold_micro += deltaMicro;
    });
  }

  /** Erases every table (the team is being deleted); `migrate` makes empty ones again. */
  async eraseAll(): Promise<void> {
    await this.storage.deleteAll();
  }

  /**
   * Writes one ledger row and applies it to the account, in the caller's transaction.
   * Every change of credits goes through here, so the ledger always explains the balance.
   */
  appendLedger(kind: LedgerEntry["kind"], change: CreditChange, jobId: string | null, reason: string, atMs = Date.now()): LedgerEntry {
    const acct = this.account()!;
    const before = acct.credits_allocated - acct.credits_used;
    const amount = (change.allocated ?? 0) - (change.used ?? 0);
    const entry: LedgerEntry = {
      transaction_id: crypto.randomUUID(),
      team_id: acct.team_id,
      kind,
      amount,
      reserved_change: change.reserved ?? 0,
      held_change_micro: change.heldMicro ?? 0,
      balance_before: before,
      balance_after: before + amount,
      job_id: jobId,
      reason,
      created_at: isoNow(atMs),
      grants: [],
    };
    this.write(
      `UPDATE account SET credits_allocated = credits_allocated + ?, credits_used = credits_used + ?,
         credits_reserved = credits_reserved + ?, call_holds_micro = call_holds_micro + ?,
         open_jobs_hold_micro = open_jobs_hold_micro + ? WHERE id = 1`,
      change.allocated ?? 0,
      change.used ?? 0,
      change.reserved ?? 0,
      change.heldMicro ?? 0,
      change.openJobsHeldMicro ?? 0,
    );
    this.patchAccount((row) => {
      row.credits_allocated += change.allocated ?? 0;
      row.credits_used += change.used ?? 0;
      row.credits_reserved += change.reserved ?? 0;
      row.call_holds_micro += change.heldMicro ?? 0;
      row.open_jobs_hold_micro += change.openJobsHeldMicro ?? 0;
    });
    const { seq } = this.sql
      .exec<{ seq: number }>(
        `INSERT INTO ledger (transaction_id, kind, amount, reserved_change, held_change_micro, balance_before, balance_after, job_id,
         reason, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
        entry.transaction_id,
        kind,
        entry.amount,
        entry.reserved_change,
        entry.held_change_micro,
        entry.balance_before,
        entry.balance_after,
        jobId,
        reason,
        entry.created_at,
      )
      .one();
    if (this.splitter && (entry.amount !== 0 || change.grantId)) entry.grants = this.splitter.split({ seq, kind, change, entry, atMs });
    // What a job is charged is its `used` (a grant's credits leaving, even while a job held them, are not a charge).
    if (jobId !== null && (change.used ?? 0) !== 0) this.jobCharged?.(jobId, change.used!);
    return entry;
  }

  /** Adds to the usage aggregates of a job's type and key, on the day the job was created (usage-store.ts). */
  bumpUsage(job: Pick<JobRow, "created_at" | "job_type" | "key_id">, delta: Partial<Record<keyof UsageRow, number>>): void {
    bumpDailyUsage(this.sql, job, delta);
  }

  /** Adds a recorded call to its day's per-group and per-model aggregates. */
  bumpModelUsage(createdAt: string, modelGroup: string, model: string | null, delta: Omit<ModelUsageRow, "calls">): void {
    bumpModelUsage(this.sql, createdAt, modelGroup, model, delta);
  }

  /** Adds a recorded call to its day's aggregates of each of its tags and of its end user ('' when it has none). */
  bumpLabelUsage(createdAt: string, labels: { tags: string[]; endUser: string | null }, delta: Omit<ModelUsageRow, "calls">): void {
    for (const tag of labels.tags.length > 0 ? labels.tags : [""]) bumpLabelUsage(this.sql, "tag", createdAt, tag, delta);
    bumpLabelUsage(this.sql, "end_user", createdAt, labels.endUser ?? "", delta);
  }

  setJobTags(jobId: string, tags: string[]): void {
    this.sql.exec("UPDATE jobs SET tags = ? WHERE job_id = ?", JSON.stringify(tags), jobId);
  }

  // ---------------------------------------------------------------- job writes

  insertJob(job: {
    jobId: string;
    jobType: string;
    userId: string | null;
    metadata: Record<string, unknown>;
    createdAt: string;
    expiresAt: string;
    expiresAtMs: number;
    reserved: number;
    holdMicro: number;
    owner: JobOwner;
    keyId: string | null;
    endUser: string | null;
  }): void {
    this.rows.dropJob(job.jobId);
    this.write(
      `INSERT INTO jobs (job_id, job_type, user_id, status, metadata, created_at, expires_at, expires_at_ms, reserved, hold_micro, owner,
         key_id, end_user)
       VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      job.jobId,
      job.jobType,
      job.userId,
      JSON.stringify(job.metadata),
      job.createdAt,
      job.expiresAt,
      job.expiresAtMs,
      job.reserved,
      job.holdMicro,
      job.owner,
      job.keyId,
      job.endUser,
    );
    this.rows.jobHoldMoved({ key_id: job.keyId, end_user: job.endUser }, job.holdMicro);
  }

  /** The job is running, and has used these groups. */
  markJobStarted(jobId: string, modelGroups: string[]): void {
    const now = isoNow();
    const groups = JSON.stringify(modelGroups);
    this.write(
      `UPDATE jobs SET status = 'in_progress', started_at = COALESCE(started_at, ?), model_groups_used = ? WHERE job_id = ?`,
      now,
      groups,
      jobId,
    );
    this.rows.patchJob(jobId, (job) => {
      job.status = "in_progress";
      job.started_at ??= now;
      job.model_groups_used = groups;
    });
  }

  setJobHold(jobId: string, holdMicro: number): void {
    const before = this.job(jobId);
    this.write("UPDATE jobs SET hold_micro = ? WHERE job_id = ?", holdMicro, jobId);
    this.rows.patchJob(jobId, (job) => {
      job.hold_micro = holdMicro;
    });
    if (before) this.rows.jobHoldMoved(before, holdMicro - before.hold_micro);
    this.splitter?.jobHoldSet(jobId);
  }

  /** A job's hold_micro becomes what its calls in flight hold (it closed): its key's and end user's held totals follow. */
  private holdOnlyCalls(jobId: string): void {
    const before = this.job(jobId);
    if (before) this.rows.jobHoldMoved(before, before.calls_hold_micro - before.hold_micro);
  }

  /** Adds to what a job's calls in flight hold (hold-store.ts, as a hold is placed or removed). */
  addJobCallsHold(jobId: string, deltaMicro: number): void {
    this.write("UPDATE jobs SET calls_hold_micro = calls_hold_micro + ? WHERE job_id = ?", deltaMicro, jobId);
    this.rows.patchJob(jobId, (job) => {
      job.calls_hold_micro += deltaMicro;
    });
  }

  /** Stores a call and adds it to its job's totals (calls-table.ts); a cache hit with what it saved. */
  insertCall(jobId: string, call: CallRecord, clientCostNano: number, createdAt: string, hit: HitSavings | null = null): void {
    this.rows.mirrored(() => insertCall(this.sql, jobId, call, clientCostNano, createdAt, hit));
    this.rows.patchJob(jobId, (job) => addCallToTotals(job, call, clientCostNano, hit));
  }

  addJobCharge(jobId: string, credits: number): void {
    this.write("UPDATE jobs SET credits_charged = credits_charged + ? WHERE job_id = ?", credits, jobId);
    this.rows.patchJob(jobId, (job) => {
      job.credits_charged += credits;
    });
  }

  /** Closes a job for good, keeping the summary that a repeated completion replays. */
  closeJob(
    jobId: string,
    closed: {
      status: CompletionStatus;
      completedAt: string;
      errorMessage: string | null;
      metadata: Record<string, unknown>;
      charge: number;
      summary: unknown;
    },
  ): void {
    this.holdOnlyCalls(jobId);
    this.rows.dropJob(jobId);
    this.write(
      `UPDATE jobs SET status = ?, completed_at = ?, error_message = ?, metadata = ?, credit_applied = ?, credits_charged = ?,
         hold_micro = calls_hold_micro, summary = ? WHERE job_id = ?`,
      closed.status,
      closed.completedAt,
      closed.errorMessage,
      JSON.stringify(closed.metadata),
      closed.charge > 0 ? 1 : 0,
      closed.charge,
      JSON.stringify(closed.summary),
      jobId,
    );
    this.splitter?.jobHoldSet(jobId);
  }

  expireJob(jobId: string, completedAt: string, charge: number): void {
    this.holdOnlyCalls(jobId);
    this.rows.dropJob(jobId);
    this.write(
      `UPDATE jobs SET status = 'expired', completed_at = ?, hold_micro = calls_hold_micro, error_message = 'Job expired before completion',
         credit_applied = ?, credits_charged = ? WHERE job_id = ?`,
      completedAt,
      charge > 0 ? 1 : 0,
      charge,
      jobId,
    );
    this.splitter?.jobHoldSet(jobId);
  }

  setJobMetadata(jobId: string, metadata: Record<string, unknown>): void {
    this.rows.dropJob(jobId);
    this.write("UPDATE jobs SET metadata = ? WHERE job_id = ?", JSON.stringify(metadata), jobId);
  }

  markJobRefunded(jobId: string): void {
    this.rows.dropJob(jobId);
    this.write("UPDATE jobs SET refunded = 1 WHERE job_id = ?", jobId);
  }
}
