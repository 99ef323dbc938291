import type { AccountRow, CallHoldRow, JobRow } from "../rows";
import { billedTokensOf, settingsOf } from "../rules/admission";
import { type HitPrice, hitPriceOf } from "../rules/cache-hits";
import { jobTagsWith } from "../rules/job-tags";
import { clientCostNano, endCharge, JOB_RESERVATION_CREDITS, type JobEnd, MICRO_PER_CREDIT, unfinishedJobsOf } from "../rules/money";
import { completionSummaryOf } from "../rules/views";
import type { HoldStore } from "../store/hold-store";
import { isoNow, type LedgerStore } from "../store/ledger-store";
import type { CallAdmission, CallCacheSetting, CallRecord, CompletionStatus, JobCreated, NewJob, StoredCompletion } from "../types";
import { cappedToHold, captureCallHold, capturedMicro, chargeWithinBalance, refreshExposure, releaseJobHold } from "./call-holds";

// How a job's money moves once admission has said yes: the reservation when it opens, its hold
// after each call, the charge or release when it ends, the release when it expires. Each writes
// through the store and runs inside the caller's transaction, with no await: the object
// serializes them.

/** Opens a job: its row, the reservation of its minimum charge in the ledger, and its usage. */
export function reserveForJob(store: LedgerStore, acct: AccountRow, input: NewJob & { keyId: string | null }, nowMs: number): JobCreated {
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
    endUser: input.endUser ?? null,
  });
  store.addToOpenJobsHold(holdMicro);
  store.appendLedger("reservation", { reserved: JOB_RESERVATION_CREDITS }, input.jobId, `Reservation for job ${input.jobType}`);
  store.bumpUsage({ created_at: created.created_at, job_type: input.jobType, key_id: input.keyId }, { jobs: 1 });
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
  return {
    jobType: job.job_type,
    userId: job.user_id,
    endUser: job.end_user,
    markupPercentage: acct.cost_markup_percentage,
    models,
    budgetMaxTokens,
    cache,
  };
}

/**
 * Records a call (in one transaction) with its hold, if it has one (call-holds.ts): estimated
 * usage billed at most what was held, the hold captured, then the call's effect on its job. A
 * cache hit is priced from its original (cache-hits.ts), exactly: its hold was its price.
 */
export function recordHeldCall(store: LedgerStore, holds: HoldStore, acct: AccountRow, job: JobRow, call: CallRecord) {
  const settings = settingsOf(acct);
  const hold: CallHoldRow | null = holds.hold(call.callId);
  if (call.cache) {
    const hit = hitPriceOf(settings, { ...call, ...call.cache });
    store.transaction(() => {
      if (hold) captureCallHold(store, holds, hold, hit.consumedMicro);
      applyCallRecord(store, acct, job, call, hit.clientNano, hit);
    });
    return { clientNano: hit.clientNano, hold, billed: call };
  }
  const priced = call.providerCostNano === null ? 0 : clientCostNano(call.providerCostNano, settings.costMarkupPercentage);
  const { call: billed, clientNano } = cappedToHold(call, priced, hold);
  store.transaction(() => {
    if (hold) captureCallHold(store, holds, hold, capturedMicro(settings, clientNano, billed));
    applyCallRecord(store, acct, job, billed, clientNano);
  });
  return { clientNano, hold, billed };
}

/**
 * A recorded call's effect on money (its own hold, if any, already captured: call-holds.ts): an
 * open job's hold becomes its exposure, what it consumed plus what its other calls hold
 * (consumption modes). A job's end settles every call in flight first (unrecorded.ts), so its
 * answer is its final charge: a call recorded on a closed job (one admitted before holds were
 * kept for every call) is only recorded.
 */
export function applyCallRecord(
  store: LedgerStore,
  _acct: AccountRow,
  job: JobRow,
  call: CallRecord,
  clientNano: number,
  hit: HitPrice | null = null,
): void {
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
  store.bumpUsage(job, { calls: 1, ...sums });
  store.bumpModelUsage(job.created_at, call.modelGroup, call.modelUsed, sums);
  const labels = { tags: call.tags ?? [], endUser: call.endUser ?? null };
  store.bumpLabelUsage(job.created_at, labels, sums);
  const jobTags: string[] = JSON.parse(job.tags ?? "[]");
  const gathered = jobTagsWith(jobTags, labels.tags);
  if (gathered.length !== jobTags.length) store.setJobTags(job.job_id, gathered);
  refreshExposure(store, store.account()!, job.job_id);
}

/** The charge of a job that ends now, as `end`, by the team's rules (money.ts endCharge), within the balance under `overdraft: none`. */
function chargeAtEnd(acct: AccountRow, job: JobRow, end: JobEnd): number {
  const settings = settingsOf(acct);
  const usage = { clientCostNano: job.client_cost_nano, totalTokens: billedTokensOf(job), successfulCalls: job.successful_calls };
  return chargeWithinBalance(acct, endCharge(settings, unfinishedJobsOf(acct.budget_mode, acct.unfinished_jobs), end, usage));
}

/** The ledger row of a job's end: its reservation becomes its charge, or is released. */
function appendEndRow(store: LedgerStore, acct: AccountRow, job: JobRow, end: JobEnd, charge: number): void {
  const credits = `${charge} credit${charge === 1 ? "" : "s"}`;
  const mode = acct.budget_mode;
  if (charge > 0 && end === "completed") {
    store.appendLedger(
      "deduction",
      { used: charge, reserved: -job.reserved },
      job.job_id,
      `Job ${job.job_type} completed (${mode}: ${credits})`,
    );
  } else if (charge > 0) {
    store.appendLedger(
      "deduction",
      { used: charge, reserved: -job.reserved },
      job.job_id,
      `Job ${job.job_type} ${end}, charged for what it consumed (unfinished_jobs charged, ${mode}: ${credits})`,
    );
  } else {
    store.appendLedger("release", { reserved: -job.reserved }, job.job_id, `Job ${job.job_type} ${end}: reservation released`);
  }
}

/**
 * Ends an open job whose calls in flight are settled (unrecorded.ts): `completed` turns its
 * reservation into the charge; `failed` and `cancelled` release it, or are charged for what they
 * consumed under `unfinished_jobs: charged`. Returns the summary kept for repeated completions
 * (without its call list).
 */
export function settleCompletion(
  store: LedgerStore,
  acct: AccountRow,
  job: JobRow,
  input: { status: CompletionStatus; errorMessage: string | null; metadata: Record<string, unknown> | null },
): StoredCompletion {
  const charge = chargeAtEnd(acct, job, input.status);
  const completedAt = isoNow();
  appendEndRow(store, acct, job, input.status, charge);
  const metadata = input.metadata ? { ...JSON.parse(job.metadata), ...input.metadata } : JSON.parse(job.metadata);
  const after = store.account()!;
  const creditsRemaining = after.credits_allocated - after.credits_used;
  const callsThroughSeq = store.lastCallSeq(job.job_id);
  const summary = completionSummaryOf(job, { status: input.status, completedAt, charge, creditsRemaining, callsThroughSeq });
  store.closeJob(job.job_id, { status: input.status, completedAt, errorMessage: input.errorMessage, metadata, charge, summary });
  // The job's calls were settled before it closed, so it now holds nothing (closeJob set its hold_micro to calls_hold_micro).
  releaseJobHold(store, job);
  store.bumpUsage(job, { [input.status]: 1, credits_charged: charge });
  return summary;
}

/**
 * Expires an open job past its time-to-live whose calls in flight are settled: released, or
 * charged for what it consumed under `unfinished_jobs: charged` (call inside a transaction).
 * Returns what it was charged.
 */
export function expireJob(store: LedgerStore, acct: AccountRow, job: JobRow, nowMs: number): number {
  const charge = chargeAtEnd(acct, job, "expired");
  appendEndRow(store, acct, job, "expired", charge);
  store.expireJob(job.job_id, isoNow(nowMs), charge);
  releaseJobHold(store, job);
  store.bumpUsage(job, { expired: 1, credits_charged: charge });
  return charge;
}
