import type { BudgetMode, UnfinishedJobs } from "../../schemas/budget";
import type { BudgetSettings } from "../types";

// The money rules, as pure functions: what a completed job costs in credits, what a call
// costs the client. Kept free of storage so they can be read (and tested) on their own.

/** Credits held by an open job: the minimum charge of any completed job. */
export const JOB_RESERVATION_CREDITS = 1;

/** USD amounts are kept as integer nano-dollars so sums are exact. */
export const NANO_PER_USD = 1_000_000_000;

export function usdToNano(usd: number): number {
  return Math.round(usd * NANO_PER_USD);
}

export function nanoToUsd(nano: number): number {
  return nano / NANO_PER_USD;
}

/** Client cost = provider cost × (1 + markup/100), in nano-dollars, rounded to the nearest. */
export function clientCostNano(providerCostNano: number, markupPercentage: number): number {
  return Math.round((providerCostNano * (100 + markupPercentage)) / 100);
}

/**
 * Credits a job has consumed so far, as a fraction (not rounded): used for admission in the
 * consumption modes. job_based jobs consume exactly their reservation.
 */
export function consumedCredits(settings: BudgetSettings, clientCostNanoTotal: number, totalTokens: number): number {
  switch (settings.budgetMode) {
    case "job_based":
      return 0;
    case "consumption_usd":
      return (clientCostNanoTotal * settings.creditsPerDollar) / NANO_PER_USD;
    case "consumption_tokens":
      return totalTokens / settings.tokensPerCredit;
  }
}

/** Credits a job holds are counted in integer micro-credits, so adding and removing holds never drifts. */
export const MICRO_PER_CREDIT = 1_000_000;

/**
 * What an open job holds against the team's balance, in micro-credits: its reservation, or what
 * it has consumed so far if that is more (consumption modes only).
 */
export function jobHoldMicro(settings: BudgetSettings, reserved: number, clientCostNanoTotal: number, totalTokens: number): number {
  const consumed = Math.round(consumedCredits(settings, clientCostNanoTotal, totalTokens) * MICRO_PER_CREDIT);
  return Math.max(reserved * MICRO_PER_CREDIT, consumed);
}

/**
 * The charge for a job completed with status `completed`:
 * job_based → 1; consumption_usd → max(1, floor(client cost × credits_per_dollar));
 * consumption_tokens → max(1, floor(tokens / tokens_per_credit)).
 */
export function completionCharge(settings: BudgetSettings, clientCostNanoTotal: number, totalTokens: number): number {
  if (settings.budgetMode === "job_based") return JOB_RESERVATION_CREDITS;
  // Integer arithmetic where possible so that e.g. $0.30 × 10 is exactly 3, not 2.9999.
  const exact =
    settings.budgetMode === "consumption_usd"
      ? floorRatio(clientCostNanoTotal * settings.creditsPerDollar, NANO_PER_USD)
      : floorRatio(totalTokens, settings.tokensPerCredit);
  return Math.max(JOB_RESERVATION_CREDITS, exact);
}

/** A team's rule for unfinished jobs: its own, or its budget mode's default (job_based: free; consumption modes: charged). */
export function unfinishedJobsOf(budgetMode: BudgetMode, setting: UnfinishedJobs | null): UnfinishedJobs {
  return setting ?? (budgetMode === "job_based" ? "free" : "charged");
}

/** How a job ended: completed by its team (or the gateway), ended otherwise, or expired by the alarm. */
export type JobEnd = "completed" | "failed" | "cancelled" | "expired";

/** What a job's charge is worked out from. */
export interface JobUsage {
  clientCostNano: number;
  totalTokens: number;
  successfulCalls: number;
}

/**
 * What a job is charged when it ends (before the `overdraft: none` cap): completed, the completion
 * charge; unfinished and `free`, nothing; unfinished and `charged`, the completion charge for what
 * it consumed once it consumed something (consumption modes), or its minimum charge once it made
 * a successful call (job_based). A job that consumed nothing is never charged unless completed.
 */
export function endCharge(settings: BudgetSettings, unfinished: UnfinishedJobs, end: JobEnd, usage: JobUsage): number {
  const charge = completionCharge(settings, usage.clientCostNano, usage.totalTokens);
  if (end === "completed") return charge;
  if (unfinished === "free") return 0;
  if (settings.budgetMode === "job_based") return usage.successfulCalls > 0 ? charge : 0;
  return consumedCredits(settings, usage.clientCostNano, usage.totalTokens) > 0 ? charge : 0;
}

function floorRatio(numerator: number, denominator: number): number {
  const q = numerator / denominator;
  const rounded = Math.round(q);
  // Treat values within float noise of an integer as that integer.
  return Math.abs(q - rounded) < 1e-9 ? rounded : Math.floor(q);
}
