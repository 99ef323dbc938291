import type { BudgetPeriod } from "../../schemas/period-budgets";

// A period budget: a cap on what one subject (a team's key, or one of its end users) may spend
// in a window of time that resets at a UTC boundary. Pure rules here: the windows, the room a
// budget leaves, and the alert thresholds a spend crosses (its 402 is admission.ts's). The rows
// and the holds are changes/period-budgets.ts; anything with a cap that renews (a plan's
// allowance) can use the same window and threshold rules.

/** What a budget caps. */
export type BudgetSubject = { kind: "key"; id: string } | { kind: "end_user"; id: string };

/** A budget as set: credits per period. */
export interface PeriodBudget {
  credits: number;
  period: BudgetPeriod;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** When the window holding `nowMs` started (0 for `total`: it never resets). */
export function windowStartMs(period: BudgetPeriod, nowMs: number): number {
  const now = new Date(nowMs);
  switch (period) {
    case "day":
      return Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
    case "week": {
      const day = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
      // getUTCDay: Sunday 0 … Saturday 6; weeks start on Monday.
      return day - ((now.getUTCDay() + 6) % 7) * DAY_MS;
    }
    case "month":
      return Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
    case "total":
      return 0;
  }
}

/** When the window holding `nowMs` ends and the next begins (null for `total`). */
export function windowEndMs(period: BudgetPeriod, nowMs: number): number | null {
  const start = new Date(windowStartMs(period, nowMs));
  switch (period) {
    case "day":
      return start.getTime() + DAY_MS;
    case "week":
      return start.getTime() + 7 * DAY_MS;
    case "month":
      return Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1);
    case "total":
      return null;
  }
}

/** What a budget leaves for new holds, in micro-credits: its cap less what was spent in the window and what is held now. */
export function budgetRoomMicro(budgetMicro: number, spentMicro: number, heldMicro: number): number {
  return budgetMicro - spentMicro - heldMicro;
}

/**
 * The alert thresholds (percentages of the budget, ascending) that a window's spend has reached
 * and that have not fired yet in it: `alertedPercent` is the highest that already fired.
 */
export function thresholdsCrossed(thresholds: number[], budgetMicro: number, spentMicro: number, alertedPercent: number): number[] {
  if (budgetMicro <= 0) return [];
  return [...thresholds].sort((a, b) => a - b).filter((t) => t > alertedPercent && spentMicro * 100 >= t * budgetMicro);
}

/** A subject's name in a refusal or an event: the key's name, or the end user's id. */
export function subjectLabel(subject: BudgetSubject, keyName?: string | null): string {
  return subject.kind === "key" ? `key '${keyName ?? subject.id}'` : `end user '${subject.id}'`;
}
