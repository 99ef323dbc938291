import { z } from "@hono/zod-openapi";

import { MAX_CREDITS } from "./budget";

// Period budgets (a key's, each end user's) and the team's budget policy: alert thresholds,
// recharge requests, the end-user budget (docs/keys.md); and the policy's fields in the ledger's words.

/** How long a budget's window lasts: a UTC day, an ISO week (from Monday), a calendar month, or for good (`total`). */
export const BUDGET_PERIODS = ["day", "week", "month", "total"] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

const BudgetCredits = z
  .number({ error: "must be a positive integer" })
  .int({ error: "must be a positive integer" })
  .min(1, { error: "must be a positive integer" })
  .max(MAX_CREDITS, { error: `must be at most ${MAX_CREDITS}` });

export const BudgetPeriodValue = z.enum(BUDGET_PERIODS, { error: `must be one of ${BUDGET_PERIODS.join(", ")}` });

/** A budget per period: credits a key (or each end user) may be charged in a window (UTC day, ISO week, month, or in total). */
export const PeriodBudget = z
  .object({ credits: BudgetCredits, period: BudgetPeriodValue })
  .openapi("PeriodBudget", { example: { credits: 500, period: "day" } });

const Thresholds = z
  .array(
    z
      .number({ error: "must be an integer percentage" })
      .int({ error: "must be an integer percentage" })
      .min(1, { error: "must be 1 to 100" })
      .max(100, { error: "must be 1 to 100" }),
  )
  .max(10, { error: "must list at most 10 thresholds" })
  .refine((t) => new Set(t).size === t.length, { error: "must not list a threshold twice" });

/** The team's budget policy fields, as PATCH /api/teams/{id} takes them (null removes one). */
export const BudgetPolicyFields = {
  alerts: z
    .object({ thresholds: Thresholds })
    .nullable()
    .optional()
    .openapi({
      description:
        "`budget.threshold` fires when a key's or an end user's spend in its window reaches each percentage of its budget (once per window)",
      example: { thresholds: [50, 80, 100] },
    }),
  auto_recharge: z
    .object({ below: BudgetCredits, target: BudgetCredits })
    .refine((r) => r.target > r.below, { error: "target must be more than below", path: ["target"] })
    .nullable()
    .optional()
    .openapi({
      description:
        "`credits.recharge_requested` fires once when available credits fall below `below`, asking for `target − available` with an idempotency_key",
      example: { below: 100, target: 1000 },
    }),
  end_user_budget: PeriodBudget.nullable().optional().openapi({
    description: "Each end user's budget (OpenAI `user`, Anthropic `metadata.user_id`, `X-End-User-Id`, or a job's `user_id`)",
  }),
};

export const BudgetPolicy = z
  .object({
    alerts: z.object({ thresholds: z.array(z.number().int()) }),
    auto_recharge: z
      .object({
        below: z.number().int(),
        target: z.number().int(),
        pending_request: z
          .object({ idempotency_key: z.string(), amount: z.number().int(), requested_at: z.string() })
          .nullable()
          .openapi({ description: "The recharge request made at the last crossing and not yet applied (as its event told it)" }),
      })
      .nullable(),
    end_user_budget: PeriodBudget.nullable(),
  })
  .openapi("BudgetPolicy");

/** The budget policy fields of a request, in the ledger's words. */
export function budgetPolicyOf(body: {
  alerts?: { thresholds: number[] } | null;
  auto_recharge?: { below: number; target: number } | null;
  end_user_budget?: { credits: number; period: BudgetPeriod } | null;
}) {
  return { alerts: body.alerts, autoRecharge: body.auto_recharge, endUserBudget: body.end_user_budget };
}
