import { z } from "@hono/zod-openapi";
import { BUDGET_MODES, DEFAULT_CREDITS_PER_DOLLAR, DEFAULT_TOKENS_PER_CREDIT } from "../../ledger/money";
import { Timestamp } from "./common";

export const MAX_CREDITS = 1_000_000_000;
export const DEFAULT_JOB_TTL_SECONDS = 24 * 60 * 60;

export const Credits = z
  .number()
  .int({ error: "must be an integer" })
  .min(0, { error: "must not be negative" })
  .max(MAX_CREDITS, { error: `must be at most ${MAX_CREDITS}` });

export const BudgetMode = z.enum(BUDGET_MODES, { error: `must be one of ${BUDGET_MODES.join(", ")}` });

export const BudgetFields = {
  budget_mode: BudgetMode.optional(),
  credits_per_dollar: z
    .number()
    .positive({ error: "must be a positive number" })
    .max(1_000_000, { error: "must be at most 1000000" })
    .optional()
    .openapi({ description: `Credits charged per USD of client cost in consumption_usd mode (default ${DEFAULT_CREDITS_PER_DOLLAR})` }),
  tokens_per_credit: z
    .number()
    .int({ error: "must be an integer" })
    .positive({ error: "must be a positive integer" })
    .max(1_000_000_000, { error: "must be at most 1000000000" })
    .optional()
    .openapi({ description: `Tokens per credit in consumption_tokens mode (default ${DEFAULT_TOKENS_PER_CREDIT})` }),
  cost_markup_percentage: z
    .number()
    .min(0, { error: "must not be negative" })
    .max(1000, { error: "must be at most 1000" })
    .optional()
    .openapi({ description: "Client cost = provider cost × (1 + markup/100)" }),
  job_ttl_seconds: z
    .number()
    .int({ error: "must be an integer" })
    .min(60, { error: "must be at least 60" })
    .max(30 * 24 * 60 * 60, { error: "must be at most 2592000 (30 days)" })
    .optional()
    .openapi({ description: `Open jobs expire after this long (default ${DEFAULT_JOB_TTL_SECONDS})` }),
  rate_limit_per_minute: z
    .number()
    .int({ error: "must be an integer" })
    .min(1, { error: "must be at least 1" })
    .max(1_000_000, { error: "must be at most 1000000" })
    .nullable()
    .optional()
    .openapi({ description: "New jobs and calls allowed per minute (429 with Retry-After beyond it); null for no limit (the default)" }),
};

export const Balance = z
  .object({
    team_id: z.string(),
    organization_id: z.string(),
    credits_allocated: z.number().int(),
    credits_used: z.number().int(),
    credits_remaining: z.number().int(),
    credits_reserved: z.number().int(),
    credits_available: z.number().int(),
    budget_mode: BudgetMode,
    credits_per_dollar: z.number(),
    tokens_per_credit: z.number().int(),
    cost_markup_percentage: z
      .number()
      .optional()
      .openapi({ description: "Admin key only: the markup on provider cost. A team key never sees it" }),
    job_ttl_seconds: z.number().int(),
    rate_limit_per_minute: z.number().int().nullable(),
    status: z.enum(["active", "suspended", "paused"]),
  })
  .openapi("Balance");

export const LedgerEntry = z
  .object({
    transaction_id: z.string(),
    team_id: z.string(),
    kind: z.enum(["allocation", "reservation", "release", "deduction", "refund", "adjustment"]),
    amount: z.number().int().openapi({ description: "Signed change to credits_remaining" }),
    reserved_change: z.number().int().openapi({ description: "Signed change to credits_reserved" }),
    balance_before: z.number().int(),
    balance_after: z.number().int(),
    job_id: z.string().nullable(),
    reason: z.string(),
    created_at: Timestamp,
  })
  .openapi("Transaction");

export const Team = z
  .object({
    team_id: z.string(),
    organization_id: z.string(),
    team_alias: z.string().nullable(),
    status: z.string(),
    model_groups: z.array(z.string()),
    key_prefix: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("TeamSummary");

export const TeamWithBalance = Team.extend(Balance.omit({ team_id: true, organization_id: true, status: true }).shape).openapi("Team");

/** The budget fields of a request, in the ledger's words. */
export function budgetSettingsOf(body: {
  budget_mode?: (typeof BUDGET_MODES)[number];
  credits_per_dollar?: number;
  tokens_per_credit?: number;
  cost_markup_percentage?: number;
  job_ttl_seconds?: number;
  rate_limit_per_minute?: number | null;
}) {
  return {
    budgetMode: body.budget_mode,
    creditsPerDollar: body.credits_per_dollar,
    tokensPerCredit: body.tokens_per_credit,
    costMarkupPercentage: body.cost_markup_percentage,
    jobTtlSeconds: body.job_ttl_seconds,
    rateLimitPerMinute: body.rate_limit_per_minute,
  };
}
