import { onLedger, type TeamAddress } from "../../ledger/client";
import type { Caller } from "../../ledger/rules/access";
import type { LedgerEntry } from "../../ledger/types";
import { csvResponse } from "../csv";

// A team's whole ledger as CSV, newest first, read from its object a page at a time while the
// client downloads (never all of it at once). Pages follow the ledger's own positions, so rows
// written during the export neither repeat nor push others out; they are simply not in it.

/** Ledger rows per round trip to the team's object. */
export const EXPORT_PAGE_ROWS = 500;

const COLUMNS = [
  "transaction_id",
  "team_id",
  "created_at",
  "kind",
  "amount",
  "reserved_change",
  "held_change_micro",
  "balance_before",
  "balance_after",
  "job_id",
  "reason",
] as const satisfies ReadonlyArray<keyof LedgerEntry>;

/**
 * The first page is read before answering, so a refused key or an unreachable ledger is an
 * ordinary error answer; a failure on a later page ends the download early.
 */
export async function transactionsCsv(env: Env, team: TeamAddress, caller: Caller): Promise<Response> {
  let page = await onLedger(env, team, "transactionsBefore", caller, null, EXPORT_PAGE_ROWS);
  async function* pages(): AsyncIterable<unknown[][]> {
    for (;;) {
      yield page.items.map((entry) => COLUMNS.map((k) => entry[k]));
      if (page.next === null) return;
      page = await onLedger(env, team, "transactionsBefore", caller, page.next, EXPORT_PAGE_ROWS);
    }
  }
  return csvResponse(`transactions-${team.teamId}.csv`, COLUMNS, pages());
}
