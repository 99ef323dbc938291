import type { Repository } from "../../db/repository";
import { log } from "../../log";
import { expireOpenJobs } from "../changes/settlement";
import type { LedgerStore } from "../store/ledger-store";
import { AlarmClock } from "./alarm-clock";
import { UsageFlush } from "./usage-flush";
import { deliverySettingsOf, WebhookDelivery } from "./webhook-delivery";
import { WebhookOutbox } from "./webhook-outbox";

/** Work that falls due at moments of its own (grants expiring, allowances renewing: grant-clock.ts). */
export interface DueWork {
  /** Settles what is due by `nowMs`; safe to run again. */
  settleDue(nowMs: number): boolean;
  /** When something is next due (null: nothing). */
  nextDueMs(): number | null;
}

/**
 * What a team's object does off the request path, from its one alarm: it expires open jobs past
 * their time-to-live, sends the usage totals to D1 (usage-flush.ts) and delivers webhook events
 * (webhook-delivery.ts). Requests only move the alarm earlier, after their money is written:
 * the alarm never decides a charge, and no request waits for D1 or a receiver.
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
    d1: Repository,
  ) {
    // A new event wakes the alarm, which delivers it: the request that made it does not wait.
    const wake = () =>
      this.scheduleAlarm(Date.now()).catch((e) => log("error", "could not schedule webhook delivery", { error: String(e) }));
    this.webhooks = new WebhookOutbox(ctx.storage.sql, () => void wake());
    this.delivery = new WebhookDelivery(this.webhooks, deliverySettingsOf(env));
    this.usageFlush = new UsageFlush(ctx.storage.sql, d1);
    this.alarmClock = new AlarmClock(ctx.storage);
    // Totals not yet in D1 (a failed send before a restart, or history the upgrade filled in) get their alarm.
    const due = this.usageFlush.nextFlushDueAt();
    if (due !== null) ctx.waitUntil(this.scheduleAlarm(due));
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
   * The alarm: settles grants due (expiries and renewals, at the moments they were due), expires
   * open jobs past their time-to-live (released, never charged), sends the usage totals not yet
   * in D1, then the webhook events due. Safe to run twice.
   */
  async runAlarm(): Promise<void> {
    this.dueWork?.settleDue(Date.now());
    this.store.transaction(() => {
      const expired = expireOpenJobs(this.store, Date.now());
      this.webhooks.jobsExpired(this.store.account()!, expired, Date.now());
      if (expired.length > 0) this.webhooks.balanceChanged(() => this.store.account()!, Date.now());
    });
    await this.usageFlush.flush(this.store.account());
    // A delivery run already under way sets the next alarm when it ends (setting it here, to the event it is sending, would spin).
    if (!(await this.delivery.deliverDue(Date.now()))) return;
    await this.alarmClock.setNext([
      this.store.nextExpiryMs(),
      this.usageFlush.nextFlushDueAt(),
      this.delivery.nextDeliveryDueAt(),
      this.dueWork?.nextDueMs() ?? null,
    ]);
  }

  /** Sets the alarm to `atMs` unless it is already set earlier: it only ever moves earlier (expiry, usage sends and webhooks share it). */
  scheduleAlarm(atMs: number): Promise<void> {
    return this.alarmClock.moveEarlier(atMs);
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
