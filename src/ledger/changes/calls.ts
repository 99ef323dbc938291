import type { PriceLookup } from "../../db/price-cache";
import { accountNotFound, jobNotFound, refuseCall, refuseNotOwner } from "../rules/admission";
import type { CallBudget } from "../rules/holds";
import { nanoToUsd } from "../rules/money";
import type { TeamTokenRate } from "../rules/rate-limit";
import type { HoldStore } from "../store/hold-store";
import type { LedgerStore } from "../store/ledger-store";
import { operationMismatch } from "../store/operation-log";
import type { AccountRow } from "../store/rows";
import { type CallAdmission, type CallRecord, type JobOwner, type LedgerResult, ok, type Refusal } from "../types";
import { holdNeedsPrices, placeCallHold, priceToHold } from "./call-holds";
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
  /** After a call is recorded: its usage is sent to D1 by the alarm. */
  usageChanged(): Promise<void>;
}

/**
 * A job's calls inside its team's object, once the caller and the group are checked: admitted
 * (the worst case held, the tokens taken) and recorded (the hold captured into the job, the rest
 * released). Synchronous from the read of the account to the write, but for the group's prices.
 */
export class JobCalls {
  constructor(private readonly host: CallHost) {}

  /** Admits one call in a job; `by` says who makes it (a gateway-owned job takes only the gateway's calls). */
  async admit(
    jobId: string,
    modelGroup: string,
    models: string[],
    by: JobOwner,
    budget?: CallBudget,
  ): Promise<LedgerResult<CallAdmission>> {
    const { store, holds, tokens } = this.host;
    let acct = store.account();
    // The only await before the checks: the group's prices, when a hold needs them (cached per
    // isolate); the account is then read again. Otherwise nothing yields between read and write.
    const price = budget && holdNeedsPrices(acct) ? await priceToHold(this.host.prices, acct, models) : undefined;
    if (price && "ok" in price) return price;
    if (price) acct = store.account();
    if (!acct) return accountNotFound();
    const job = store.job(jobId);
    const refused = this.host.refuseNewWork(acct) ?? refuseNotOwner(job, by) ?? refuseCall(acct, job, jobId);
    if (refused) return refused;
    const takeTokens = (count: number) => tokens.refuse(acct.tpm_limit, count, Date.now());
    const placed = budget ? placeCallHold(store, holds, acct, job!, { ...budget, price }, takeTokens) : null;
    if (placed && "ok" in placed) return placed;
    if (placed) this.host.balanceChanged();
    return ok(admissionOf(store, acct, job!, modelGroup, models, placed?.budgetMaxTokens ?? null));
  }

  /** Records the outcome of an admitted call, whatever it was; its call id is its operation id (a repeat changes nothing). */
  async record(jobId: string, call: CallRecord): Promise<LedgerResult<{ call_id: string; client_cost_usd: number }>> {
    const recorded = this.recordNow(jobId, call);
    await this.host.usageChanged();
    return recorded;
  }

  private recordNow(jobId: string, call: CallRecord): LedgerResult<{ call_id: string; client_cost_usd: number }> {
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
    if (hold) tokens.settle(acct.tpm_limit, hold.prompt_tokens + hold.max_tokens, billed.totalTokens, Date.now());
    this.host.balanceChanged();
    return ok({ call_id: call.callId, client_cost_usd: nanoToUsd(clientNano) });
  }
}
