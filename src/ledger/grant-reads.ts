import type { GrantChanges } from "./changes/grants";
import type { AccountRow } from "./rows";
import { grantPageOf, monthRange, statementOf } from "./rules/grant-views";
import type { GrantStore } from "./store/grant-store";
import { type AllowanceView, type GrantView, type LedgerResult, ok, type Page, refusal, type Statement } from "./types";

// What the team object's grant reads answer (its guards let the caller in first): the grants,
// the allowance with its period's plan credits, and a month's statement. Reads change nothing.

export class GrantReads {
  constructor(
    private readonly grants: GrantStore,
    private readonly changes: GrantChanges,
  ) {}

  /** Grants newest first; `live` leaves out expired and voided ones. */
  list(live: boolean, limit: number, offset: number): LedgerResult<Page<GrantView>> {
    return ok(grantPageOf(this.grants.list(live, limit, offset), limit, offset));
  }

  allowance(): LedgerResult<AllowanceView> {
    const allowance = this.changes.currentAllowance();
    return allowance ? ok(allowance) : refusal("ALLOWANCE_NOT_FOUND", "The team has no plan allowance");
  }

  /** A calendar month's statement (UTC): the ledger's totals and each grant's part in them. */
  statement(acct: AccountRow, period: string): LedgerResult<Statement> {
    const range = monthRange(period);
    if (!range) return refusal("INVALID_ARGUMENT", "period must be a month as YYYY-MM");
    const { fromMs, toMs } = range;
    const totals = this.grants.ledgerTotals(new Date(fromMs).toISOString(), new Date(toMs).toISOString());
    const before = this.grants.remainingBefore(fromMs);
    const moves = this.grants.movesBetween(fromMs, toMs);
    const ids = new Set<string>();
    for (const m of [...before, ...moves]) if (m.grant_id !== null) ids.add(m.grant_id);
    return ok(
      statementOf({
        teamId: acct.team_id,
        period,
        fromMs,
        toMs,
        openingBalance: totals.before,
        ledger: totals.kinds,
        before,
        moves,
        grants: this.grants.grantsById([...ids]),
      }),
    );
  }
}
