import type { WebhookEventType } from "../../webhooks/events";
import type { TimedWork } from "../background/alarm";
import type { JobRow } from "../rows";
import { type KeyView, keyViewOf } from "../rules/key-views";
import { JOB_RESERVATION_CREDITS, MICRO_PER_CREDIT } from "../rules/money";
import { balanceOf } from "../rules/views";
import type { KeyBudgetSink } from "../store/access-store";
import type { KeyRow } from "../store/key-store";
import type { LedgerStore } from "../store/ledger-store";
import type { LedgerResult, Refusal } from "../types";
import { AllowanceAlerts, type AllowanceUse } from "./allowance-alerts";
import { applyBudgetPolicy, type BudgetPolicyChange, type BudgetPolicyView, budgetPolicyView } from "./budget-policy";
import { PeriodBudgets } from "./period-budgets";
import { RechargeRequests } from "./recharges";
import type { WebhookOutbox } from "./webhook-outbox";

// Everything a team's object does for its keys' and end users' budgets, put together: the
// period budgets (period-budgets.ts) told of every charge the ledger writes, their new windows
// started by the alarm, the team's budget policy, and recharge requests watching the balance.
// The object's methods call it in a line each.

export interface TeamBudgetsHost {
  emit(type: WebhookEventType, data: Record<string, unknown>, nowMs: number): void;
  keyName(keyId: string): string | null;
}

export class TeamBudgets {
  /** The mechanism, which a job's calls hold against (changes/calls.ts). */
  readonly periods: PeriodBudgets;
  private readonly recharges: RechargeRequests;
  private readonly allowanceAlerts: AllowanceAlerts;
  /** Where a key's budget goes when the key is created, changed or loaded (store/access-store.ts). */
  readonly keyBudgetChanged: KeyBudgetSink;
  /** The alarm's share: new windows at their UTC boundaries. */
  readonly timedWork: TimedWork;

  constructor(sql: SqlStorage, store: LedgerStore, host: TeamBudgetsHost) {
    this.periods = new PeriodBudgets(sql, store.rows, host);
    this.recharges = new RechargeRequests(this.periods.store, host);
    this.allowanceAlerts = new AllowanceAlerts(this.periods.store, host);
    this.keyBudgetChanged = (keyId, budget, nowMs) => this.periods.setKeyBudget(keyId, budget, nowMs);
    this.timedWork = { run: (nowMs) => this.periods.rollOver(nowMs), nextDueMs: (nowMs) => this.periods.nextResetMs(nowMs) };
    // Every charge to a job, and every refund of one, counts against its key's and end user's budgets.
    store.onJobCharge((jobId, deltaCredits) => this.periods.chargedToJob(store.job(jobId)!, deltaCredits, Date.now()));
  }

  /**
   * Watches the balance (after each change, in its transaction) for recharge requests, and the
   * plan allowance's use (`allowanceUse`: its current period, or null) for its alert thresholds.
   */
  watch(webhooks: WebhookOutbox, allowanceUse: () => AllowanceUse | null): void {
    webhooks.watchBalance((accountNow, nowMs) => {
      this.recharges.balanceChanged(() => balanceOf(accountNow(), "admin").credits_available, nowMs);
      this.allowanceAlerts.balanceChanged(allowanceUse, nowMs);
    });
  }

  /** A new job must fit the budgets of its key and end user (its reservation held against each). */
  refuseJob(job: Pick<JobRow, "key_id" | "end_user">, nowMs: number): Refusal | null {
    return this.periods.refuseJob(job, JOB_RESERVATION_CREDITS * MICRO_PER_CREDIT, nowMs);
  }

  /**
   * Adds credits (`add`: a top-up or a grant), once for good when the Idempotency-Key names a
   * recharge request (recharges.ts); a repeat, through either, is `again` for the grant the first made.
   */
  applyRecharge<T>(
    idempotencyKey: string | null,
    credits: number,
    add: () => LedgerResult<T>,
    again: (grantId: string) => LedgerResult<T>,
    nowMs: number,
  ): LedgerResult<T> {
    return this.recharges.applyOnce(idempotencyKey, credits, add, again, nowMs);
  }

  /** Changes the team's budget policy (inside the settings' transaction). */
  applyPolicy(change: BudgetPolicyChange, nowMs: number): void {
    applyBudgetPolicy(this.periods.store, this.periods, change, nowMs);
  }

  policy(): BudgetPolicyView {
    return budgetPolicyView(this.periods.store);
  }

  /** Keys as listed, each with its budget's window now. */
  keyViews(keys: KeyRow[], nowMs: number): KeyView[] {
    return keys.map((key) => keyViewOf(key, this.periods.state({ kind: "key", id: key.key_id }, nowMs)));
  }
}
