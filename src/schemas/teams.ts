import { z } from "@hono/zod-openapi";
import { ClientId, Metadata, PageInfo, ServerId, Timestamp } from "./common";
import { DEFAULT_GRANT_NOTICE_SECONDS, ExternalRef, Grant, GrantSplit, GrantTotalsFields } from "./grants";

// A team: its budget's vocabulary (which the ledger's rules use too), what creating and changing
// one takes, and what the team routes answer.

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

/** What a ledger row is: credits allocated (a grant), a job's reservation, release or charge, a refund, a call's hold or its capture, a grant's expiry or voiding. */
export const LEDGER_KINDS = [
  "allocation",
  "reservation",
  "release",
  "deduction",
  "refund",
  "adjustment",
  "hold",
  "capture",
  "expiry",
  "void",
] as const;

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
    credits_held: z.number().int().openapi({
      description: "What the calls in flight hold (their worst-case cost, rounded up to credits); part of what their jobs hold",
    }),
    overdraft: z.enum(OVERDRAFT_MODES),
    unpriced_calls: z.enum(UNPRICED_CALL_POLICIES),
    tpm_limit: z.number().int().nullable(),
    grant_expiring_notice_seconds: z.number().int(),
    status: z.enum(["active", "suspended", "paused"]),
    ...GrantTotalsFields,
  })
  .openapi("Balance");

export const LedgerEntry = z
  .object({
    transaction_id: z.string(),
    team_id: z.string(),
    kind: z.enum(LEDGER_KINDS),
    amount: z.number().int().openapi({ description: "Signed change to credits_remaining" }),
    reserved_change: z.number().int().openapi({ description: "Signed change to credits_reserved" }),
    held_change_micro: z
      .number()
      .int()
      .openapi({ description: "Signed change, in micro-credits, to what calls in flight hold (hold and capture rows)" }),
    balance_before: z.number().int(),
    balance_after: z.number().int(),
    job_id: z.string().nullable(),
    reason: z.string(),
    created_at: Timestamp,
    grants: z.array(GrantSplit).openapi({
      description:
        "Which grants the amount came from or went to, and how much each (grant_id null: the overdraft); the credits add up to the amount",
    }),
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

export const TeamPage = z.object({ teams: z.array(Team), ...PageInfo });

export const CreatedTeam = TeamWithBalance.extend({
  allowed_models: z.array(z.string()),
  virtual_key: z.string().openapi({ description: "Shown once, never again" }),
  message: z.string(),
}).openapi("CreatedTeam");

export const RotatedKey = z.object({
  team_id: z.string(),
  virtual_key: z.string(),
  key_prefix: z.string(),
  previous_keys_valid_until: z.string().nullable(),
  message: z.string(),
});

export const StatusChange = z.object({ team_id: z.string(), status: z.string(), message: z.string() });

export const CreditsAdded = z.object({
  team_id: z.string(),
  credits_added: z.number().int(),
  grant_id: z.string().openapi({ description: "The paid grant the credits are" }),
  created: z
    .boolean()
    .openapi({ description: "false: the external_ref named an addition made before, which this answers (nothing was added)" }),
  balance: Balance,
  transaction: LedgerEntry,
});

export const GrantMade = z
  .object({
    team_id: z.string(),
    grant: Grant,
    created: z
      .boolean()
      .openapi({ description: "false: the external_ref named a grant made before, which this answers (nothing was added)" }),
    transaction: LedgerEntry.openapi({ description: "The ledger row that made the grant" }),
    balance: Balance,
  })
  .openapi("GrantMade");

export const GrantVoided = z.object({ team_id: z.string(), grant: Grant, transaction: LedgerEntry, balance: Balance });

export const TransactionPage = z.object({ team_id: z.string(), transactions: z.array(LedgerEntry), ...PageInfo });

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
    grantNoticeSeconds: body.grant_expiring_notice_seconds,
  };
}

export const GroupNames = z
  .array(ClientId)
  .max(50, { error: "must list at most 50 model groups" })
  .refine((names) => new Set(names).size === names.length, { error: "must not list a model group twice" });

export const CreateTeam = z.object({
  organization_id: ClientId,
  team_id: ClientId,
  team_alias: z.string().max(200, { error: "must be at most 200 characters" }).nullable().optional(),
  model_groups: GroupNames.default([]),
  credits_allocated: Credits.default(0),
  metadata: Metadata.default({}),
  ...BudgetFields,
});

export const UpdateTeam = z.object({
  team_alias: z.string().max(200, { error: "must be at most 200 characters" }).nullable().optional(),
  metadata: Metadata.optional(),
  ...BudgetFields,
});

export const RotateKey = z.object({
  grace_seconds: z
    .number()
    .int({ error: "must be an integer" })
    .min(0, { error: "must not be negative" })
    .max(7 * 24 * 60 * 60, { error: "must be at most 604800 (7 days)" })
    .default(0),
});

export const AddCredits = z.object({
  credits: z
    .number()
    .int({ error: "must be a positive integer" })
    .positive({ error: "must be a positive integer" })
    .max(MAX_CREDITS, { error: `must be at most ${MAX_CREDITS}` }),
  reason: z.string().max(500, { error: "must be at most 500 characters" }).nullable().optional(),
  external_ref: ExternalRef.nullable().optional(),
});

export const Refund = z.object({
  job_id: ServerId,
  reason: z.string().min(1, { error: "must not be empty" }).max(500, { error: "must be at most 500 characters" }),
});

export const BudgetModeChange = z.object({ ...BudgetFields, budget_mode: BudgetMode });

export const Refunded = z.object({
  team_id: z.string(),
  job_id: z.string(),
  credits_refunded: z.number().int(),
  balance: Balance,
  transaction: LedgerEntry,
});

/** A team's new model groups: the list, or `{ "model_groups": [...] }`. */
export const TeamGroupsChange = z.union([GroupNames, z.object({ model_groups: GroupNames })]);

export const TeamDeleted = z.object({ team_id: z.string(), message: z.string() });
