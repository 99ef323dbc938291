import type { PriceLookup, TokenPrice } from "../../db/price-cache";
import { log } from "../../log";
import type { AccountRow, CallHoldRow, JobRow } from "../rows";
import { consumedMicro, headroomMicro, OPEN_STATUSES, settingsOf } from "../rules/admission";
import { hitPriceOf } from "../rules/cache-hits";
import {
  affordableMaxTokens,
  type CallBudget,
  creditsHeld,
  DEFAULT_MAX_TOKENS,
  dearestPrice,
  heldTokens,
  holdDeadlineMs,
  jobExposureMicro,
  worstCase,
} from "../rules/holds";
import { consumedCredits, MICRO_PER_CREDIT } from "../rules/money";
import type { HoldStore } from "../store/hold-store";
import type { LedgerStore } from "../store/ledger-store";
import type { CallRecord } from "../types";
import { type BudgetSettings, type Refusal, refusal } from "../types";
import type { BudgetLimit } from "./period-budgets";

// Placing and capturing per-call holds inside the team's object (rules in holds.ts). Called
// synchronously from beginCall and recordCall, so a hold is checked and written with no await.

/** What a job holds against the balance: open, its exposure (job_based: its reservation); closed, what its calls in flight still hold. */
export function exposureOf(acct: AccountRow, job: JobRow): number {
  if (!OPEN_STATUSES.has(job.status)) return job.calls_hold_micro;
  if (acct.budget_mode === "job_based") return job.reserved * MICRO_PER_CREDIT;
  return jobExposureMicro(job.reserved, consumedMicro(acct, job), job.calls_hold_micro);
}

/** Sets a job's hold to its exposure now, and the account's total with it; returns the job's row as it now stands. */
export function refreshExposure(store: LedgerStore, acct: AccountRow, jobId: string): JobRow {
  const job = store.job(jobId)!;
  const exposure = exposureOf(acct, job);
  if (exposure === job.hold_micro) return job;
  store.setJobHold(jobId, exposure);
  store.addToOpenJobsHold(exposure - job.hold_micro);
  return { ...job, hold_micro: exposure };
}

/** A group's dearest prices as read for a hold (price null: a model of the group has no price). */
export type HeldPrice = { price: TokenPrice | null };

const pricingUnavailable = () =>
  refusal("PRICING_UNAVAILABLE", "Database unavailable: the call's prices could not be read to hold its cost; please retry");

/** Whether a call's hold needs its group's prices: in consumption_usd, under `overdraft: none` or with a budget over the call. */
export function holdNeedsPrices(acct: AccountRow | null, budgeted = false): acct is AccountRow {
  return (acct?.overdraft === "none" || (acct !== null && budgeted)) && acct?.budget_mode === "consumption_usd";
}

/**
 * The prices a call's hold needs (see holdNeedsPrices), read before the object's synchronous
 * checks, from the isolate's price cache (prices.ts: D1 at most once a minute per model).
 * Unreadable prices refuse the call (503).
 */
export async function priceToHold(prices: PriceLookup, acct: AccountRow, models: string[]): Promise<HeldPrice | Refusal> {
  try {
    return { price: dearestPrice(await Promise.all(models.map(prices))) };
  } catch (error) {
    log("error", "prices could not be read to hold a call", { team_id: acct.team_id, error: String(error) });
    return pricingUnavailable();
  }
}

/**
 * Works out again what each job holds under new settings, and their total: open jobs, and
 * closed ones whose calls in flight still hold (call inside a transaction).
 */
export function recomputeHolds(store: LedgerStore, acct: AccountRow): void {
  let total = 0;
  for (const job of store.holdingJobs()) {
    const hold = exposureOf(acct, job);
    if (hold !== job.hold_micro) store.setJobHold(job.job_id, hold);
    total += hold;
  }
  store.setOpenJobsHold(total);
}

/**
 * A job that just closed holds only what its calls in flight still hold: the account's total
 * follows (closeJob and expireJob set the job's own hold_micro to its calls_hold_micro in the
 * same statement that closes it). `job` is its row as read before closing; call inside a transaction.
 */
export function releaseJobHold(store: LedgerStore, job: JobRow): void {
  store.addToOpenJobsHold(job.calls_hold_micro - job.hold_micro);
}

/** Takes tokens from the team's tokens-per-minute bucket (null when it has no limit). */
export type TakeTokens = (count: number) => Refusal | null;

/** Where and when a hold is placed: now, by which run of the object, for a group of how many models. */
export interface HoldPlacement {
  nowMs: number;
  incarnation: string;
  modelGroup: string;
  models: number;
}

/**
 * Admits a call's budget: under `overdraft: none` or with a period budget over it (`limit`: its
 * key's or end user's, period-budgets.ts), in a consumption mode, holds its worst case (prompt +
 * choices × max_tokens, choosing max_tokens when the call has none) or refuses it; then
 * takes its tokens from the tokens-per-minute limit. Every admitted call gets a hold row (holding
 * nothing when no money is held) with the deadline by which it must be recorded, so a call whose
 * record never comes is settled by the alarm (unrecorded.ts). Returns the max_tokens the gateway
 * chose and the hold's deadline, or a refusal.
 */
export function placeCallHold(
  store: LedgerStore,
  holds: HoldStore,
  acct: AccountRow,
  job: JobRow,
  budget: CallBudget & { price: HeldPrice | undefined },
  takeTokens: TakeTokens,
  placement: HoldPlacement,
  limit: BudgetLimit | null = null,
): Refusal | { budgetMaxTokens: number | null; deadlineMs: number } {
  const kept = holds.hold(budget.callId);
  if (kept) return { budgetMaxTokens: budget.maxTokens === null ? kept.max_tokens : null, deadlineMs: kept.deadline_ms };
  const settings = settingsOf(acct);
  const choices = Math.max(1, budget.choices);
  let maxTokens = budget.maxTokens;
  let chosen: number | null = null;
  let held: { holdMicro: number; capNano: number | null } | null = null;
  // A call through a key (or for an end user) with a budget is always held: the budget is exact whatever the team's overdraft.
  if ((acct.overdraft === "none" || limit !== null) && settings.budgetMode !== "job_based") {
    // The settings changed to need prices while they were being read: the retry reads them.
    if (settings.budgetMode === "consumption_usd" && budget.price === undefined) return pricingUnavailable();
    const price = budget.price?.price ?? null;
    const unpriced = settings.budgetMode === "consumption_usd" && price === null;
    if (unpriced && (acct.unpriced_calls === "refuse" || limit !== null)) {
      const against = limit !== null ? "its budget" : "the team's credits";
      return refusal(
        "INSUFFICIENT_CREDITS",
        `This model group has a model without a price, so its cost cannot be held against ${against}; ask the operator to price it${limit !== null ? "" : " or to allow unpriced calls"}`,
      );
    }
    if (!unpriced) {
      // The room a new hold has: the team's headroom, plus what this job's reservation covers beyond its consumption and holds;
      // no more than a budget over the job leaves (its limit counts the job's own slack the same way).
      const teamRoomMicro =
        acct.overdraft === "none"
          ? headroomMicro(acct) + job.hold_micro - consumedMicro(acct, job) - job.calls_hold_micro
          : Number.POSITIVE_INFINITY;
      const budgetBinds = limit !== null && limit.roomMicro < teamRoomMicro;
      const roomMicro = budgetBinds ? limit.roomMicro : teamRoomMicro;
      const perChoice = choices > 1 ? ` × ${choices} choices` : "";
      const refuse = (maxTokens: number | null, holdMicro: number) =>
        budgetBinds
          ? limit.refuse(holdMicro, `this call (prompt of about ${budget.promptTokens} tokens + max_tokens ${maxTokens ?? 1}${perChoice})`)
          : notEnoughFor(budget.promptTokens, maxTokens, choices, roomMicro, holdMicro);
      if (maxTokens === null) {
        chosen = affordableMaxTokens(settings, price, budget.promptTokens, roomMicro, choices);
        const least = Math.max(1, budget.minMaxTokens ?? 1);
        if (chosen < least) {
          return budgetBinds
            ? limit.refuse(
                worstCase(settings, price, budget.promptTokens, least * choices)!.holdMicro,
                `this call (prompt of about ${budget.promptTokens} tokens + max_tokens ${least}${perChoice})`,
              )
            : notEnoughFor(budget.promptTokens, null, choices, roomMicro, undefined, least);
        }
        maxTokens = chosen;
      }
      held = worstCase(settings, price, budget.promptTokens, maxTokens * choices)!;
      if (held.holdMicro > roomMicro) return refuse(maxTokens, held.holdMicro);
    }
  }
  const row: CallHoldRow = {
    call_id: budget.callId,
    job_id: job.job_id,
    hold_micro: held?.holdMicro ?? 0,
    cap_nano: held?.capNano ?? null,
    prompt_tokens: budget.promptTokens,
    max_tokens: maxTokens ?? DEFAULT_MAX_TOKENS,
    choices,
    created_at_ms: placement.nowMs,
    deadline_ms: holdDeadlineMs(placement.nowMs, placement.models, budget.limits),
    incarnation: placement.incarnation,
    model_group: placement.modelGroup,
    stream: budget.stream ? 1 : 0,
    tags: JSON.stringify(budget.labels?.tags ?? []),
    end_user: budget.labels?.endUser ?? null,
  };
  const limited = takeTokens(heldTokens(row));
  if (limited) return limited;
  insertHold(store, holds, acct, row, "call");
  return { budgetMaxTokens: chosen, deadlineMs: row.deadline_ms };
}

/** Writes an admitted call's hold row and, when it holds money, its `hold` ledger row and its job's exposure. */
function insertHold(store: LedgerStore, holds: HoldStore, acct: AccountRow, row: CallHoldRow, what: string): void {
  store.transaction(() => {
    holds.insert(row);
    if (row.hold_micro > 0) {
      store.appendLedger(
        "hold",
        { heldMicro: row.hold_micro },
        row.job_id,
        `Hold for ${what} ${row.call_id}: ${row.hold_micro} micro-credits`,
      );
      refreshExposure(store, acct, row.job_id);
    }
  });
}

/**
 * Admits a call answered from the response cache: in a consumption mode, under `overdraft: none`
 * or with a period budget over it (`limit`: its key's or end user's), it holds exactly the hit's
 * price (cache-hits.ts), or refuses it when the team or the budget cannot pay that; never a worst
 * case, and no tokens from the per-minute limit (nothing goes upstream). Its hold row, like every
 * admitted call's, has a deadline; capped at the hit's price and counting the tokens it is billed
 * for, so a hit whose record never comes is settled at its own price.
 */
export function placeHitHold(
  store: LedgerStore,
  holds: HoldStore,
  acct: AccountRow,
  job: JobRow,
  budget: CallBudget & { hit: NonNullable<CallBudget["hit"]> },
  placement: HoldPlacement,
  limit: BudgetLimit | null = null,
): Refusal | { budgetMaxTokens: null; deadlineMs: number } {
  const kept = holds.hold(budget.callId);
  if (kept) return { budgetMaxTokens: null, deadlineMs: kept.deadline_ms };
  const settings = settingsOf(acct);
  const price = hitPriceOf(settings, budget.hit);
  const holdsMoney = (acct.overdraft === "none" || limit !== null) && settings.budgetMode !== "job_based";
  if (holdsMoney && price.consumedMicro > 0) {
    const teamRoomMicro =
      acct.overdraft === "none"
        ? headroomMicro(acct) + job.hold_micro - consumedMicro(acct, job) - job.calls_hold_micro
        : Number.POSITIVE_INFINITY;
    if (limit !== null && limit.roomMicro < teamRoomMicro && price.consumedMicro > limit.roomMicro) {
      return limit.refuse(price.consumedMicro, "this cached answer");
    }
    if (price.consumedMicro > teamRoomMicro) {
      const available = Math.max(0, Math.floor(teamRoomMicro / MICRO_PER_CREDIT));
      return refusal(
        "INSUFFICIENT_CREDITS",
        `Insufficient credits: this cached answer costs up to ${creditsHeld(price.consumedMicro)} credit(s), and the team has ${available} credit(s) free to hold it`,
      );
    }
  }
  const row: CallHoldRow = {
    call_id: budget.callId,
    job_id: job.job_id,
    hold_micro: holdsMoney ? price.consumedMicro : 0,
    cap_nano: price.clientNano,
    prompt_tokens: price.billedTokens,
    max_tokens: 0,
    choices: 1,
    created_at_ms: placement.nowMs,
    deadline_ms: holdDeadlineMs(placement.nowMs, 1, budget.limits),
    incarnation: placement.incarnation,
    model_group: placement.modelGroup,
    stream: budget.stream ? 1 : 0,
    tags: JSON.stringify(budget.labels?.tags ?? []),
    end_user: budget.labels?.endUser ?? null,
  };
  insertHold(store, holds, acct, row, "cached call");
  return { budgetMaxTokens: null, deadlineMs: row.deadline_ms };
}

function notEnoughFor(
  promptTokens: number,
  maxTokens: number | null,
  choices: number,
  roomMicro: number,
  holdMicro?: number,
  leastTokens = 1,
): Refusal {
  const available = Math.max(0, Math.floor(roomMicro / MICRO_PER_CREDIT));
  const perChoice = choices > 1 ? ` for each of its ${choices} choices (n)` : "";
  const what =
    maxTokens === null
      ? `not even its prompt (about ${promptTokens} tokens) with ${leastTokens} completion token${leastTokens === 1 ? "" : "s"}${perChoice}`
      : `up to ${creditsHeld(holdMicro ?? 0)} credit(s) (prompt of about ${promptTokens} tokens + max_tokens ${maxTokens}${perChoice})`;
  return refusal(
    "INSUFFICIENT_CREDITS",
    `Insufficient credits: this call may cost ${what}, and the team has ${available} credit(s) free to hold it`,
  );
}

/**
 * A call recorded against its hold: with estimated usage (none was reported) it is billed at
 * most what was held, so an estimate never costs more than the worst case the team agreed to.
 */
export function cappedToHold(call: CallRecord, clientNano: number, hold: CallHoldRow | null): { call: CallRecord; clientNano: number } {
  if (!hold || !call.usageEstimated) return { call, clientNano };
  const promptTokens = Math.min(call.promptTokens, hold.prompt_tokens);
  const completionTokens = Math.min(call.completionTokens, hold.max_tokens * hold.choices);
  const capped = { ...call, promptTokens, completionTokens, totalTokens: promptTokens + completionTokens };
  return { call: capped, clientNano: hold.cap_nano === null ? clientNano : Math.min(clientNano, hold.cap_nano) };
}

/** What a recorded call consumed, in micro-credits: what its hold captures. */
export function capturedMicro(settings: BudgetSettings, clientNano: number, billed: CallRecord): number {
  return Math.round(consumedCredits(settings, clientNano, billed.totalTokens) * MICRO_PER_CREDIT);
}

/** Ends a recorded call's hold: one `capture` ledger row (when it held money) says what was captured into its job and released. */
export function captureCallHold(store: LedgerStore, holds: HoldStore, hold: CallHoldRow, capturedMicro: number): void {
  holds.remove(hold);
  if (hold.hold_micro === 0) return;
  const captured = Math.min(capturedMicro, hold.hold_micro);
  store.appendLedger(
    "capture",
    { heldMicro: -hold.hold_micro },
    hold.job_id,
    `Call ${hold.call_id} settled: ${captured} of ${hold.hold_micro} micro-credits held captured into its job, ${hold.hold_micro - captured} released`,
  );
}

/** Under `overdraft: none` a charge never takes the balance below zero (the holds make this a backstop). */
export function chargeWithinBalance(acct: AccountRow, charge: number): number {
  if (acct.overdraft !== "none") return charge;
  return Math.min(charge, Math.max(0, acct.credits_allocated - acct.credits_used));
}
