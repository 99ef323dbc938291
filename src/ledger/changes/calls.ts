import type { PriceLookup } from "../../db/price-cache";
import { accountNotFound, jobNotFound, refuseCall, refuseNotOwner, settingsOf } from "../rules/admission";
import { cacheScopeId, type GroupCache, hitPriceOf } from "../rules/cache-hits";
import type { CallBudget } from "../rules/holds";
import { nanoToUsd } from "../rules/money";
import type { TeamTokenRate } from "../rules/rate-limit";
import type { HoldStore } from "../store/hold-store";
import type { LedgerStore } from "../store/ledger-store";
import { operationMismatch } from "../store/operation-log";
import type { AccountRow } from "../store/rows";
import { type CacheLookup, type CallAdmission, type CallRecord, type JobOwner, type LedgerResult, ok, type Refusal } from "../types";
import { holdNeedsPrices, placeCallHold, placeHitHold, priceToHold } from "./call-holds";
import { admissionOf, recordHeldCall } from "./settlement";

/** What a job's calls need from their team's object. */
export interface CallHost {
  store: LedgerStore;
  holds: HoldStore;
  tokens: TeamTokenRate;
  prices: PriceLookup;
  /** The guard on new jobs and calls: the team active, and within its rate. */
  refuseNewWork(acct: AccountRow): Refusal | null;
  /** After a change of the balance, in its transaction (a webhook threshold may be crossed). */
  balanceChanged(): void;
}

/** A group as its team's object holds it: its models, priority first, and its response cache. */
export type HeldGroup = { models: string[]; cache: GroupCache | null };

/**
 * A job's calls inside its team's object, once the caller and the group are checked: admitted
 * (the worst case held, the tokens taken; a cache hit holds only its price) and recorded (the
 * hold captured into the job, the rest released). Synchronous from the read of the account to
 * the write, but for the group's prices.
 */
export class JobCalls {
  constructor(private readonly host: CallHost) {}

  /** Admits one call in a job; `by` says who makes it (a gateway-owned job takes only the gateway's calls). */
  async admit(
    jobId: string,
    modelGroup: string,
    group: HeldGroup,
    by: JobOwner,
    budget?: CallBudget,
  ): Promise<LedgerResult<CallAdmission>> {
    const { store, holds, tokens } = this.host;
    const { models } = group;
    let acct = store.account();
    // The only await before the checks: the group's prices, when a hold needs them (cached per
    // isolate); the account is then read again. Otherwise nothing yields between read and write.
    const price = budget && !budget.hit && holdNeedsPrices(acct) ? await priceToHold(this.host.prices, acct, models) : undefined;
    if (price && "ok" in price) return price;
    if (price) acct = store.account();
    if (!acct) return accountNotFound();
    const job = store.job(jobId);
    const free = budget?.hit !== undefined && hitPriceOf(settingsOf(acct), budget.hit).consumedMicro === 0;
    const refused = this.host.refuseNewWork(acct) ?? refuseNotOwner(job, by) ?? refuseCall(acct, job, jobId, free);
    if (refused) return refused;
    const takeTokens = (count: number) => tokens.refuse(acct.tpm_limit, count, Date.now());
    const placed = !budget
      ? null
      : budget.hit
        ? placeHitHold(store, holds, acct, job!, budget.callId, budget.hit)
        : placeCallHold(store, holds, acct, job!, { ...budget, price }, takeTokens);
    if (placed && "ok" in placed) return placed;
    if (placed) this.host.balanceChanged();
    const cache = group.cache && { ...group.cache, scopeId: cacheScopeId(group.cache, acct) };
    return ok(admissionOf(store, acct, job!, modelGroup, models, placed?.budgetMaxTokens ?? null, cache));
  }

  /** Where a call of a group with a response cache is looked up, when its budget asks to look first (null: admit it now). */
  lookUpFirst(group: HeldGroup, budget: CallBudget | undefined): CacheLookup | null {
    const acct = this.host.store.account();
    if (!group.cache || !budget?.lookUpFirst || budget.hit || !acct) return null;
    return { lookUp: { ...group.cache, scopeId: cacheScopeId(group.cache, acct), models: group.models } };
  }

  /** Records the outcome of an admitted call, whatever it was; its call id is its operation id (a repeat changes nothing). */
  record(jobId: string, call: CallRecord): LedgerResult<{ call_id: string; client_cost_usd: number }> {
    const { store, holds, tokens } = this.host;
    const acct = store.account();
    if (!acct) return accountNotFound();
    const job = store.job(jobId);
    if (!job) return jobNotFound(jobId);
    const recorded = store.recordedCall(call.callId);
    if (recorded) {
      // A repeat (the first answer was lost on the way back) changes nothing.
      if (recorded.job_id !== jobId) return operationMismatch();
      return ok({ call_id: call.callId, client_cost_usd: nanoToUsd(recorded.client_cost_nano) });
    }
    const { clientNano, hold, billed } = recordHeldCall(store, holds, acct, job, call);
    // A cache hit took no tokens from the per-minute limit.
    if (hold && !call.cache) tokens.settle(acct.tpm_limit, hold.prompt_tokens + hold.max_tokens, billed.totalTokens, Date.now());
    this.host.balanceChanged();
    return ok({ call_id: call.callId, client_cost_usd: nanoToUsd(clientNano) });
  }
}
