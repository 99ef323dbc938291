import { type AllowancePeriod, DEFAULT_GRANT_PRIORITY } from "../../schemas/grants";
import type { AllowanceRow } from "../rows";
import { type AllowanceRequest, type Refusal, refusal } from "../types";
import { validPriority } from "./grants";

// A plan allowance: `credits` granted each period (a UTC day, week or month), the period's plan
// grant expiring at its end, where the next one is made. Periods begin at midnight UTC: a
// month's on its anchor day (1 to 31; a month shorter than the anchor begins on its last day), a
// week's on its anchor weekday (1 Monday to 7 Sunday). Pure period arithmetic here; the
// renewals themselves are changes/grants.ts's.

const DAY_MS = 24 * 60 * 60 * 1000;

export interface AllowanceTerms {
  credits: number;
  period: AllowancePeriod;
  /** Day of the month (1-31) or ISO weekday (1-7) periods begin on; 1 for days. */
  anchor: number;
  /** What of a period's plan credits left at its end becomes a grant for the next period, at most (null: none does). */
  rolloverMax: number | null;
  priority: number;
}

/** The anchors a period takes, and the one it gets when none is given. */
export const ANCHOR_RANGE: Record<AllowancePeriod, { min: number; max: number; default: number }> = {
  day: { min: 1, max: 1, default: 1 },
  week: { min: 1, max: 7, default: 1 },
  month: { min: 1, max: 31, default: 1 },
};

function monthStart(year: number, month: number, anchor: number): number {
  const daysInMonth = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return Date.UTC(year, month, Math.min(anchor, daysInMonth));
}

/** When the period holding `atMs` began. */
export function periodStartOn(terms: Pick<AllowanceTerms, "period" | "anchor">, atMs: number): number {
  const day = Math.floor(atMs / DAY_MS) * DAY_MS;
  if (terms.period === "day") return day;
  if (terms.period === "week") {
    // getUTCDay: 0 Sunday ... 6 Saturday; ISO weekday: 1 Monday ... 7 Sunday.
    const weekday = new Date(day).getUTCDay() || 7;
    return day - ((weekday - terms.anchor + 7) % 7) * DAY_MS;
  }
  const at = new Date(atMs);
  const thisMonth = monthStart(at.getUTCFullYear(), at.getUTCMonth(), terms.anchor);
  return thisMonth <= atMs ? thisMonth : monthStart(at.getUTCFullYear(), at.getUTCMonth() - 1, terms.anchor);
}

/** When the period that began at `startMs` ends (and the next begins). */
export function periodEndAfter(terms: Pick<AllowanceTerms, "period" | "anchor">, startMs: number): number {
  if (terms.period === "day") return startMs + DAY_MS;
  if (terms.period === "week") return startMs + 7 * DAY_MS;
  const start = new Date(startMs);
  return monthStart(start.getUTCFullYear(), start.getUTCMonth() + 1, terms.anchor);
}

/** A stored allowance's terms. */
export function termsOf(row: AllowanceRow): AllowanceTerms {
  return { credits: row.credits, period: row.period, anchor: row.anchor, rolloverMax: row.rollover_max, priority: row.priority };
}

/** A period's first day (periods begin at midnight UTC), as a plan grant's reason names it. */
export const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** What a period's leftover plan credits carry into the next one. */
export function rolledOver(terms: Pick<AllowanceTerms, "rolloverMax">, leftover: number): number {
  return terms.rolloverMax === null ? 0 : Math.max(0, Math.min(terms.rolloverMax, leftover));
}

/** Whether two allowances are the same plan (setting the same one again changes nothing). */
export function sameTerms(a: AllowanceTerms, b: AllowanceTerms): boolean {
  return (
    a.credits === b.credits &&
    a.period === b.period &&
    a.anchor === b.anchor &&
    a.rolloverMax === b.rolloverMax &&
    a.priority === b.priority
  );
}

/** An allowance request's terms, with the defaults filled in (anchor 1, priority 50). */
export function allowanceTermsOf(r: AllowanceRequest): AllowanceTerms {
  return {
    credits: r.credits,
    period: r.period,
    anchor: r.anchor ?? ANCHOR_RANGE[r.period]?.default ?? 1,
    rolloverMax: r.rolloverMax,
    priority: r.priority ?? DEFAULT_GRANT_PRIORITY,
  };
}

/** Why an allowance cannot be set as asked, or null. */
export function refuseAllowance(r: AllowanceRequest, terms: AllowanceTerms): Refusal | null {
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
  if (!validPriority(terms.priority)) return refusal("INVALID_ARGUMENT", "priority must be an integer from 0 to 100");
  return null;
}
