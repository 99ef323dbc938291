import { DEFAULT_GRANT_PRIORITY } from "../../schemas/grants";
import type { AccountRow, AllowanceRow, GrantRow, NewGrant } from "../rows";
import { accountNotFound } from "../rules/admission";
import { allowanceTermsOf, dayOf, periodEndAfter, periodStartOn, refuseAllowance, sameTerms, termsOf } from "../rules/allowance";
import { allowanceViewOf, grantTotalsOf, grantViewOf } from "../rules/grant-views";
import { refuseGrantRequest, sameGrantTerms } from "../rules/grants";
import { balanceOf } from "../rules/views";
import type { GrantStore } from "../store/grant-store";
import type { LedgerStore } from "../store/ledger-store";
import {
  type AllowanceRequest,
  type AllowanceView,
  type Balance,
  type CallerKind,
  type GrantRequest,
  type GrantTotals,
  type GrantView,
  type LedgerEntry,
  type LedgerResult,
  ok,
  refusal,
} from "../types";
import type { AllowanceUse } from "./allowance-alerts";
import type { GrantLedger } from "./grant-ledger";
import type { WebhookOutbox } from "./webhook-outbox";

// The team's grants and plan allowance as an admin changes them, inside its object: grants made
// (exactly once per external_ref) and voided, the allowance set and removed, and the balance as
// the grants show it. Each runs synchronously, inside the operation's transaction, with the
// webhook events it makes; what time brings (expiries, renewals) is background/grant-clock.ts's.

/** A grant made (or, for an external_ref seen before, the one it made then: `created` false) and its allocation row. */
export type GrantAnswer = { grant: GrantView; transaction: LedgerEntry; created: boolean };

export class GrantChanges {
  constructor(
    private readonly store: LedgerStore,
    private readonly grants: GrantStore,
    private readonly ledger: GrantLedger,
    private readonly webhooks: WebhookOutbox,
    /** Told of every change (background/grant-clock.ts), so the alarm wakes for the next expiry or renewal. */
    private readonly clock: { changed(): void },
  ) {}

  /** What is kept in memory is read again (after an erasure, or a change of the notice time). */
  forget(): void {
    this.grants.forget();
    this.clock.changed();
  }

  /** The balance as shown: the account's counters and settings, and the grants' totals. */
  balance(acct: AccountRow, viewer: CallerKind): Balance {
    return { ...balanceOf(acct, viewer), ...this.totals(acct) };
  }

  totals(acct: AccountRow): GrantTotals {
    const overdrawn = this.ledger.overdrawn(acct.credits_allocated - acct.credits_used);
    return grantTotalsOf(this.grants.movableGrants(), this.grants.allowance(), overdrawn);
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
    this.clock.changed();
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
        return this.answerFor(existing.grant_id);
      }
    }
    const made = this.ledger.make(newGrant(request, nowMs), nowMs);
    this.clock.changed();
    this.balanceChanged(nowMs);
    return ok({ grant: grantViewOf(made.grant), transaction: made.transaction, created: true });
  }

  /** A grant made before, answered again: `created` false, nothing added (an external_ref or a recharge request seen before). */
  answerFor(grantId: string): LedgerResult<GrantAnswer> {
    const grant = this.grants.grant(grantId);
    if (!grant) return refusal("GRANT_NOT_FOUND", `Grant '${grantId}' not found`);
    return ok({ grant: grantViewOf(grant), transaction: this.allocationOf(grant), created: false });
  }

  /** Voids what remains of a live grant (what open jobs hold of it leaves when they end). */
  void(grantId: string, reason: string | null, nowMs: number): LedgerResult<{ grant: GrantView; transaction: LedgerEntry }> {
    if (!this.store.account()) return accountNotFound();
    const grant = this.grants.grant(grantId);
    if (!grant) return refusal("GRANT_NOT_FOUND", `Grant '${grantId}' not found`);
    if (grant.ended) return refusal("GRANT_ENDED", `Grant '${grantId}' has already ${grant.ended}; there is nothing to void`);
    const live = this.ledger.liveGrants().find((g) => g.grant_id === grantId)!;
    const { transaction } = this.ledger.end(live, "voided", reason ?? `Grant ${grantId} (${grant.source}) voided`, nowMs);
    this.clock.changed();
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
    const terms = allowanceTermsOf(request);
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
    this.clock.changed();
    this.balanceChanged(nowMs);
    return ok({ allowance: this.allowanceView(row), changed: true });
  }

  /** Stops the allowance renewing; the plan credits of the period under way stay until they expire. */
  removeAllowance(): LedgerResult<{ removed: true }> {
    if (!this.store.account()) return accountNotFound();
    if (!this.grants.allowance()) return refusal("ALLOWANCE_NOT_FOUND", "The team has no plan allowance");
    this.grants.removeAllowance();
    this.clock.changed();
    return ok({ removed: true });
  }

  /**
   * The plan allowance with its current period's plan credits (granted, used, remaining), or null
   * without one: what a threshold on the plan reads.
   */
  currentAllowance(): AllowanceView | null {
    const row = this.grants.allowance();
    return row && this.allowanceView(row);
  }

  /** The allowance's current period as its alert thresholds read it: the plan credits granted and used (null without one). */
  allowanceUse(): AllowanceUse | null {
    const row = this.grants.allowance();
    if (!row) return null;
    const { granted, used } = this.allowanceView(row).current_period;
    return {
      allowanceId: row.allowance_id,
      period: row.period,
      periodStartMs: row.period_start_ms,
      periodEndMs: row.period_end_ms,
      granted,
      used,
    };
  }

  private allowanceView(row: AllowanceRow): AllowanceView {
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
