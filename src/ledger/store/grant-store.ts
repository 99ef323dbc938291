import type { GrantMoveKind, GrantSource } from "../../schemas/grants";
import type { AllowanceRow, GrantEnd, GrantMoveRow, GrantRow, HeldCredits, LedgerRow, NewGrant } from "../rows";
import { burnOrder } from "../rules/grants";
import type { LedgerEntry } from "../types";
import { LEDGER_SELECT, withGrantSplits } from "./pages";

// The SQL of a team's grants (tables grants, grant_moves, grant_holds and allowance; see
// schema.ts). The grants that can still move (live ones, and ended ones still held for open
// jobs) are few, so they are kept in memory in burn-down order, read once per object start and
// after a rolled-back transaction (forget). Nothing here decides anything: changes/grant-ledger.ts does.

export class GrantStore {
  /** Grants that can still move, in burn-down order (null: to be read again). */
  private movable: GrantRow[] | null = null;
  /** Per job, what it holds of ended grants, in the order it was set aside. */
  private held: Map<string, HeldCredits[]> | null = null;

  constructor(private readonly sql: SqlStorage) {}

  /** Drops what is kept in memory (after a rolled-back transaction, or erasure): the next read loads it again. */
  forget(): void {
    this.movable = null;
    this.held = null;
  }

  /** Grants not ended, and ended ones still held for jobs, in burn-down order. */
  movableGrants(): readonly GrantRow[] {
    this.movable ??= this.sql.exec<GrantRow>("SELECT * FROM grants WHERE ended IS NULL OR remaining > 0").toArray().sort(burnOrder);
    return this.movable;
  }

  /** What each job holds of ended grants. */
  private heldByJob(): Map<string, HeldCredits[]> {
    if (this.held) return this.held;
    const map = new Map<string, HeldCredits[]>();
    for (const row of this.sql.exec<HeldCredits & { job_id: string }>("SELECT job_id, grant_id, credits FROM grant_holds ORDER BY seq")) {
      const list = map.get(row.job_id) ?? [];
      list.push({ grant_id: row.grant_id, credits: row.credits });
      map.set(row.job_id, list);
    }
    this.held = map;
    return map;
  }

  heldFor(jobId: string): readonly HeldCredits[] {
    return this.heldByJob().get(jobId) ?? [];
  }

  /** Whether any job holds credits of an ended grant (almost never: then nothing else need be asked). */
  anyHeld(): boolean {
    return this.heldByJob().size > 0;
  }

  grant(grantId: string): GrantRow | null {
    return this.sql.exec<GrantRow>("SELECT * FROM grants WHERE grant_id = ?", grantId).toArray()[0] ?? null;
  }

  byExternalRef(externalRef: string): GrantRow | null {
    return this.sql.exec<GrantRow>("SELECT * FROM grants WHERE external_ref = ?", externalRef).toArray()[0] ?? null;
  }

  /** Grants newest first, one more than `limit` (to tell whether there are more); `live` leaves out ended ones. */
  list(live: boolean, limit: number, offset: number): GrantRow[] {
    return this.sql
      .exec<GrantRow>(
        "SELECT * FROM grants WHERE ?1 = 0 OR ended IS NULL ORDER BY seq DESC LIMIT ?2 OFFSET ?3",
        live ? 1 : 0,
        limit + 1,
        offset,
      )
      .toArray();
  }

  insert(grant: NewGrant): GrantRow {
    this.sql.exec(
      `INSERT INTO grants (grant_id, source, credits, remaining, priority, expires_at_ms, created_at_ms, reason, external_ref,
         allowance_id, plan_period_ms, plan_kind)
       VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)`,
      grant.grant_id,
      grant.source,
      grant.credits,
      grant.priority,
      grant.expires_at_ms,
      grant.created_at_ms,
      grant.reason,
      grant.external_ref,
      grant.allowance_id,
      grant.plan_period_ms,
      grant.plan_kind,
    );
    const row = this.grant(grant.grant_id)!;
    if (this.movable) this.movable = [...this.movable, row].sort(burnOrder);
    return row;
  }

  /** Writes moves; the database applies each to its grant's remaining credits (trigger grant_moves_apply), and so does memory. */
  move(moves: readonly GrantMoveRow[]): void {
    for (const m of moves) {
      this.sql.exec(
        "INSERT INTO grant_moves (ledger_seq, grant_id, kind, credits, job_id, at_ms) VALUES (?, ?, ?, ?, ?, ?)",
        m.ledger_seq,
        m.grant_id,
        m.kind,
        m.credits,
        m.job_id,
        m.at_ms,
      );
      if (m.grant_id === null || m.credits === 0) continue;
      const kept = this.movable?.find((g) => g.grant_id === m.grant_id);
      if (kept) kept.remaining += m.credits;
      else this.movable = null;
    }
    // An ended grant with nothing left cannot move again.
    if (this.movable?.some((g) => g.ended !== null && g.remaining <= 0))
      this.movable = this.movable.filter((g) => g.ended === null || g.remaining > 0);
  }

  end(grantId: string, end: GrantEnd, atMs: number): void {
    this.sql.exec("UPDATE grants SET ended = ?, ended_at_ms = ? WHERE grant_id = ?", end, atMs, grantId);
    const kept = this.movable?.find((g) => g.grant_id === grantId);
    if (kept) {
      kept.ended = end;
      kept.ended_at_ms = atMs;
      if (kept.remaining <= 0) this.movable = this.movable!.filter((g) => g !== kept);
    }
  }

  markNoticed(grantId: string): void {
    this.sql.exec("UPDATE grants SET notice_sent = 1 WHERE grant_id = ?", grantId);
    const kept = this.movable?.find((g) => g.grant_id === grantId);
    if (kept) kept.notice_sent = 1;
  }

  /** Sets what a job holds of an ended grant (0 removes it). */
  setHeld(jobId: string, grantId: string, credits: number): void {
    if (credits <= 0) this.sql.exec("DELETE FROM grant_holds WHERE job_id = ? AND grant_id = ?", jobId, grantId);
    else {
      this.sql.exec(
        `INSERT INTO grant_holds (job_id, grant_id, credits) VALUES (?, ?, ?)
         ON CONFLICT (job_id, grant_id) DO UPDATE SET credits = excluded.credits`,
        jobId,
        grantId,
        credits,
      );
    }
    this.held = null;
  }

  /** What a job's charges took from each grant (grant_id null: the overdraft), less what refunds gave back. */
  paidForJob(jobId: string): Array<{ grant_id: string | null; credits: number }> {
    return this.sql
      .exec<{ grant_id: string | null; credits: number }>(
        `SELECT grant_id, -SUM(credits) AS credits FROM grant_moves WHERE job_id = ? AND kind IN ('charge', 'refund')
         GROUP BY grant_id HAVING SUM(credits) < 0 ORDER BY MIN(seq)`,
        jobId,
      )
      .toArray();
  }

  /** Every move at or after `fromMs` and before `toMs`, oldest first, with its grant's source. */
  movesBetween(fromMs: number, toMs: number): Array<GrantMoveRow & { source: GrantSource | null }> {
    return this.sql
      .exec<GrantMoveRow & { source: GrantSource | null }>(
        `SELECT m.ledger_seq, m.grant_id, m.kind, m.credits, m.job_id, m.at_ms, g.source FROM grant_moves m
         LEFT JOIN grants g ON g.grant_id = m.grant_id WHERE m.at_ms >= ? AND m.at_ms < ? ORDER BY m.seq`,
        fromMs,
        toMs,
      )
      .toArray();
  }

  /** Each grant's remaining credits before `atMs` (grant_id null: the overdraft), from its moves. */
  remainingBefore(atMs: number): Array<{ grant_id: string | null; credits: number }> {
    return this.sql
      .exec<{ grant_id: string | null; credits: number }>(
        "SELECT grant_id, SUM(credits) AS credits FROM grant_moves WHERE at_ms < ? GROUP BY grant_id",
        atMs,
      )
      .toArray();
  }

  /** The ledger row that made a grant (its first `grant` move). */
  allocationRowOf(grantId: string, teamId: string): LedgerEntry | null {
    const row = this.sql
      .exec<LedgerRow & { seq: number; grants: string }>(
        `${LEDGER_SELECT} WHERE seq = (SELECT ledger_seq FROM grant_moves WHERE grant_id = ? AND kind = 'grant' ORDER BY seq LIMIT 1)`,
        grantId,
      )
      .toArray()
      .map(withGrantSplits)[0];
    if (!row) return null;
    const { seq: _seq, ...entry } = row;
    return { ...entry, team_id: teamId };
  }

  /** The ledger's sum of amounts before `fromIso`, and per kind from it to before `toIso`: a statement's totals. */
  ledgerTotals(fromIso: string, toIso: string): { before: number; kinds: Array<{ kind: string; amount: number }> } {
    const before = this.sql
      .exec<{ total: number | null }>("SELECT SUM(amount) AS total FROM ledger WHERE created_at < ?", fromIso)
      .one().total;
    const kinds = this.sql
      .exec<{ kind: string; amount: number }>(
        "SELECT kind, SUM(amount) AS amount FROM ledger WHERE created_at >= ? AND created_at < ? GROUP BY kind",
        fromIso,
        toIso,
      )
      .toArray();
    return { before: before ?? 0, kinds };
  }

  /** The grants named, by id. */
  grantsById(ids: readonly string[]): GrantRow[] {
    if (ids.length === 0) return [];
    return this.sql
      .exec<GrantRow>("SELECT * FROM grants WHERE grant_id IN (SELECT value FROM json_each(?))", JSON.stringify(ids))
      .toArray();
  }

  // ---------------------------------------------------------------- the allowance

  allowance(): AllowanceRow | null {
    return this.sql.exec<AllowanceRow>("SELECT * FROM allowance WHERE id = 1").toArray()[0] ?? null;
  }

  putAllowance(row: AllowanceRow): void {
    this.sql.exec(
      `INSERT OR REPLACE INTO allowance (id, allowance_id, credits, period, anchor, rollover_max, priority, period_start_ms,
         period_end_ms, created_at_ms, updated_at_ms)
       VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      row.allowance_id,
      row.credits,
      row.period,
      row.anchor,
      row.rollover_max,
      row.priority,
      row.period_start_ms,
      row.period_end_ms,
      row.created_at_ms,
      row.updated_at_ms,
    );
  }

  removeAllowance(): void {
    this.sql.exec("DELETE FROM allowance WHERE id = 1");
  }

  /** The plan grants an allowance made for a period (its own, and what rolled into it). */
  planGrantsOf(allowanceId: string, periodStartMs: number): GrantRow[] {
    return this.sql
      .exec<GrantRow>("SELECT * FROM grants WHERE allowance_id = ? AND plan_period_ms = ? ORDER BY seq", allowanceId, periodStartMs)
      .toArray();
  }

  /** Sums of a ledger row set's grant moves by kind, for an allowance's period: what its plan grants got and gave. */
  planMovesOf(allowanceId: string, periodStartMs: number): Array<{ kind: GrantMoveKind; credits: number }> {
    return this.sql
      .exec<{ kind: GrantMoveKind; credits: number }>(
        `SELECT m.kind, SUM(m.credits) AS credits FROM grant_moves m JOIN grants g ON g.grant_id = m.grant_id
         WHERE g.allowance_id = ? AND g.plan_period_ms = ? GROUP BY m.kind`,
        allowanceId,
        periodStartMs,
      )
      .toArray();
  }
}
