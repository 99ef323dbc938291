import { z } from "@hono/zod-openapi";
import { DEFAULT_GRANT_NOTICE_SECONDS } from "./grants";

// A team's budget: its vocabulary (the ledger's rules use it too), the fields a request sets it
// with, and those fields in the ledger's words.

/** How a completed job is charged: one credit, its client cost in USD, or its tokens. */
export const BUDGET_MODES = ["job_based", "consumption_usd", "consumption_tokens"] as const;
export type BudgetMode = (typeof BUDGET_MODES)[number];

export const DEFAULT_CREDITS_PER_DOLLAR = 10;
export const DEFAULT_TOKENS_PER_CREDIT = 10_000;

/** Whether the balance may go below zero: `none` (holds must fit) or `bounded` (calls in flight may overrun). */
export const OVERDRAFT_MODES = ["none", "bounded"] as const;
export type Overdraft = (typeof OVERDRAFT_MODES)[number];

/** What a call whose group has an unpriced model does under `overdraft: none`: refused, or admitted unheld. */
export const UNPRICED_CALL_POLICIES = ["refuse", "allow"] as const;
export type UnpricedCalls = (typeof UNPRICED_CALL_POLICIES)[number];

/**
 * What a job that ends without being completed (failed, cancelled, expired) is charged, per team:
 * `free` (nothing, its reservation released) or `charged` (as if completed, for what it consumed).
 */
export const UNFINISHED_JOB_POLICIES = ["free", "charged"] as const;
export type UnfinishedJobs = (typeof UNFINISHED_JOB_POLICIES)[number];

export const DEFAULT_JOB_TTL_SECONDS = 24 * 60 * 60;

/** The most credits one request may name (an allocation, a top-up, a budget). */
export const MAX_CREDITS = 1_000_000_000;

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
  tpm_limit: z
    .number()
    .int({ error: "must be an integer" })
    .min(1, { error: "must be at least 1" })
    .max(1_000_000_000, { error: "must be at most 1000000000" })
    .nullable()
    .optional()
    .openapi({
      description:
        "Tokens per minute (429 with Retry-After beyond it): a call counts its prompt plus max_tokens when admitted, its actual tokens when recorded; null for no limit (the default)",
    }),
  overdraft: z
    .enum(OVERDRAFT_MODES, { error: `must be one of ${OVERDRAFT_MODES.join(", ")}` })
    .optional()
    .openapi({
      description:
        "none (default for new teams): in the consumption modes each call holds its worst-case cost before it goes upstream, so the balance never goes below zero; bounded: calls in flight may overrun the balance by what they consume",
    }),
  unpriced_calls: z
    .enum(UNPRICED_CALL_POLICIES, { error: `must be one of ${UNPRICED_CALL_POLICIES.join(", ")}` })
    .optional()
    .openapi({
      description:
        "With overdraft none in consumption_usd, a call to a group with a model missing from the pricing table cannot be held: refuse (default, 402) or allow it unheld",
    }),
  unfinished_jobs: z
    .enum(UNFINISHED_JOB_POLICIES, { error: `must be one of ${UNFINISHED_JOB_POLICIES.join(", ")}` })
    .nullable()
    .optional()
    .openapi({
      description:
        "What a job that ends failed, cancelled or expired is charged: free (nothing) or charged (as if completed, for what it consumed: " +
        "its consumption in the consumption modes, its minimum charge once it made a successful call in job_based). " +
        "Default (and null): charged in the consumption modes, free in job_based",
    }),
  grant_expiring_notice_seconds: z
    .number()
    .int({ error: "must be an integer" })
    .min(0, { error: "must not be negative" })
    .max(90 * 24 * 60 * 60, { error: "must be at most 7776000 (90 days)" })
    .optional()
    .openapi({
      description: `How long before a grant expires the grant.expiring webhook is sent (default ${DEFAULT_GRANT_NOTICE_SECONDS}, 3 days; 0: never)`,
    }),
};

/** The budget fields of a request, in the ledger's words. */
export function budgetSettingsOf(body: {
  budget_mode?: (typeof BUDGET_MODES)[number];
  credits_per_dollar?: number;
  tokens_per_credit?: number;
  cost_markup_percentage?: number;
  job_ttl_seconds?: number;
  rate_limit_per_minute?: number | null;
  tpm_limit?: number | null;
  overdraft?: Overdraft;
  unpriced_calls?: UnpricedCalls;
  unfinished_jobs?: UnfinishedJobs | null;
  speculative_admission?: boolean;
  grant_expiring_notice_seconds?: number;
}) {
  return {
    budgetMode: body.budget_mode,
    creditsPerDollar: body.credits_per_dollar,
    tokensPerCredit: body.tokens_per_credit,
    costMarkupPercentage: body.cost_markup_percentage,
    jobTtlSeconds: body.job_ttl_seconds,
    rateLimitPerMinute: body.rate_limit_per_minute,
    tpmLimit: body.tpm_limit,
    overdraft: body.overdraft,
    unpricedCalls: body.unpriced_calls,
    unfinishedJobs: body.unfinished_jobs,
    speculativeAdmission: body.speculative_admission,
    grantNoticeSeconds: body.grant_expiring_notice_seconds,
  };
}
