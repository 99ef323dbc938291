import type { Repository } from "../../db/repository";
import { log } from "../../log";
import { expireJob } from "../changes/settlement";
import { type HoldPrices, settleHoldsOfJob, settleOverdueHolds } from "../changes/unrecorded";
import { WebhookOutbox } from "../changes/webhook-outbox";
import type { HoldStore } from "../store/hold-store";
import type { LedgerStore } from "../store/ledger-store";
import { AlarmClock } from "./alarm-clock";
import { UsageFlush } from "./usage-flush";
import { deliverySettingsOf, WebhookDelivery } from "./webhook-delivery";

/** Work that falls due at moments of its own (grants expiring, allowances renewing: grant-clock.ts). */
export interface DueWork {
  /** Settles what is due by `nowMs`; safe to run again. */
  settleDue(nowMs: number): boolean;
  /** When something is next due (null: nothing). */
  nextDueMs(): number | null;
}

/** Work that falls due at fixed times (the period budgets' new windows), done by the alarm. */
export interface TimedWork {
  /** Does what is due by `nowMs` (inside the alarm's transaction). */
  run(nowMs: number): void;
  /** When the next is due (null: nothing is). */
  nextDueMs(nowMs: number): number | null;
}

/**
 * What a team's object does off the request path, from its one alarm: it expires open jobs past
 * their time-to-live, settles the holds of calls whose records never came (unrecorded.ts), sends
 * the usage totals to D1 (usage-flush.ts) and delivers webhook events (webhook-delivery.ts).
 * Requests only move the alarm earlier, after their money is written; its charges follow the
 * same rules as a request's (settlement.ts), and no request waits for D1 or a receiver.
 */
export class LedgerBackground {
  /** Webhook events, born with the changes they tell of (webhook-outbox.ts); a new one wakes the alarm. */
  readonly webhooks: WebhookOutbox;
  private readonly delivery: WebhookDelivery;
  private readonly usageFlush: UsageFlush;
  private readonly alarmClock: AlarmClock;
  private dueWork: DueWork | null = null;

  constructor(
    private readonly ctx: DurableObjectState,
    env: Env,
    private readonly store: LedgerStore,
    private readonly holds: HoldStore,
    d1: Repository,
    private readonly timed: TimedWork,
  ) {
    // A new event wakes the alarm, which delivers it: the request that made it does not wait.
    const wake = () =>
      this.scheduleAlarm(Date.now()).catch((e) => log("error", "could not schedule webhook delivery", { error: String(e) }));
    this.webhooks = new WebhookOutbox(ctx.storage.sql, () => void wake());
    this.delivery = new WebhookDelivery(this.webhooks, deliverySettingsOf(env));
    this.usageFlush = new UsageFlush(ctx.storage.sql, d1);
    this.alarmClock = new AlarmClock(ctx.storage);
    // Totals not yet in D1 (a failed send before a restart, or history the upgrade filled in), and
    // holds placed before their deadlines were kept, get their alarm.
    const due = [this.usageFlush.nextFlushDueAt(), this.holds.nextDeadlineMs()].filter((t) => t !== null);
    if (due.length > 0) ctx.waitUntil(this.scheduleAlarm(Math.min(...due)));
  }

  /**
   * Work of its own that the alarm settles first, and wakes for: `make` is given the `wake` it
   * calls when its next due time may have changed (the alarm is then moved earlier if need be).
   */
  settleWith<W extends DueWork>(make: (wake: () => void) => W): W {
    const wake = () => {
      const due = this.dueWork?.nextDueMs() ?? null;
      if (due !== null)
        this.ctx.waitUntil(this.scheduleAlarm(due).catch((e) => log("error", "could not schedule the alarm", { error: String(e) })));
    };
    const work = make(wake);
    this.dueWork = work;
    wake();
    return work;
  }

  /**
   * The alarm: settles the grants due (expiries and renewals, each at the moment it was due: grant-clock.ts),
   * then starts the period budgets' new windows and settles what else is due by `nowMs` (expireAndHeal),
   * sends the usage totals not yet in D1, then the webhook events due. Safe to run twice.
   */
  async runAlarm(nowMs: number, prices: HoldPrices): Promise<void> {
    this.dueWork?.settleDue(nowMs);
    this.store.transaction(() => {
      this.timed.run(nowMs);
      this.expireAndHeal(nowMs, prices);
    });
    await this.usageFlush.flush(this.store.account());
    // A delivery run already under way sets the next alarm when it ends (setting it here, to the event it is sending, would spin).
    if (!(await this.delivery.deliverDue(Date.now()))) return;
    await this.alarmClock.setNext([
      this.store.nextExpiryMs(),
      this.holds.nextDeadlineMs(),
      this.usageFlush.nextFlushDueAt(),
      this.delivery.nextDeliveryDueAt(),
      this.timed.nextDueMs(Date.now()),
      this.dueWork?.nextDueMs() ?? null,
    ]);
  }

  /**
   * The alarm's money, in one transaction: each open job past its time-to-live ends (its calls in
   * flight settled from their holds, then released, or charged for what it consumed under
   * `unfinished_jobs: charged`); then every hold past its deadline is settled (unrecorded.ts).
   */
  private expireAndHeal(nowMs: number, prices: HoldPrices): void {
    const acct = () => this.store.account()!;
    if (!this.store.account()) return;
    let changed = false;
    for (const job of this.store.openJobsExpiredBy(nowMs)) {
      this.webhooks.callsUnrecorded(acct(), settleHoldsOfJob(this.store, this.holds, job.job_id, prices, nowMs), nowMs);
      const charge = expireJob(this.store, acct(), this.store.job(job.job_id)!, nowMs);
      this.webhooks.jobExpired(acct(), job, charge, nowMs);
      changed = true;
    }
    const healed = settleOverdueHolds(this.store, this.holds, prices, nowMs);
    this.webhooks.callsUnrecorded(acct(), healed, nowMs);
    if (changed || healed.length > 0) this.webhooks.balanceChanged(acct, nowMs);
  }

  /** Sets the alarm to `atMs` unless it is already set earlier: it only ever moves earlier (expiry, usage sends and webhooks share it). */
  scheduleAlarm(atMs: number): Promise<void> {
    return this.alarmClock.moveEarlier(atMs);
  }

  /** After work at fixed times may have been made (a period budget): the alarm is set for the next. */
  async scheduleTimedWork(): Promise<void> {
    const due = this.timed.nextDueMs(Date.now());
    if (due !== null) await this.scheduleAlarm(due);
  }

  /** After a change to usage: its totals go to D1 a few seconds later, with whatever else changed meanwhile. */
  async scheduleUsageFlush(): Promise<void> {
    const due = this.usageFlush.nextFlushDueAt();
    if (due !== null) await this.scheduleAlarm(due);
  }

  /** The team is being deleted: nothing is left to do. */
  clear(): Promise<void> {
    return this.alarmClock.clear();
  }
}
