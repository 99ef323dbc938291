import type { PriceLookup } from "../../db/price-cache";
import type { AccountRow, CallHoldRow } from "../rows";
import { type CallerKey, refuseOtherKeysJob } from "../rules/access";
import {
  accountNotFound,
  consumedMicro,
  jobNotFound,
  OPEN_STATUSES,
  outlookOf,
  refuseCall,
  refuseNotOwner,
  refuseOtherEndUser,
  settingsOf,
} from "../rules/admission";
import { cacheScopeId, type GroupCache, hitPriceOf } from "../rules/cache-hits";
import { type CallBudget, dearestPrice, heldTokens } from "../rules/holds";
import { nanoToUsd } from "../rules/money";
import type { TeamTokenRate } from "../rules/rate-limit";
import type { HoldStore } from "../store/hold-store";
import type { LedgerStore } from "../store/ledger-store";
import { operationMismatch } from "../store/operation-log";
import {
  type Admission,
  type CacheLookup,
  type CallAdmission,
  type CallRecord,
  type JobCreated,
  type JobOwner,
  type LedgerResult,
  ok,
  type Refusal,
} from "../types";
import { holdNeedsPrices, placeCallHold, placeHitHold, priceToHold } from "./call-holds";
import type { PeriodBudgets } from "./period-budgets";
import { COMPLETION_RECORD_WAIT_MS, RecordWaits } from "./record-waits";
import { admissionOf, recordHeldCall } from "./settlement";
import { type HoldPrices, needsPrices, settleAll } from "./unrecorded";
import type { WebhookOutbox } from "./webhook-outbox";

/** What a job's calls need from their team's object. */
export interface CallHost {
  store: LedgerStore;
  holds: HoldStore;
  tokens: TeamTokenRate;
  prices: PriceLookup;
  /** The period budgets of the job's key and end user, which its calls' holds must fit. */
  budgets: PeriodBudgets;
  /** When the team's grants next change its credit by themselves (an expiry, a renewal; null: never), for the Worker's outlook. */
  creditsChangeAtMs(): number | null;
  webhooks: WebhookOutbox;
  /** A group's models as the object holds them (null: not the team's). */
  groupModels(group: string): string[] | null;
  /** The guard on new jobs and calls: the team active, and within its rate. */
  refuseNewWork(acct: AccountRow): Refusal | null;
  /** After a change of the balance, in its transaction (a webhook threshold may be crossed). */
  balanceChanged(): void;
  /** Moves the object's alarm earlier (a hold's deadline). */
  scheduleAlarm(atMs: number): Promise<void>;
  /** After a call is recorded or settled: its usage is sent to D1 by the alarm. */
  usageChanged(): Promise<void>;
}

/** A group as its team's object holds it: its models, priority first, and its response cache. */
export type HeldGroup = { models: string[]; cache: GroupCache | null };

/**
 * A job's calls inside its team's object, once the caller and the group are checked: admitted
 * (the worst case held, the tokens taken, a deadline for the record; a cache hit holds only its
 * price), recorded (the hold captured into the job, the rest released), and, when a record does
 * not come, settled from the hold (unrecorded.ts). Synchronous from the read of the account to
 * the write, but for prices.
 */
export class JobCalls {
  /**
   * This run of the object: a restarted object has a new one, so a hold placed by an earlier run
   * is known abandoned (its call's Worker went down with it) and need not be waited for.
   */
  private readonly incarnation = crypto.randomUUID();
  /** Completions waiting for the records of their jobs' calls in flight (record-waits.ts). */
  private readonly recordWaits = new RecordWaits();

  constructor(private readonly host: CallHost) {}

  /**
   * Admits one call in a job; `by` says who makes it (a gateway-owned job takes only the gateway's
   * calls), `key` the key it is made with (a job's calls are made with the key that opened it).
   * Every admitted call gets a hold row with the deadline by which it must be recorded.
   */
  async admit(
    jobId: string,
    modelGroup: string,
    group: HeldGroup,
    by: JobOwner,
    budget: CallBudget,
    key: CallerKey | null = null,
  ): Promise<LedgerResult<CallAdmission>> {
    const { store, holds, tokens, budgets } = this.host;
    const { models } = group;
    const hit = budget.hit;
    let acct = store.account();
    const opened = store.job(jobId);
    // The only await before the checks: the group's prices, when a hold needs them (cached per
    // isolate); the account is then read again. Otherwise nothing yields between read and write.
    const price =
      !hit && holdNeedsPrices(acct, opened !== null && budgets.limits(opened))
        ? await priceToHold(this.host.prices, acct, models)
        : undefined;
    if (price && "ok" in price) return price;
    if (price) acct = store.account();
    if (!acct) return accountNotFound();
    const job = store.job(jobId);
    const free = hit !== undefined && hitPriceOf(settingsOf(acct), hit).consumedMicro === 0;
    const refused =
      this.host.refuseNewWork(acct) ??
      refuseNotOwner(job, by) ??
      refuseCall(acct, job, jobId, free) ??
      refuseOtherKeysJob(job!.key_id, jobId, key) ??
      refuseOtherEndUser(job!, budget.labels?.endUser);
    if (refused) return refused;
    const nowMs = Date.now();
    const takeTokens = (count: number) => tokens.refuse(acct.tpm_limit, count, nowMs);
    const placement = { nowMs, incarnation: this.incarnation, modelGroup, models: models.length };
    const limit = budgets.limitFor(job!, job!.hold_micro - consumedMicro(acct, job!) - job!.calls_hold_micro, nowMs);
    const placed = hit
      ? placeHitHold(store, holds, acct, job!, { ...budget, hit }, placement, limit)
      : placeCallHold(store, holds, acct, job!, { ...budget, price }, takeTokens, placement, limit);
    if ("ok" in placed) return placed;
    this.host.balanceChanged();
    const cache = group.cache && { ...group.cache, scopeId: cacheScopeId(group.cache, acct) };
    // What the Worker may count on for the team's next calls: the credit and the budgets' room as they now stand.
    const outlook = outlookOf(store.account()!, price?.price ?? null, budgets.rooms(job!, nowMs), this.host.creditsChangeAtMs());
    const admission = admissionOf(store, acct, job!, modelGroup, models, placed.budgetMaxTokens, cache, outlook);
    // After the hold is written: the alarm settles it if its record has not come by its deadline.
    await this.host.scheduleAlarm(placed.deadlineMs);
    return ok(admission);
  }

  /** Admits a call, or answers where to look first for a group with a response cache (lookUpFirst). */
  begin(
    jobId: string,
    modelGroup: string,
    group: HeldGroup,
    by: JobOwner,
    budget: CallBudget,
    key: CallerKey | null = null,
  ): Promise<Admission> {
    const lookUp = this.lookUpFirst(group, budget);
    return lookUp ? Promise.resolve(ok(lookUp)) : this.admit(jobId, modelGroup, group, by, budget, key);
  }

  /** Where a call of a group with a response cache is looked up, when its budget asks to look first (null: admit it now). */
  lookUpFirst(group: HeldGroup, budget: CallBudget | undefined): CacheLookup | null {
    const acct = this.host.store.account();
    if (!group.cache || !budget?.lookUpFirst || budget.hit || !acct) return null;
    return { lookUp: { ...group.cache, scopeId: cacheScopeId(group.cache, acct), models: group.models } };
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
    // A cache hit took no tokens from the per-minute limit.
    if (hold && !call.cache) tokens.settle(acct.tpm_limit, heldTokens(hold), billed.totalTokens, Date.now());
    this.host.balanceChanged();
    this.recordWaits.recorded(jobId);
    return ok({ call_id: call.callId, client_cost_usd: nanoToUsd(clientNano) });
  }

  /**
   * Before an open job ends: waits, up to COMPLETION_RECORD_WAIT_MS, for the records of its calls
   * still in flight that this run of the object admitted (a call from before a restart is known
   * abandoned), then reads the prices the rest are settled at from their holds (unrecorded.ts).
   */
  async waitForRecords(jobId: string, closedBy: JobOwner): Promise<HoldPrices> {
    const { holds, store } = this.host;
    let inFlight = holds.ofJob(jobId);
    if (inFlight.length === 0) return new Map();
    const job = store.job(jobId);
    // Nothing to wait for when the completion is refused anyway (settle() answers it).
    if (!job || !OPEN_STATUSES.has(job.status) || refuseNotOwner(job, closedBy)) return new Map();
    if (this.live(inFlight)) {
      await this.recordWaits.until(jobId, () => !this.live(holds.ofJob(jobId)), COMPLETION_RECORD_WAIT_MS);
      inFlight = holds.ofJob(jobId);
    }
    return this.holdPrices(inFlight);
  }

  /**
   * Whether the one-request job an Idempotency-Key's create step opened (`created`, its operation)
   * is abandoned, so the key's claim may be taken over at once: the job is closed (only its answer
   * was not kept), or its call was admitted by an earlier run of this object (the gateway that made
   * it stopped with the object); that call is then settled from its hold, unrecorded, so a retry
   * never calls the model again. False while the call may still be running.
   */
  async settleAbandoned(created: { method: string; result: string } | null): Promise<boolean> {
    const { store, holds } = this.host;
    if (created?.method !== "createJob") return false;
    const job = store.job((JSON.parse(created.result) as JobCreated).job_id);
    if (job?.owner !== "gateway") return false;
    if (!OPEN_STATUSES.has(job.status)) return true;
    const inFlight = holds.ofJob(job.job_id);
    if (inFlight.length === 0 || this.live(inFlight)) return false;
    const prices = await this.holdPrices(inFlight);
    const nowMs = Date.now();
    store.transaction(() => {
      const settled = settleAll(store, holds, holds.ofJob(job.job_id), prices, "abandoned", nowMs);
      this.host.webhooks.callsUnrecorded(store.account()!, settled, nowMs);
      this.host.balanceChanged();
    });
    await this.host.usageChanged();
    return true;
  }

  /** What the alarm settles without records, and the prices it settles them at: holds past their deadlines, and those of expiring jobs. */
  async dueAt(nowMs: number): Promise<HoldPrices> {
    const { store, holds } = this.host;
    return this.holdPrices([...holds.overdue(nowMs), ...store.openJobsExpiredBy(nowMs).flatMap((j) => holds.ofJob(j.job_id))]);
  }

  /** Whether a hold among these was placed by this run of the object (its call may still be running). */
  private live(holds: CallHoldRow[]): boolean {
    return holds.some((h) => h.incarnation === this.incarnation);
  }

  /** The prices holds are settled at without their records, for their groups (only consumption_usd needs them; unreadable: null). */
  private async holdPrices(due: CallHoldRow[]): Promise<HoldPrices> {
    if (due.length === 0 || !needsPrices(this.host.store.account())) return new Map();
    const groups = [...new Set(due.map((h) => h.model_group))];
    const read = async (group: string) => {
      const models = this.host.groupModels(group) ?? [];
      if (models.length === 0) return null;
      return dearestPrice(await Promise.all(models.map(this.host.prices)));
    };
    const priced = async (group: string) => [group, await read(group).catch(() => null)] as const;
    return new Map(await Promise.all(groups.map(priced)));
  }
}
