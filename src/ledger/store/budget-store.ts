import type { BudgetPeriod } from "../../schemas/period-budgets";
import type { BudgetRow, PolicyRow, RechargeRow } from "../rows";
import type { BudgetSubject } from "../rules/period-budget";
import type { RowCache } from "./row-cache";

// The SQL of period budgets and the team's budget policy (migration 270; the plan allowance's alerts, 300): a row per subject
// with a budget (its window and what was spent in it), what a subject's jobs hold now (from the
// jobs themselves, so it can never drift from the team's own holds), the policy row, and the
// recharge requests made. Nothing here decides anything: changes/period-budgets.ts and
// changes/recharges.ts do. The budgets, what their subjects hold and the policy are kept in
// memory (row-cache.ts): read once, written through, so an admission reads none of them.

const HOLDING_COLUMN: Record<BudgetSubject["kind"], string> = { key: "key_id", end_user: "end_user" };

const subjectKey = (subject: BudgetSubject) => `${subject.kind}:${subject.id}`;

export class BudgetStore {
  constructor(
    private readonly sql: SqlStorage,
    private readonly rows: RowCache,
  ) {}

  /** A subject's budget (a copy), or null. */
  budget(subject: BudgetSubject): BudgetRow | null {
    const { subjects } = this.rows.budgets;
    const key = subjectKey(subject);
    let row = subjects.get(key);
    if (row === undefined) {
      row =
        this.sql
          .exec<BudgetRow>("SELECT * FROM period_budgets WHERE subject_kind = ? AND subject_id = ?", subject.kind, subject.id)
          .toArray()[0] ?? null;
      subjects.set(key, row);
    }
    return row && { ...row };
  }

  /** A write to one subject's row, mirrored into its kept row (`patch`; none: read again when next needed). */
  private writeSubject(subject: BudgetSubject, patch: ((row: BudgetRow) => void) | null, query: string, ...bindings: SqlStorageValue[]) {
    this.rows.mirrored(() => this.sql.exec(query, ...bindings));
    const key = subjectKey(subject);
    const row = this.rows.budgets.subjects.get(key);
    if (patch && row) patch(row);
    else this.rows.budgets.subjects.delete(key);
  }

  /** Every budget of one kind of subject. */
  budgetsOf(kind: BudgetSubject["kind"]): BudgetRow[] {
    return this.sql.exec<BudgetRow>("SELECT * FROM period_budgets WHERE subject_kind = ? ORDER BY subject_id", kind).toArray();
  }

  /** Sets a subject's cap and period, keeping what it spent in its window (a new row starts at nothing spent). */
  putBudget(subject: BudgetSubject, budgetMicro: number, period: BudgetPeriod, windowStartMs: number): void {
    this.rows.budgets.resetting = undefined;
    this.writeSubject(
      subject,
      null,
      `INSERT INTO period_budgets (subject_kind, subject_id, budget_micro, period, window_start_ms) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (subject_kind, subject_id) DO UPDATE SET budget_micro = excluded.budget_micro, period = excluded.period,
         window_start_ms = excluded.window_start_ms`,
      subject.kind,
      subject.id,
      budgetMicro,
      period,
      windowStartMs,
    );
  }

  /** Sets the cap and period of every end user's budget at once (the team's end-user budget changed). */
  setEndUserBudgets(budgetMicro: number, period: BudgetPeriod, windowStartMs: number): void {
    this.sql.exec(
      "UPDATE period_budgets SET budget_micro = ?, period = ?, window_start_ms = ? WHERE subject_kind = 'end_user'",
      budgetMicro,
      period,
      windowStartMs,
    );
  }

  removeBudget(subject: BudgetSubject): void {
    this.sql.exec("DELETE FROM period_budgets WHERE subject_kind = ? AND subject_id = ?", subject.kind, subject.id);
  }

  removeBudgetsOf(kind: BudgetSubject["kind"]): void {
    this.sql.exec("DELETE FROM period_budgets WHERE subject_kind = ?", kind);
  }

  /** Adds to what a subject spent in its window (negative for a refund), never below zero. */
  addSpent(subject: BudgetSubject, deltaMicro: number): void {
    this.writeSubject(
      subject,
      (row) => {
        row.spent_micro = Math.max(0, row.spent_micro + deltaMicro);
      },
      "UPDATE period_budgets SET spent_micro = MAX(0, spent_micro + ?) WHERE subject_kind = ? AND subject_id = ?",
      deltaMicro,
      subject.kind,
      subject.id,
    );
  }

  setAlerts(subject: BudgetSubject, alertedPercent: number, exhausted: boolean): void {
    this.writeSubject(
      subject,
      (row) => {
        row.alerted_percent = alertedPercent;
        row.exhausted = exhausted ? 1 : 0;
      },
      "UPDATE period_budgets SET alerted_percent = ?, exhausted = ? WHERE subject_kind = ? AND subject_id = ?",
      alertedPercent,
      exhausted ? 1 : 0,
      subject.kind,
      subject.id,
    );
  }

  /** Starts a new window for every budget of `period` whose window began before `windowStartMs`: nothing spent, no alert fired. */
  rollOver(period: BudgetPeriod, windowStartMs: number): number {
    return this.sql.exec(
      `UPDATE period_budgets SET window_start_ms = ?, spent_micro = 0, alerted_percent = 0, exhausted = 0
       WHERE period = ? AND window_start_ms < ?`,
      windowStartMs,
      period,
      windowStartMs,
    ).rowsWritten;
  }

  /** The periods that have budgets and reset (not `total`). */
  resettingPeriods(): BudgetPeriod[] {
    this.rows.budgets.resetting ??= this.sql
      .exec<{ period: BudgetPeriod }>("SELECT DISTINCT period FROM period_budgets WHERE period != 'total'")
      .toArray()
      .map((r) => r.period);
    return [...this.rows.budgets.resetting];
  }

  /** What a subject's jobs hold now (open jobs, and closed ones whose calls in flight still hold), in micro-credits. */
  heldMicro(subject: BudgetSubject): number {
    const key = subjectKey(subject);
    let held = this.rows.held.get(key);
    if (held === undefined) {
      held =
        this.sql
          .exec<{ held: number | null }>(
            `SELECT SUM(hold_micro) AS held FROM jobs WHERE ${HOLDING_COLUMN[subject.kind]} = ? AND hold_micro <> 0`,
            subject.id,
          )
          .one().held ?? 0;
      this.rows.held.set(key, held);
    }
    return held;
  }

  // ---------------------------------------------------------------- policy

  policy(): PolicyRow {
    this.rows.budgets.policy ??= this.sql.exec<PolicyRow>("SELECT * FROM budget_policy WHERE id = 1").toArray()[0] ?? {
      alert_thresholds: "[]",
      recharge_below: null,
      recharge_target: null,
      recharge_open: null,
      end_user_credits: null,
      end_user_period: null,
    };
    return { ...this.rows.budgets.policy };
  }

  putPolicy(policy: PolicyRow): void {
    this.sql.exec(
      `INSERT OR REPLACE INTO budget_policy (id, alert_thresholds, recharge_below, recharge_target, recharge_open, end_user_credits,
         end_user_period) VALUES (1, ?, ?, ?, ?, ?, ?)`,
      policy.alert_thresholds,
      policy.recharge_below,
      policy.recharge_target,
      policy.recharge_open,
      policy.end_user_credits,
      policy.end_user_period,
    );
  }

  // ---------------------------------------------------------------- recharge requests

  recharge(idempotencyKey: string): RechargeRow | null {
    return this.sql.exec<RechargeRow>("SELECT * FROM recharge_requests WHERE idempotency_key = ?", idempotencyKey).toArray()[0] ?? null;
  }

  insertRecharge(idempotencyKey: string, amount: number, nowMs: number): void {
    this.sql.exec(
      "INSERT INTO recharge_requests (idempotency_key, amount, requested_at_ms) VALUES (?, ?, ?)",
      idempotencyKey,
      amount,
      nowMs,
    );
  }

  markRechargeApplied(idempotencyKey: string, credits: number, result: unknown, nowMs: number): void {
    this.sql.exec(
      "UPDATE recharge_requests SET applied_at_ms = ?, applied_credits = ?, result = ? WHERE idempotency_key = ?",
      nowMs,
      credits,
      JSON.stringify(result),
      idempotencyKey,
    );
  }

  // ---------------------------------------------------------------- plan allowance alerts (migration 300)

  /** The highest threshold fired for an allowance's period (0: none yet). */
  allowanceAlerted(allowanceId: string, periodStartMs: number): number {
    const row = this.sql
      .exec<{ alerted_percent: number }>(
        "SELECT alerted_percent FROM allowance_alert WHERE id = 1 AND allowance_id = ? AND period_start_ms = ?",
        allowanceId,
        periodStartMs,
      )
      .toArray()[0];
    return row?.alerted_percent ?? 0;
  }

  setAllowanceAlerted(allowanceId: string, periodStartMs: number, percent: number): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO allowance_alert (id, allowance_id, period_start_ms, alerted_percent) VALUES (1, ?, ?, ?)",
      allowanceId,
      periodStartMs,
      percent,
    );
  }
}
