import { billedTokensOf, OPEN_STATUSES, settingsOf } from "../rules/admission";
import { type CallCacheSetting, type HitPrice, hitPriceOf } from "../rules/cache-hits";
import { clientCostNano, completionCharge, JOB_RESERVATION_CREDITS, MICRO_PER_CREDIT } from "../rules/money";
import { completionSummaryOf } from "../rules/views";
import type { HoldStore } from "../store/hold-store";
import { isoNow, type LedgerStore } from "../store/ledger-store";
import type { AccountRow, CallHoldRow, JobRow } from "../store/rows";
import type { CallAdmission, CallRecord, CompletionStatus, JobCreated, NewJob, StoredCompletion } from "../types";
import { cappedToHold, captureCallHold, capturedMicro, chargeWithinBalance, refreshExposure, releaseJobHold } from "./call-holds";

// How a job's money moves once admission has said yes: the reservation when it opens, its hold
// after each call, the charge or release when it ends, the release when it expires. Each writes
// through the store and runs inside the caller's transaction, with no await: the object
// serializes them.

/** Opens a job: its row, the reservation of its minimum charge in the ledger, and its usage. */
export function reserveForJob(store: LedgerStore, acct: AccountRow, input: NewJob, nowMs: number): JobCreated {
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
  store.insertJob({
    ...input,
    createdAt: created.created_at,
    expiresAt: created.expires_at,
    expiresAtMs,
    reserved: JOB_RESERVATION_CREDITS,
    holdMicro,
    owner: input.owner ?? "team",
  });
  store.addToOpenJobsHold(holdMicro);
  store.appendLedger("reservation", { reserved: JOB_RESERVATION_CREDITS }, input.jobId, `Reservation for job ${input.jobType}`);
  store.bumpUsage(created.created_at, input.jobType, { jobs: 1 });
  return created;
}

/**
 * An admitted call's job marks it started and the group used (admission is read-only once a job
 * is running and knows the group, and nothing is held: the hot path writes nothing).
 */
export function admissionOf(
  store: LedgerStore,
  acct: AccountRow,
  job: JobRow,
  modelGroup: string,
  models: string[],
  budgetMaxTokens: number | null,
  cache: CallCacheSetting | null,
): CallAdmission {
  const groups: string[] = JSON.parse(job.model_groups_used);
  if (job.status === "pending" || !groups.includes(modelGroup)) {
    if (!groups.includes(modelGroup)) groups.push(modelGroup);
    store.markJobStarted(job.job_id, groups);
  }
  return { jobType: job.job_type, userId: job.user_id, markupPercentage: acct.cost_markup_percentage, models, budgetMaxTokens, cache };
}

/**
 * Records a call (in one transaction) with its hold, if it has one (call-holds.ts): estimated
 * usage billed at most what was held, the hold captured, then the call's effect on its job.
 */
export function recordHeldCall(store: LedgerStore, holds: HoldStore, acct: AccountRow, job: JobRow, call: CallRecord) {
  const settings = settingsOf(acct);
  const hold: CallHoldRow | null = holds.hold(call.callId);
  const hit = call.cache ? hitPriceOf(settings, { ...call, ...call.cache }) : null;
  const priced = hit
    ? hit.clientNano
    : call.providerCostNano === null
      ? 0
      : clientCostNano(call.providerCostNano, settings.costMarkupPercentage);
  const { call: billed, clientNano } = cappedToHold(call, priced, hold);
  store.transaction(() => {
    if (hold) captureCallHold(store, holds, hold, hit ? hit.consumedMicro : capturedMicro(settings, clientNano, billed));
    applyCallRecord(store, acct, job, billed, clientNano, hit);
  });
  return { clientNano, hold, billed };
}

/**
 * A recorded call's effect on money (its own hold, if any, already captured: call-holds.ts): an
 * open job's hold becomes its exposure, what it consumed plus what its other calls hold
 * (consumption modes); a closed job keeps holding only what its calls in flight hold; a call
 * that finished after its job was completed and charged is charged what it adds (under
 * `overdraft: none`, never below a zero balance).
 */
export function applyCallRecord(
  store: LedgerStore,
  acct: AccountRow,
  job: JobRow,
  call: CallRecord,
  clientNano: number,
  hit: HitPrice | null = null,
): void {
  const settings = settingsOf(acct);
  const saved = hit
    ? { savedNano: hit.savedNano, savedProviderNano: hit.savedProviderNano, unbilledTokens: call.totalTokens - hit.billedTokens }
    : null;
  store.insertCall(job.job_id, call, clientNano, isoNow(), saved);
  const sums = {
    prompt_tokens: call.promptTokens,
    completion_tokens: call.completionTokens,
    total_tokens: call.totalTokens,
    client_cost_nano: clientNano,
    provider_cost_nano: call.providerCostNano ?? 0,
    cache_hits: saved ? 1 : 0,
    cache_saved_nano: saved?.savedNano ?? 0,
    cache_saved_provider_nano: saved?.savedProviderNano ?? 0,
  };
  store.bumpUsage(job.created_at, job.job_type, { calls: 1, ...sums });
  store.bumpModelUsage(job.created_at, call.modelGroup, call.modelUsed, sums);
  const updated = refreshExposure(store, acct, job.job_id);
  if (!OPEN_STATUSES.has(updated.status) && updated.status === "completed" && updated.credit_applied && !updated.refunded) {
    // The call finished after its job was completed: charge whatever it adds, so no usage goes unbilled.
    const owed = completionCharge(settings, updated.client_cost_nano, billedTokensOf(updated)) - updated.credits_charged;
    const due = chargeWithinBalance(store.account()!, owed);
    if (due > 0) {
      store.appendLedger("deduction", { used: due }, job.job_id, `Late call ${call.callId} after job completion`);
      store.addJobCharge(job.job_id, due);
      store.bumpUsage(job.created_at, job.job_type, { credits_charged: due });
    }
  }
}

/**
 * Ends an open job: `completed` turns its reservation into the charge, anything else releases
 * it. Returns the summary kept for repeated completions (without its call list).
 */
export function settleCompletion(
  store: LedgerStore,
  acct: AccountRow,
  job: JobRow,
  input: { status: CompletionStatus; errorMessage: string | null; metadata: Record<string, unknown> | null },
): StoredCompletion {
  const settings = settingsOf(acct);
  const charge =
    input.status === "completed" ? chargeWithinBalance(acct, completionCharge(settings, job.client_cost_nano, billedTokensOf(job))) : 0;
  const completedAt = isoNow();
  if (charge > 0) {
    const credits = `${charge} credit${charge === 1 ? "" : "s"}`;
    store.appendLedger(
      "deduction",
      { used: charge, reserved: -job.reserved },
      job.job_id,
      `Job ${job.job_type} completed (${settings.budgetMode}: ${credits})`,
    );
  } else {
    store.appendLedger("release", { reserved: -job.reserved }, job.job_id, `Job ${job.job_type} ${input.status}: reservation released`);
  }
  const metadata = input.metadata ? { ...JSON.parse(job.metadata), ...input.metadata } : JSON.parse(job.metadata);
  const after = store.account()!;
  const creditsRemaining = after.credits_allocated - after.credits_used;
  const callsThroughSeq = store.lastCallSeq(job.job_id);
  const summary = completionSummaryOf(job, { status: input.status, completedAt, charge, creditsRemaining, callsThroughSeq });
  store.closeJob(job.job_id, { status: input.status, completedAt, errorMessage: input.errorMessage, metadata, charge, summary });
  // A closed job still holds what its calls in flight hold, until they are recorded.
  releaseJobHold(store, job);
  store.bumpUsage(job.created_at, job.job_type, { [input.status]: 1, credits_charged: charge });
  return summary;
}

/** Releases every open job past its time-to-live, never charging it (call inside a transaction); returns them. */
export function expireOpenJobs(store: LedgerStore, nowMs: number): JobRow[] {
  const expired = store.openJobsExpiredBy(nowMs);
  for (const job of expired) {
    store.appendLedger("release", { reserved: -job.reserved }, job.job_id, `Job ${job.job_type} expired: reservation released`);
    store.expireJob(job.job_id, isoNow(nowMs));
    releaseJobHold(store, job);
    store.bumpUsage(job.created_at, job.job_type, { expired: 1 });
  }
  return expired;
}
