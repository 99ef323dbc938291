import { MAX_METADATA_BYTES } from "../../schemas/common";
import { COMPLETION_CALLS_SHOWN } from "../../schemas/jobs";
import type { AccountRow } from "../rows";
import {
  accountNotFound,
  completionOf,
  jobNotFound,
  refuseNewJob,
  refuseNotOwner,
  refuseRefund,
  refuseSuspended,
} from "../rules/admission";
import { completionAnswerOf, jobListingOf } from "../rules/views";
import type { HoldStore } from "../store/hold-store";
import type { LedgerStore } from "../store/ledger-store";
import type { LedgerPages } from "../store/pages";
import type {
  Balance,
  Completion,
  CompletionSummary,
  JobCreated,
  JobView,
  LedgerEntry,
  LedgerResult,
  NewJob,
  StoredCompletion,
} from "../types";
import { ok, type Refusal, refusal } from "../types";
import { reserveForJob, settleCompletion } from "./settlement";
import { type HoldPrices, settleHoldsOfJob } from "./unrecorded";
import type { WebhookOutbox } from "./webhook-outbox";

/**
 * A job's steps inside its team's object, once the caller is checked: admission's refusals, then
 * settlement's money, then the webhook events the change makes. Each runs synchronously (inside
 * the operation's transaction when it changes money), with no await between read and write.
 */
export class JobLifecycle {
  constructor(
    private readonly store: LedgerStore,
    private readonly pages: LedgerPages,
    private readonly holds: HoldStore,
    private readonly webhooks: WebhookOutbox,
    /** The balance as the answers show it (the grants' totals with the account's). */
    private readonly balanceOf: (acct: AccountRow) => Balance,
    /** A key's name by id (for the job views that name it). */
    private readonly keyName: (keyId: string) => string | null,
  ) {}

  /** Opens a job and reserves its minimum charge, unless `refuseNewWork` (the object's guard) or admission refuses. */
  open(input: NewJob & { keyId: string | null }, refuseNewWork: (acct: AccountRow) => Refusal | null): LedgerResult<JobCreated> {
    const acct = this.store.account();
    if (!acct) return accountNotFound();
    const refused = refuseNewWork(acct) ?? refuseNewJob(acct, this.store.job(input.jobId), input.jobId);
    if (refused) return refused;
    const created = reserveForJob(this.store, acct, input, Date.now());
    this.balanceChanged();
    return ok(created);
  }

  /**
   * Ends a job: an open one is settled, its calls still in flight first (from their holds, priced
   * with `prices`); a closed one replays its summary for the same status, or is refused.
   */
  settle(input: Completion, prices: HoldPrices): LedgerResult<CompletionSummary> {
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

    // Every call of the job that began is settled now, so this answer is the job's final charge.
    const nowMs = Date.now();
    const settled = settleHoldsOfJob(this.store, this.holds, job.job_id, prices, nowMs);
    if (settled.length > 0) this.webhooks.callsUnrecorded(this.store.account()!, settled, nowMs);
    // What the settled calls consumed is now in the account's and the job's rows.
    const [acctNow, jobNow] = settled.length > 0 ? [this.store.account()!, this.store.job(job.job_id)!] : [acct, job];
    const summary = settleCompletion(this.store, acctNow, jobNow, input);
    this.webhooks.jobEnded(this.store.account()!, job, input.status, summary.costs.credits_charged, nowMs);
    this.balanceChanged();
    return ok(this.completionAnswer(job.job_id, summary));
  }

  /** Gives back what a completed job was charged (once: refuseRefund). */
  refund(jobId: string, reason: string): LedgerResult<{ transaction: LedgerEntry; balance: Balance }> {
    if (!this.store.account()) return accountNotFound();
    const job = this.store.job(jobId);
    if (!job) return jobNotFound(jobId);
    const refused = refuseRefund(job);
    if (refused) return refused;
    const transaction = this.store.appendLedger("refund", { used: -job.credits_charged }, jobId, reason);
    this.store.markJobRefunded(jobId);
    this.store.bumpUsage(job, { credits_charged: -job.credits_charged });
    this.balanceChanged();
    return ok({ transaction, balance: this.balanceOf(this.store.account()!) });
  }

  /** Merges metadata into a job, at any status: the team's own notes, bounded like the metadata it was opened with. */
  mergeMetadata(acct: AccountRow, jobId: string, metadata: Record<string, unknown>): LedgerResult<Omit<JobView, "calls">> {
    const job = this.store.job(jobId);
    if (!job) return jobNotFound(jobId);
    const merged = { ...JSON.parse(job.metadata), ...metadata };
    if (new TextEncoder().encode(JSON.stringify(merged)).byteLength > MAX_METADATA_BYTES) {
      return refusal("INVALID_ARGUMENT", `The merged metadata would be over ${MAX_METADATA_BYTES} bytes of JSON`);
    }
    this.store.setJobMetadata(jobId, merged);
    const updated = this.store.job(jobId)!;
    return ok(jobListingOf(acct.team_id, updated, updated.key_id === null ? null : this.keyName(updated.key_id)));
  }

  /** A kept completion summary with the job's first calls, as completing answers it. */
  private completionAnswer(jobId: string, stored: StoredCompletion): CompletionSummary {
    const first = { limit: COMPLETION_CALLS_SHOWN, offset: 0, throughSeq: stored.calls_through_seq };
    // calls_through_seq 0: no call was recorded before the job closed, so there is none to read.
    const none = stored.calls || stored.calls_through_seq === 0;
    return completionAnswerOf(stored, none ? [] : this.pages.callRows(jobId, first));
  }

  /** After a change of the balance, in its transaction: a crossing below a threshold is an event. */
  private balanceChanged(): void {
    this.webhooks.balanceChanged(() => this.store.account()!, Date.now());
  }
}
