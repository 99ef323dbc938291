import type { TokenPrice } from "../../db/price-cache";
import type { AccountRow, CallHoldRow, JobRow } from "../rows";
import { settingsOf } from "../rules/admission";
import { heldTokens, worstCase } from "../rules/holds";
import { MICRO_PER_CREDIT } from "../rules/money";
import type { HoldStore } from "../store/hold-store";
import type { LedgerStore } from "../store/ledger-store";
import type { CallRecord } from "../types";
import { applyCallRecord } from "./settlement";

// Holds that heal. A call's record normally ends its hold (call-holds.ts captureCallHold). One
// whose record has not come when it must have (its deadline passed, its job ended, or the object
// restarted under it) is settled here from its hold: the call is recorded as `unrecorded`, billed
// its worst case (what the team agreed to hold for it, and at least what the upstream could have
// charged), and the hold ends in an `unrecorded` ledger row. A record that arrives later finds the
// call already recorded and changes nothing. Synchronous: call inside a transaction.

/** Why a hold was settled without its call's record. */
export type UnrecordedCause = "deadline" | "job_ended" | "abandoned";

const CAUSE_TEXT: Record<UnrecordedCause, string> = {
  deadline: "its record did not arrive by its deadline",
  job_ended: "it was still in flight when its job ended",
  abandoned: "the gateway stopped before recording it",
};

/** Each model group's dearest prices, read before settling (null: a model has no price, or they could not be read). */
export type HoldPrices = ReadonlyMap<string, TokenPrice | null>;

/** A hold settled without its record, as the webhook event `call.unrecorded` tells of it. */
export interface SettledHold {
  hold: CallHoldRow;
  job: JobRow;
  call: CallRecord;
  clientNano: number;
  cause: UnrecordedCause;
}

/** Whether settling holds in this account needs their groups' prices (to price their worst case in consumption_usd). */
export function needsPrices(acct: AccountRow | null): boolean {
  return acct?.budget_mode === "consumption_usd";
}

/**
 * The record of a call settled from its hold: its worst case as its usage (estimated), billed what
 * was held for it, or (when it held no price) its worst case at its group's dearest prices in
 * consumption_usd (0, unpriced, without them).
 */
export function unrecordedCallOf(
  acct: AccountRow,
  hold: CallHoldRow,
  price: TokenPrice | null,
  cause: UnrecordedCause,
  nowMs: number,
  jobEndUser: string | null = null,
): { call: CallRecord; clientNano: number } {
  const completionTokens = heldTokens(hold) - hold.prompt_tokens;
  const priced = needsPrices(acct) && price !== null ? worstCase(settingsOf(acct), price, hold.prompt_tokens, completionTokens) : null;
  const clientNano = hold.cap_nano ?? priced?.capNano ?? 0;
  const call: CallRecord = {
    callId: hold.call_id,
    modelGroup: hold.model_group,
    modelUsed: null,
    attempts: [],
    purpose: null,
    status: "unrecorded",
    promptTokens: hold.prompt_tokens,
    completionTokens,
    totalTokens: hold.prompt_tokens + completionTokens,
    providerCostNano: priced?.providerNano ?? null,
    costSource: priced?.providerNano != null ? "pricing_table" : "unpriced",
    usageEstimated: true,
    latencyMs: Math.max(0, nowMs - hold.created_at_ms),
    error: `The call was settled from its hold because ${CAUSE_TEXT[cause]}: billed its worst case`,
    upstreamError: null,
    stream: hold.stream === 1,
    tags: JSON.parse(hold.tags ?? "[]"),
    endUser: hold.end_user ?? jobEndUser,
  };
  return { call, clientNano };
}

/**
 * Settles one hold without its record: the hold ends in an `unrecorded` ledger row (all of what
 * it held captured into its job), and the call is recorded as `unrecorded` with its worst case.
 */
export function settleUnrecordedHold(
  store: LedgerStore,
  holds: HoldStore,
  hold: CallHoldRow,
  prices: HoldPrices,
  cause: UnrecordedCause,
  nowMs: number,
): SettledHold | null {
  const acct = store.account();
  const job = store.job(hold.job_id);
  if (!acct || !job || store.recordedCall(hold.call_id)) {
    // Recorded already (or its job is gone): the hold only has to end.
    holds.remove(hold);
    if (hold.hold_micro !== 0)
      store.appendLedger("capture", { heldMicro: -hold.hold_micro }, hold.job_id, `Call ${hold.call_id} hold ended`);
    return null;
  }
  const { call, clientNano } = unrecordedCallOf(acct, hold, prices.get(hold.model_group) ?? null, cause, nowMs, job.end_user);
  holds.remove(hold);
  const held = (hold.hold_micro / MICRO_PER_CREDIT).toFixed(6);
  store.appendLedger(
    "unrecorded",
    { heldMicro: -hold.hold_micro },
    hold.job_id,
    `Call ${hold.call_id} settled from its hold because ${CAUSE_TEXT[cause]}: its worst case (${call.totalTokens} tokens, ${held} credits held) captured into its job`,
  );
  applyCallRecord(store, acct, job, call, clientNano);
  return { hold, job, call, clientNano, cause };
}

/** Settles every hold of a job's calls still in flight (its job is ending); returns them. */
export function settleHoldsOfJob(store: LedgerStore, holds: HoldStore, jobId: string, prices: HoldPrices, nowMs: number): SettledHold[] {
  return settleAll(store, holds, holds.ofJob(jobId), prices, "job_ended", nowMs);
}

/** Settles every hold past its deadline (the alarm); returns them. */
export function settleOverdueHolds(store: LedgerStore, holds: HoldStore, prices: HoldPrices, nowMs: number): SettledHold[] {
  return settleAll(store, holds, holds.overdue(nowMs), prices, "deadline", nowMs);
}

/** Settles the given holds with one cause; returns those that were settled as unrecorded. */
export function settleAll(
  store: LedgerStore,
  holds: HoldStore,
  due: CallHoldRow[],
  prices: HoldPrices,
  cause: UnrecordedCause,
  nowMs: number,
): SettledHold[] {
  const settled: SettledHold[] = [];
  for (const hold of due) {
    const one = settleUnrecordedHold(store, holds, hold, prices, cause, nowMs);
    if (one) settled.push(one);
  }
  return settled;
}
