import {
  type AllowancePeriod,
  DEFAULT_GRANT_PRIORITY,
  GRANT_SOURCES,
  type GrantSource,
  MAX_EXTERNAL_REF_CHARS,
  MAX_GRANT_PRIORITY,
  MIN_GRANT_PRIORITY,
} from "../../schemas/grants";
import type { WebhookOutbox } from "../background/webhook-outbox";
import { accountNotFound } from "../rules/admission";
import { type AllowanceTerms, ANCHOR_RANGE, periodEndAfter, periodStartOn, rolledOver, sameTerms } from "../rules/allowance";
import { allowanceViewOf, grantTotalsOf, grantViewOf } from "../rules/grant-views";
import { expiringNoticeAtMs } from "../rules/grants";
import { balanceOf } from "../rules/views";
import type { GrantStore } from "../store/grant-store";
import type { LedgerStore } from "../store/ledger-store";
import type { AccountRow, AllowanceRow, GrantRow, NewGrant } from "../store/rows";
import {
  type AllowanceView,
  type Balance,
  type CallerKind,
  type GrantTotals,
  type GrantView,
  type LedgerEntry,
  type LedgerResult,
  ok,
  refusal,
} from "../types";
import type { GrantLedger } from "./grant-ledger";

// The team's grants and plan allowance as they change, inside its object: grants made (exactly
// once per external_ref) and voided, the allowance set and removed, and what time brings, which
// the object's alarm (and, should it be late, the next request) settles at the moment it was
// due: grants expiring (announced `notice` before), and the allowance renewing at each period's
// end, every missed period in order. Each runs synchronously, inside one transaction, with the
// webhook events it makes.

/** A grant as asked for (validated again here: the object is reachable by RPC too). */
export interface GrantRequest {
  credits: number;
  source: GrantSource;
  expiresAtMs: number | null;
  priority: number | null;
  reason: string | null;
  externalRef: string | null;
}

/** A plan allowance as asked for. */
export interface AllowanceRequest {
  credits: number;
  period: AllowancePeriod;
  anchor: number | null;
  /** null: nothing rolls over. */
  rolloverMax: number | null;
  priority: number | null;
}

/** A grant made (or, for an external_ref seen before, the one it made then: `created` false) and its allocation row. */
export type GrantAnswer = { grant: GrantView; transaction: LedgerEntry; created: boolean };

/** Periods renewed in one go at most (an object evicted for years catches up over a few alarms). */
const MAX_PERIODS_PER_RUN = 400;

const isoOf = (ms: number) => new Date(ms).toISOString();
/** A period's first day (periods begin at midnight UTC), as a plan grant's reason names it. */
const dayOf = (ms: number) => isoOf(ms).slice(0, 10);

export class GrantChanges {
  /** When something is next due (null: nothing; undefined: to be worked out again). */
  private dueAtMs: number | null | undefined;

  constructor(
    private readonly store: LedgerStore,
    private readonly grants: GrantStore,
    private readonly ledger: GrantLedger,
    private readonly webhooks: WebhookOutbox,
  ) {}

  /** What is kept in memory is read again (after an erasure or a rolled-back transaction). */
  forget(): void {
    this.grants.forget();
    this.dueAtMs = undefined;
  }

  /** The balance as shown: the account's counters and settings, and the grants' totals. */
  balance(acct: AccountRow, viewer: CallerKind): Balance {
    return { ...balanceOf(acct, viewer), ...this.totals(acct) };
  }

  totals(acct: AccountRow): GrantTotals {
    const overdrawn = this.ledger.overdrawn(acct.credits_allocated - acct.credits_used);
    return grantTotalsOf(this.grants.movableGrants(), this.grants.allowance(), overdrawn);
  }

  /** When the alarm must next settle grants: an expiry, an expiry notice or a renewal (null: none due ever). */
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

  /** Whether something is due by `nowMs` (an in-memory comparison once known: the hot path asks it). */
  isDue(nowMs: number): boolean {
    const due = this.nextDueMs();
    return due !== null && due <= nowMs;
  }

  /**
   * Settles everything due by `nowMs`, each at the moment it was due, in one transaction: grants
   * expire in the order of their expiry; at each period's end the allowance renews (after the
   * grants due by then expired), every missed period in turn; then expiry notices go out.
   * Running it again changes nothing. False when nothing was due.
   */
  settleDue(nowMs: number): boolean {
    if (!this.isDue(nowMs)) return false;
    this.store.transaction(() => {
      for (let periods = 0; ; periods++) {
        const allowance = this.grants.allowance();
        const boundary = allowance && allowance.period_end_ms <= nowMs && periods < MAX_PERIODS_PER_RUN ? allowance.period_end_ms : null;
        const leftovers = this.expireBy(boundary ?? nowMs);
        if (!allowance || boundary === null) break;
        this.renew(allowance, boundary, leftovers);
      }
      this.sendNotices(nowMs);
      this.balanceChanged(nowMs);
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

  /** The period ending at `boundary` hands over: what of its plan grants expired rolls over (up to max), and the next period's grant is made. */
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

  /** `grant.expiring` for each live grant whose notice time has come (once; only one with credits left is told). */
  private sendNotices(nowMs: number): void {
    const notice = this.store.account()?.grant_notice_seconds ?? 0;
    for (const g of this.ledger.liveGrants()) {
      const at = g.notice_sent ? null : expiringNoticeAtMs(g, notice);
      if (at === null || at > nowMs) continue;
      this.grants.markNoticed(g.grant_id);
      if (g.remaining <= 0) continue;
      this.webhooks.emit("grant.expiring", this.store.account()!, at, {
        grant_id: g.grant_id,
        source: g.source,
        expires_at: isoOf(g.expires_at_ms!),
        remaining: g.remaining,
      });
    }
  }

  /** The opening allocation of a new account: a paid grant that never expires (no grant for 0 credits). */
  open(credits: number, nowMs: number): void {
    if (credits <= 0) {
      this.store.appendLedger("allocation", {}, null, "Opening allocation", nowMs);
      return;
    }
    this.ledger.make(
      newGrant({ credits, source: "paid", expiresAtMs: null, priority: null, reason: "Opening allocation", externalRef: null }, nowMs),
      nowMs,
    );
    this.dueAtMs = undefined;
  }

  /** Makes a grant, exactly once per external_ref: the same again answers the first grant; other terms under it are refused. */
  make(request: GrantRequest, nowMs: number): LedgerResult<GrantAnswer> {
    if (!this.store.account()) return accountNotFound();
    const invalid = refuseGrantRequest(request, nowMs);
    if (invalid) return invalid;
    if (request.externalRef !== null) {
      const existing = this.grants.byExternalRef(request.externalRef);
      if (existing) {
        if (!sameGrantTerms(existing, request)) {
          return refusal(
            "GRANT_EXISTS",
            `A grant with external_ref '${request.externalRef}' already exists (${existing.grant_id}) with other terms`,
          );
        }
        return ok({ grant: grantViewOf(existing), transaction: this.allocationOf(existing), created: false });
      }
    }
    const made = this.ledger.make(newGrant(request, nowMs), nowMs);
    this.dueAtMs = undefined;
    this.balanceChanged(nowMs);
    return ok({ grant: grantViewOf(made.grant), transaction: made.transaction, created: true });
  }

  /** Voids what remains of a live grant (what open jobs hold of it leaves when they end). */
  void(grantId: string, reason: string | null, nowMs: number): LedgerResult<{ grant: GrantView; transaction: LedgerEntry }> {
    if (!this.store.account()) return accountNotFound();
    const grant = this.grants.grant(grantId);
    if (!grant) return refusal("GRANT_NOT_FOUND", `Grant '${grantId}' not found`);
    if (grant.ended) return refusal("GRANT_ENDED", `Grant '${grantId}' has already ${grant.ended}; there is nothing to void`);
    const live = this.ledger.liveGrants().find((g) => g.grant_id === grantId)!;
    const { transaction } = this.ledger.end(live, "voided", reason ?? `Grant ${grantId} (${grant.source}) voided`, nowMs);
    this.dueAtMs = undefined;
    this.balanceChanged(nowMs);
    return ok({ grant: grantViewOf(this.grants.grant(grantId)!), transaction });
  }

  /**
   * Sets the plan allowance. The same terms again change nothing; new terms start at once: the
   * current period's plan credits are voided and the new allowance's grant for the period under
   * way (by its own period and anchor) is made.
   */
  setAllowance(request: AllowanceRequest, nowMs: number): LedgerResult<{ allowance: AllowanceView; changed: boolean }> {
    if (!this.store.account()) return accountNotFound();
    const terms = termsOfRequest(request);
    const invalid = refuseAllowance(request, terms);
    if (invalid) return invalid;
    const current = this.grants.allowance();
    if (current && sameTerms(termsOf(current), terms)) return ok({ allowance: this.allowanceView(current), changed: false });
    if (current) {
      for (const g of this.grants.planGrantsOf(current.allowance_id, current.period_start_ms)) {
        const live = this.ledger.liveGrants().find((l) => l.grant_id === g.grant_id);
        if (live) this.ledger.end(live, "voided", `Plan grant ${g.grant_id} voided: the allowance was replaced`, nowMs);
      }
    }
    const start = periodStartOn(terms, nowMs);
    const row: AllowanceRow = {
      allowance_id: crypto.randomUUID(),
      credits: terms.credits,
      period: terms.period,
      anchor: terms.anchor,
      rollover_max: terms.rolloverMax,
      priority: terms.priority,
      period_start_ms: start,
      period_end_ms: periodEndAfter(terms, start),
      created_at_ms: current?.created_at_ms ?? nowMs,
      updated_at_ms: nowMs,
    };
    this.ledger.make(
      {
        grant_id: crypto.randomUUID(),
        source: "plan",
        credits: terms.credits,
        priority: terms.priority,
        expires_at_ms: row.period_end_ms,
        created_at_ms: nowMs,
        reason: `Plan allowance for the ${terms.period} from ${dayOf(start)}`,
        external_ref: null,
        allowance_id: row.allowance_id,
        plan_period_ms: start,
        plan_kind: "allowance",
      },
      nowMs,
    );
    this.grants.putAllowance(row);
    this.dueAtMs = undefined;
    this.balanceChanged(nowMs);
    return ok({ allowance: this.allowanceView(row), changed: true });
  }

  /** Stops the allowance renewing; the plan credits of the period under way stay until they expire. */
  removeAllowance(): LedgerResult<{ removed: true }> {
    if (!this.store.account()) return accountNotFound();
    if (!this.grants.allowance()) return refusal("ALLOWANCE_NOT_FOUND", "The team has no plan allowance");
    this.grants.removeAllowance();
    this.dueAtMs = undefined;
    return ok({ removed: true });
  }

  allowanceView(row: AllowanceRow): AllowanceView {
    return allowanceViewOf(
      row,
      this.grants.planGrantsOf(row.allowance_id, row.period_start_ms),
      this.grants.planMovesOf(row.allowance_id, row.period_start_ms),
    );
  }

  /** The ledger row that made a grant. */
  private allocationOf(grant: GrantRow): LedgerEntry {
    return this.grants.allocationRowOf(grant.grant_id, this.store.account()!.team_id)!;
  }

  private balanceChanged(nowMs: number): void {
    this.webhooks.balanceChanged(() => this.store.account()!, nowMs);
  }
}

/** A grant row for a request made at `nowMs`. */
function newGrant(request: GrantRequest, nowMs: number): NewGrant {
  return {
    grant_id: crypto.randomUUID(),
    source: request.source,
    credits: request.credits,
    priority: request.priority ?? DEFAULT_GRANT_PRIORITY,
    expires_at_ms: request.expiresAtMs,
    created_at_ms: nowMs,
    reason: request.reason ?? `${request.source === "paid" ? "Paid" : request.source === "plan" ? "Plan" : "Promotional"} credits`,
    external_ref: request.externalRef,
    allowance_id: null,
    plan_period_ms: null,
    plan_kind: null,
  };
}

function sameGrantTerms(grant: GrantRow, request: GrantRequest): boolean {
  return (
    grant.credits === request.credits &&
    grant.source === request.source &&
    grant.expires_at_ms === request.expiresAtMs &&
    grant.priority === (request.priority ?? DEFAULT_GRANT_PRIORITY)
  );
}

function refuseGrantRequest(r: GrantRequest, nowMs: number) {
  if (!Number.isSafeInteger(r.credits) || r.credits <= 0) return refusal("INVALID_ARGUMENT", "credits must be a positive integer");
  if (!GRANT_SOURCES.includes(r.source)) return refusal("INVALID_ARGUMENT", `source must be one of ${GRANT_SOURCES.join(", ")}`);
  if (r.priority !== null && (!Number.isInteger(r.priority) || r.priority < MIN_GRANT_PRIORITY || r.priority > MAX_GRANT_PRIORITY)) {
    return refusal("INVALID_ARGUMENT", `priority must be an integer from ${MIN_GRANT_PRIORITY} to ${MAX_GRANT_PRIORITY}`);
  }
  if (r.expiresAtMs !== null && !(r.expiresAtMs > nowMs)) return refusal("INVALID_ARGUMENT", "expires_at must be in the future");
  if (r.externalRef !== null && (r.externalRef.length === 0 || r.externalRef.length > MAX_EXTERNAL_REF_CHARS)) {
    return refusal("INVALID_ARGUMENT", `external_ref must be 1 to ${MAX_EXTERNAL_REF_CHARS} characters`);
  }
  return null;
}

function termsOfRequest(r: AllowanceRequest): AllowanceTerms {
  const range = ANCHOR_RANGE[r.period] ?? ANCHOR_RANGE.month;
  return {
    credits: r.credits,
    period: r.period,
    anchor: r.anchor ?? range.default,
    rolloverMax: r.rolloverMax,
    priority: r.priority ?? DEFAULT_GRANT_PRIORITY,
  };
}

function termsOf(row: AllowanceRow): AllowanceTerms {
  return { credits: row.credits, period: row.period, anchor: row.anchor, rolloverMax: row.rollover_max, priority: row.priority };
}

function refuseAllowance(r: AllowanceRequest, terms: AllowanceTerms) {
  if (!Number.isSafeInteger(r.credits) || r.credits <= 0) return refusal("INVALID_ARGUMENT", "credits must be a positive integer");
  const range = ANCHOR_RANGE[r.period];
  if (!range) return refusal("INVALID_ARGUMENT", "period must be one of day, week, month");
  if (r.anchor !== null && r.period === "day") return refusal("INVALID_ARGUMENT", "anchor applies to week and month periods only");
  if (!Number.isInteger(terms.anchor) || terms.anchor < range.min || terms.anchor > range.max) {
    return refusal("INVALID_ARGUMENT", `anchor must be an integer from ${range.min} to ${range.max} for a ${r.period}`);
  }
  if (r.rolloverMax !== null && (!Number.isSafeInteger(r.rolloverMax) || r.rolloverMax < 1)) {
    return refusal("INVALID_ARGUMENT", "rollover max must be a positive integer");
  }
  if (!Number.isInteger(terms.priority) || terms.priority < MIN_GRANT_PRIORITY || terms.priority > MAX_GRANT_PRIORITY) {
    return refusal("INVALID_ARGUMENT", `priority must be an integer from ${MIN_GRANT_PRIORITY} to ${MAX_GRANT_PRIORITY}`);
  }
  return null;
}
