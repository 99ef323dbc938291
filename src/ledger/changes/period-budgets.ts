import type { BudgetPeriod } from "../../schemas/period-budgets";
import type { WebhookEventType } from "../../webhooks/events";
import type { JobRow } from "../rows";
import { budgetExceeded } from "../rules/admission";
import { MICRO_PER_CREDIT } from "../rules/money";
import {
  type BudgetSubject,
  budgetRoomMicro,
  type PeriodBudget,
  subjectLabel,
  thresholdsCrossed,
  windowEndMs,
  windowStartMs,
} from "../rules/period-budget";
import { type BudgetRow, BudgetStore } from "../store/budget-store";
import type { Refusal } from "../types";

// Period budgets inside the team's object: a cap per key, and per end user when the team sets
// one, on what the subject's jobs may be charged in a window (a UTC day, week or month, or in
// total). A job counts against the key that opened it and the end user it was opened for. It is
// held like the team's balance: opening a job needs room for its reservation, and a call's hold
// of its worst case must fit what the subject has left (spent in the window + held by its jobs
// now), with no await between the check and the write, so concurrent calls never overspend.
// Charges are counted when the ledger writes them (chargedToJob), in the window they fall in;
// the alarm starts the new windows at their UTC boundary (rollOver), and a read past a boundary
// sees the new window even before it has run.

/** What the budgets need from their object: webhook events, and key names for them. */
export interface BudgetHost {
  emit(type: WebhookEventType, data: Record<string, unknown>, nowMs: number): void;
  keyName(keyId: string): string | null;
}

/** The tightest budget over a job, as a hold checks it: its room, and the refusal when a hold does not fit. */
export interface BudgetLimit {
  roomMicro: number;
  refuse(needMicro: number, what: string): Refusal;
}

/** A subject's budget as shown: the cap, what was spent in the window, what is held now, and when the window resets. */
export interface BudgetState {
  budget: PeriodBudget;
  spentMicro: number;
  heldMicro: number;
  windowStartMs: number;
  resetsAtMs: number | null;
}

const creditsOf = (micro: number) => micro / MICRO_PER_CREDIT;

export class PeriodBudgets {
  readonly store: BudgetStore;

  constructor(
    sql: SqlStorage,
    private readonly host: BudgetHost,
  ) {
    this.store = new BudgetStore(sql);
  }

  /** Sets, changes or removes a key's budget (call inside the key change's transaction). */
  setKeyBudget(keyId: string, budget: PeriodBudget | null, nowMs: number): void {
    const subject: BudgetSubject = { kind: "key", id: keyId };
    if (budget === null) this.store.removeBudget(subject);
    else this.store.putBudget(subject, budget.credits * MICRO_PER_CREDIT, budget.period, windowStartMs(budget.period, nowMs));
  }

  /** Sets, changes or removes the budget every end user of the team has (the rows of end users seen so far follow). */
  setEndUserBudget(budget: PeriodBudget | null, nowMs: number): void {
    if (budget === null) this.store.removeBudgetsOf("end_user");
    else this.store.setEndUserBudgets(budget.credits * MICRO_PER_CREDIT, budget.period, windowStartMs(budget.period, nowMs));
  }

  /** The budgets a job counts against (an end user's is made on the job's first use when the team has an end-user budget). */
  private budgetsOf(job: Pick<JobRow, "key_id" | "end_user">, nowMs: number): Array<{ subject: BudgetSubject; row: BudgetRow }> {
    const found: Array<{ subject: BudgetSubject; row: BudgetRow }> = [];
    if (job.key_id !== null) {
      const subject: BudgetSubject = { kind: "key", id: job.key_id };
      const row = this.current(subject, nowMs);
      if (row) found.push({ subject, row });
    }
    if (job.end_user !== null) {
      const subject: BudgetSubject = { kind: "end_user", id: job.end_user };
      const row = this.current(subject, nowMs) ?? this.endUserBudgetFor(subject, nowMs);
      if (row) found.push({ subject, row });
    }
    return found;
  }

  /** Whether a job's subjects have budgets (a call then always holds its worst case, whatever the team's overdraft). */
  limits(job: Pick<JobRow, "key_id" | "end_user">): boolean {
    if (job.key_id !== null && this.store.budget({ kind: "key", id: job.key_id })) return true;
    return (
      job.end_user !== null &&
      (this.store.policy().end_user_credits !== null || !!this.store.budget({ kind: "end_user", id: job.end_user }))
    );
  }

  /**
   * The tightest room a job's budgets leave for new holds, beyond what the job itself already
   * holds and has not used (`ownSlackMicro`); null when none of its subjects has a budget.
   */
  limitFor(job: Pick<JobRow, "key_id" | "end_user">, ownSlackMicro: number, nowMs: number): BudgetLimit | null {
    let tightest: BudgetLimit | null = null;
    for (const { subject, row } of this.budgetsOf(job, nowMs)) {
      const roomMicro = budgetRoomMicro(row.budget_micro, row.spent_micro, this.store.heldMicro(subject)) + ownSlackMicro;
      if (tightest !== null && tightest.roomMicro <= roomMicro) continue;
      tightest = {
        roomMicro,
        refuse: (needMicro, what) =>
          budgetExceeded(this.labelOf(subject), budgetOf(row), roomMicro, needMicro, windowEndMs(row.period, nowMs), what),
      };
    }
    return tightest;
  }

  /** A job may open only when each of its budgets has room for its reservation. */
  refuseJob(job: Pick<JobRow, "key_id" | "end_user">, reservationMicro: number, nowMs: number): Refusal | null {
    const limit = this.limitFor(job, 0, nowMs);
    return limit && limit.roomMicro < reservationMicro ? limit.refuse(reservationMicro, "a new job") : null;
  }

  /**
   * The ledger charged a job (`deltaCredits` > 0) or gave a charge back (< 0): its subjects' spend
   * in the window follows (a refund only of a charge made in the current window), then the
   * alert thresholds it crosses fire, once each per window, in order. In the change's transaction.
   */
  chargedToJob(job: JobRow, deltaCredits: number, nowMs: number): void {
    for (const { subject, row } of this.budgetsOf(job, nowMs)) {
      if (deltaCredits < 0 && (job.completed_at === null || Date.parse(job.completed_at) < row.window_start_ms)) continue;
      this.store.addSpent(subject, deltaCredits * MICRO_PER_CREDIT);
      this.alert(subject, this.store.budget(subject)!, nowMs);
    }
  }

  /** Starts the windows whose UTC boundary has passed (the alarm's work; a read past a boundary does it too). */
  rollOver(nowMs: number): void {
    for (const period of this.store.resettingPeriods()) this.store.rollOver(period, windowStartMs(period, nowMs));
  }

  /** When the next window starts, for the alarm (null: no budget resets). */
  nextResetMs(nowMs: number): number | null {
    const ends = this.store.resettingPeriods().map((p) => windowEndMs(p, nowMs)!);
    return ends.length > 0 ? Math.min(...ends) : null;
  }

  /** A subject's budget as it stands now (null: it has none). */
  state(subject: BudgetSubject, nowMs: number): BudgetState | null {
    const row = this.current(subject, nowMs);
    if (!row) return null;
    return {
      budget: budgetOf(row),
      spentMicro: row.spent_micro,
      heldMicro: this.store.heldMicro(subject),
      windowStartMs: row.window_start_ms,
      resetsAtMs: windowEndMs(row.period, nowMs),
    };
  }

  /** A subject's row in its current window: a row whose window has ended is rolled over first. */
  private current(subject: BudgetSubject, nowMs: number): BudgetRow | null {
    const row = this.store.budget(subject);
    if (!row || row.window_start_ms >= windowStartMs(row.period, nowMs)) return row;
    this.store.rollOver(row.period, windowStartMs(row.period, nowMs));
    return this.store.budget(subject);
  }

  /** An end user's budget row, made from the team's end-user budget the first time the end user is seen. */
  private endUserBudgetFor(subject: BudgetSubject, nowMs: number): BudgetRow | null {
    const policy = this.store.policy();
    if (policy.end_user_credits === null || policy.end_user_period === null) return null;
    const period: BudgetPeriod = policy.end_user_period;
    this.store.putBudget(subject, policy.end_user_credits * MICRO_PER_CREDIT, period, windowStartMs(period, nowMs));
    return this.store.budget(subject);
  }

  private alert(subject: BudgetSubject, row: BudgetRow, nowMs: number): void {
    const thresholds = JSON.parse(this.store.policy().alert_thresholds) as number[];
    const crossed = thresholdsCrossed(thresholds, row.budget_micro, row.spent_micro, row.alerted_percent);
    const exhausted = subject.kind === "key" && row.exhausted === 0 && row.spent_micro >= row.budget_micro;
    if (crossed.length === 0 && !exhausted) return;
    this.store.setAlerts(subject, crossed.at(-1) ?? row.alerted_percent, row.exhausted === 1 || exhausted);
    const about = this.eventSubject(subject, row, nowMs);
    for (const threshold of crossed) this.host.emit("budget.threshold", { ...about, threshold_percent: threshold }, nowMs);
    if (exhausted) this.host.emit("key.budget_exhausted", about, nowMs);
  }

  /** What a budget event says of its subject and its window. */
  private eventSubject(subject: BudgetSubject, row: BudgetRow, nowMs: number): Record<string, unknown> {
    const resets = windowEndMs(row.period, nowMs);
    return {
      subject:
        subject.kind === "key"
          ? { type: "key", key_id: subject.id, name: this.host.keyName(subject.id) }
          : { type: "end_user", end_user: subject.id },
      budget_credits: creditsOf(row.budget_micro),
      spent_credits: creditsOf(row.spent_micro),
      period: row.period,
      window_start: new Date(row.window_start_ms).toISOString(),
      resets_at: resets === null ? null : new Date(resets).toISOString(),
    };
  }

  private labelOf(subject: BudgetSubject): string {
    return subjectLabel(subject, subject.kind === "key" ? this.host.keyName(subject.id) : null);
  }
}

function budgetOf(row: BudgetRow): PeriodBudget {
  return { credits: creditsOf(row.budget_micro), period: row.period };
}
