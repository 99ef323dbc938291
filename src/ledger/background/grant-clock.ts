import type { GrantLedger } from "../changes/grant-ledger";
import type { WebhookOutbox } from "../changes/webhook-outbox";
import type { AllowanceRow, NewGrant } from "../rows";
import { dayOf, periodEndAfter, rolledOver, termsOf } from "../rules/allowance";
import { expiringNoticeAtMs } from "../rules/grants";
import type { GrantStore } from "../store/grant-store";
import type { LedgerStore } from "../store/ledger-store";

// What time brings to a team's grants, settled by the object's alarm (and, should it run late,
// first thing by the next request that reads or moves money), each at the moment it was due:
// grants expiring, their `grant.expiring` notices, and the plan allowance renewing at each
// period's end, every missed period in order. One transaction per settling, with its webhook
// events; running it again changes nothing.

/** Periods renewed in one go at most (an object evicted for years catches up over a few alarms). */
const MAX_PERIODS_PER_RUN = 400;

const isoOf = (ms: number) => new Date(ms).toISOString();

export class GrantClock {
  /** When something is next due (null: nothing; undefined: to be worked out again). */
  private dueAtMs: number | null | undefined;

  /** `wake` is told when the next due time may have changed (the object's alarm is set for it). */
  constructor(
    private readonly store: LedgerStore,
    private readonly grants: GrantStore,
    private readonly ledger: GrantLedger,
    private readonly webhooks: WebhookOutbox,
    private readonly wake: () => void,
  ) {}

  /** Grants or the allowance changed: the next due time is worked out again, and the alarm set for it. */
  changed(): void {
    this.dueAtMs = undefined;
    this.wake();
  }

  /** What is kept in memory is read again (after an erasure or a rolled-back transaction). */
  forget(): void {
    this.dueAtMs = undefined;
  }

  /** When the alarm must next settle grants: an expiry, an expiry notice or a renewal (null: nothing ever). */
  nextDueMs(): number | null {
    if (this.dueAtMs !== undefined) return this.dueAtMs;
    const notice = this.store.account()?.grant_notice_seconds ?? 0;
    let next = this.grants.allowance()?.period_end_ms ?? null;
    const earlier = (t: number | null) => {
      if (t !== null && (next === null || t < next)) next = t;
    };
    for (const g of this.ledger.liveGrants()) {
      earlier(g.expires_at_ms);
      if (!g.notice_sent) earlier(expiringNoticeAtMs(g, notice));
    }
    this.dueAtMs = next;
    return next;
  }

  /**
   * Settles everything due by `nowMs` (an in-memory comparison when nothing is: the hot path asks
   * it): grants expire in the order of their expiry; at each period's end the allowance renews
   * (after the grants due by then expired), every missed period in turn; then expiry notices go
   * out. False when nothing was due.
   */
  settleDue(nowMs: number): boolean {
    const due = this.nextDueMs();
    if (due === null || due > nowMs) return false;
    this.store.transaction(() => {
      for (let periods = 0; ; periods++) {
        const allowance = this.grants.allowance();
        const boundary = allowance && allowance.period_end_ms <= nowMs && periods < MAX_PERIODS_PER_RUN ? allowance.period_end_ms : null;
        const leftovers = this.expireBy(boundary ?? nowMs);
        if (!allowance || boundary === null) break;
        this.renew(allowance, boundary, leftovers);
      }
      this.sendNotices(nowMs);
      this.webhooks.balanceChanged(() => this.store.account()!, nowMs);
    });
    this.dueAtMs = undefined;
    return true;
  }

  /** Expires the live grants due by `limitMs`, soonest first; returns what each lost (its leftover). */
  private expireBy(limitMs: number): Map<string, number> {
    const leftovers = new Map<string, number>();
    const due = this.ledger
      .liveGrants()
      .filter((g) => g.expires_at_ms !== null && g.expires_at_ms <= limitMs)
      .sort((a, b) => a.expires_at_ms! - b.expires_at_ms!);
    for (const g of due) {
      const at = g.expires_at_ms!;
      // A notice not sent by the expiry is not sent late: the expiry is told instead.
      if (!g.notice_sent) this.grants.markNoticed(g.grant_id);
      const { transaction, held } = this.ledger.end(g, "expired", `Grant ${g.grant_id} (${g.source}) expired`, at);
      leftovers.set(g.grant_id, -transaction.amount);
      this.webhooks.emit("grant.expired", this.store.account()!, at, {
        grant_id: g.grant_id,
        source: g.source,
        expired_at: isoOf(at),
        credits_expired: -transaction.amount,
        credits_held_for_jobs: held,
      });
    }
    return leftovers;
  }

  /** The period ending at `boundary` hands over: what its plan grants left rolls over (up to max), and the next period's grant is made. */
  private renew(allowance: AllowanceRow, boundary: number, leftovers: Map<string, number>): void {
    const terms = termsOf(allowance);
    const ending = this.grants.planGrantsOf(allowance.allowance_id, allowance.period_start_ms);
    const leftover = ending.reduce((sum, g) => sum + (leftovers.get(g.grant_id) ?? 0), 0);
    const rolled = rolledOver(terms, leftover);
    const end = periodEndAfter(terms, boundary);
    const planGrant = (credits: number, kind: "allowance" | "rollover", reason: string): NewGrant => ({
      grant_id: crypto.randomUUID(),
      source: "plan",
      credits,
      priority: allowance.priority,
      expires_at_ms: end,
      created_at_ms: boundary,
      reason,
      external_ref: null,
      allowance_id: allowance.allowance_id,
      plan_period_ms: boundary,
      plan_kind: kind,
    });
    if (rolled > 0) {
      const reason = `Plan rollover: ${rolled} of the ${leftover} credit(s) left of the ${allowance.period} from ${dayOf(allowance.period_start_ms)}`;
      this.ledger.make(planGrant(rolled, "rollover", reason), boundary);
    }
    const made = this.ledger.make(
      planGrant(allowance.credits, "allowance", `Plan allowance for the ${allowance.period} from ${dayOf(boundary)}`),
      boundary,
    );
    this.grants.putAllowance({ ...allowance, period_start_ms: boundary, period_end_ms: end });
    this.webhooks.emit("allowance.renewed", this.store.account()!, boundary, {
      grant_id: made.grant.grant_id,
      credits: allowance.credits,
      rolled_over: rolled,
      period_start: isoOf(boundary),
      period_end: isoOf(end),
    });
  }

  /** `grant.expiring` for each live grant whose notice time has come (once; only a grant with credits left is told). */
  private sendNotices(nowMs: number): void {
    const notice = this.store.account()?.grant_notice_seconds ?? 0;
    for (const g of this.ledger.liveGrants()) {
      const at = g.notice_sent ? null : expiringNoticeAtMs(g, notice);
      if (at === null || at > nowMs) continue;
      this.grants.markNoticed(g.grant_id);
      if (g.remaining <= 0) continue;
      this.webhooks.emit("grant.expiring", this.store.account()!, nowMs, {
        grant_id: g.grant_id,
        source: g.source,
        expires_at: isoOf(g.expires_at_ms!),
        remaining: g.remaining,
      });
    }
  }
}
