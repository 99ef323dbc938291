import type { CallHoldRow } from "../rows";

// The SQL of per-call holds (table call_holds, jobs.calls_hold_micro). Nothing here decides
// anything; the ledger rows that move call_holds_micro go through LedgerStore.appendLedger.

export class HoldStore {
  constructor(private readonly sql: SqlStorage) {}

  hold(callId: string): CallHoldRow | null {
    return this.sql.exec<CallHoldRow>("SELECT * FROM call_holds WHERE call_id = ?", callId).toArray()[0] ?? null;
  }

  /** The holds of a job's calls in flight, oldest first. */
  ofJob(jobId: string): CallHoldRow[] {
    return this.sql.exec<CallHoldRow>("SELECT * FROM call_holds WHERE job_id = ? ORDER BY created_at_ms, call_id", jobId).toArray();
  }

  /** Holds whose call is not recorded by `nowMs`, their deadline, oldest first. */
  overdue(nowMs: number): CallHoldRow[] {
    return this.sql.exec<CallHoldRow>("SELECT * FROM call_holds WHERE deadline_ms <= ? ORDER BY deadline_ms, call_id", nowMs).toArray();
  }

  /** The earliest deadline of a hold (null with none). */
  nextDeadlineMs(): number | null {
    return this.sql.exec<{ next: number | null }>("SELECT MIN(deadline_ms) AS next FROM call_holds").one().next;
  }

  insert(row: CallHoldRow): void {
    this.sql.exec(
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
    );
    this.addToJob(row.job_id, row.hold_micro);
  }

  /** Removes a settled call's hold from its row and its job's total. */
  remove(row: CallHoldRow): void {
    this.sql.exec("DELETE FROM call_holds WHERE call_id = ?", row.call_id);
    this.addToJob(row.job_id, -row.hold_micro);
  }

  private addToJob(jobId: string, deltaMicro: number): void {
    if (deltaMicro !== 0) this.sql.exec("UPDATE jobs SET calls_hold_micro = calls_hold_micro + ? WHERE job_id = ?", deltaMicro, jobId);
  }
}
