import { z } from "@hono/zod-openapi";
import { BudgetFields, BudgetMode, MAX_CREDITS, OVERDRAFT_MODES, UNFINISHED_JOB_POLICIES, UNPRICED_CALL_POLICIES } from "./budget";
import { ClientId, Metadata, PageInfo, ServerId, Timestamp } from "./common";
import { ExternalRef, Grant, GrantSplit, GrantTotalsFields } from "./grants";
import { Placement } from "./organizations";
import { BudgetPolicy, BudgetPolicyFields } from "./period-budgets";

// A team: what creating and changing one takes, and what the team routes answer (its budget's
// fields are budget.ts).

/**
 * Every kind of ledger row; `unrecorded` ends the hold of a call whose record never came,
 * `expiry` and `void` take what a grant had left out of the balance.
 */
export const LEDGER_KINDS = [
  "allocation",
  "reservation",
  "release",
  "deduction",
  "refund",
  "adjustment",
  "hold",
  "capture",
  "unrecorded",
  "expiry",
  "void",
] as const;

export { MAX_CREDITS };

export const Credits = z
  .number()
  .int({ error: "must be an integer" })
  .min(0, { error: "must not be negative" })
  .max(MAX_CREDITS, { error: `must be at most ${MAX_CREDITS}` });

export const Balance = z
  .object({
    team_id: z.string(),
    organization_id: z.string(),
    credits_allocated: z.number().int(),
    credits_used: z.number().int(),
    credits_remaining: z.number().int(),
    credits_reserved: z.number().int(),
    credits_available: z.number().int().openapi({
      description:
        "What the team can still spend: credits_remaining less everything its open jobs hold (reservations, what consumption jobs consumed, and what their calls in flight hold), rounded down",
    }),
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
    unfinished_jobs: z.enum(UNFINISHED_JOB_POLICIES).openapi({
      description: "What a failed, cancelled or expired job is charged (the team's rule, or its budget mode's default)",
    }),
    speculation: z
      .object({
        enabled: z.boolean().openapi({
          description:
            "Whether the team's calls may go to LiteLLM while their admission is on its way (nothing reaches the client before it says yes)",
        }),
        aborted_calls: z.number().int().openapi({
          description:
            "Calls sent to LiteLLM early and aborted because their admission refused them or admitted them otherwise (then sent again)",
        }),
      })
      .optional()
      .openapi({ description: "Admin key only: speculative admission (docs/calls.md)" }),
    grant_expiring_notice_seconds: z.number().int(),
    status: z.enum(["active", "suspended", "paused"]),
    ...GrantTotalsFields,
  })
  .openapi("Balance");

export const LedgerEntry = z
  .object({
    transaction_id: z.string(),
    team_id: z.string(),
    kind: z.enum(LEDGER_KINDS).openapi({
      description:
        "`hold` / `capture`: a call's hold placed and settled by its record; `unrecorded`: settled from its hold without its record; " +
        "`expiry` / `void`: what a grant had left leaves the balance",
    }),
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
    placement: Placement.openapi({
      description: "Where the team's object was created (its organization's placement then); it keeps it for good",
    }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("TeamSummary");

export const TeamWithBalance = Team.extend({
  ...Balance.omit({ team_id: true, organization_id: true, status: true }).shape,
  ...BudgetPolicy.shape,
}).openapi("Team");

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

export const GroupNames = z
  .array(ClientId)
  .max(50, { error: "must list at most 50 model groups" })
  .refine((names) => new Set(names).size === names.length, { error: "must not list a model group twice" });

const SpeculativeAdmission = z.boolean().openapi({
  description:
    "Whether the team's calls may go to LiteLLM while their admission is on its way (default true); false: each call is admitted first (docs/calls.md)",
});

export const CreateTeam = z.object({
  organization_id: ClientId,
  team_id: ClientId,
  team_alias: z.string().max(200, { error: "must be at most 200 characters" }).nullable().optional(),
  model_groups: GroupNames.default([]),
  credits_allocated: Credits.default(0),
  metadata: Metadata.default({}),
  ...BudgetFields,
  speculative_admission: SpeculativeAdmission.optional(),
});

export const UpdateTeam = z.object({
  team_alias: z.string().max(200, { error: "must be at most 200 characters" }).nullable().optional(),
  metadata: Metadata.optional(),
  ...BudgetFields,
  speculative_admission: SpeculativeAdmission.optional(),
  ...BudgetPolicyFields,
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
