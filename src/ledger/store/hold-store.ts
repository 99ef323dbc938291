import type { CallHoldRow } from "../rows";
import type { LedgerStore } from "./ledger-store";

// The SQL of per-call holds (table call_holds, jobs.calls_hold_micro). Nothing here decides
// anything; the ledger rows that move call_holds_micro go through LedgerStore.appendLedger. The
// table holds only the calls in flight, so all of it is kept in memory (row-cache.ts): read once,
// then written through, so placing and finding a call's hold reads nothing from SQLite.

const byAge = (a: CallHoldRow, b: CallHoldRow) => a.created_at_ms - b.created_at_ms || a.call_id.localeCompare(b.call_id);
const byDeadline = (a: CallHoldRow, b: CallHoldRow) => a.deadline_ms - b.deadline_ms || a.call_id.localeCompare(b.call_id);

export class HoldStore {
  constructor(private readonly store: LedgerStore) {}

  /** Every hold, by call id, as kept in memory (loaded on first use). */
  private all(): Map<string, CallHoldRow> {
    const { rows, sql } = this.store;
    rows.holds ??= new Map(
      sql
        .exec<CallHoldRow>("SELECT * FROM call_holds")
        .toArray()
        .map((row) => [row.call_id, row]),
    );
    return rows.holds;
  }

  hold(callId: string): CallHoldRow | null {
    const row = this.all().get(callId);
    return row ? { ...row } : null;
  }

  /** The holds of a job's calls in flight, oldest first. */
  ofJob(jobId: string): CallHoldRow[] {
    return [...this.all().values()]
      .filter((h) => h.job_id === jobId)
      .map((h) => ({ ...h }))
      .sort(byAge);
  }

  /** Holds whose call is not recorded by `nowMs`, their deadline, oldest first. */
  overdue(nowMs: number): CallHoldRow[] {
    return [...this.all().values()]
      .filter((h) => h.deadline_ms <= nowMs)
      .map((h) => ({ ...h }))
      .sort(byDeadline);
  }

  /** The earliest deadline of a hold (null with none). */
  nextDeadlineMs(): number | null {
    let next: number | null = null;
    for (const h of this.all().values()) if (next === null || h.deadline_ms < next) next = h.deadline_ms;
    return next;
  }

  insert(row: CallHoldRow): void {
    const kept = this.all();
    this.store.rows.mirrored(() =>
      this.store.sql.exec(
        `INSERT INTO call_holds (call_id, job_id, hold_micro, cap_nano, prompt_tokens, max_tokens, choices, created_at_ms, deadline_ms,
           incarnation, model_group, stream, tags, end_user)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        row.call_id,
        row.job_id,
        row.hold_micro,
        row.cap_nano,
        row.prompt_tokens,
        row.max_tokens,
        row.choices,
        row.created_at_ms,
        row.deadline_ms,
        row.incarnation,
        row.model_group,
        row.stream,
        row.tags,
        row.end_user,
      ),
    );
    kept.set(row.call_id, { ...row });
    if (row.hold_micro !== 0) this.store.addJobCallsHold(row.job_id, row.hold_micro);
  }

  /** Removes a settled call's hold from its row and its job's total. */
  remove(row: CallHoldRow): void {
    const kept = this.all();
    this.store.rows.mirrored(() => this.store.sql.exec("DELETE FROM call_holds WHERE call_id = ?", row.call_id));
    kept.delete(row.call_id);
    if (row.hold_micro !== 0) this.store.addJobCallsHold(row.job_id, -row.hold_micro);
  }
}
