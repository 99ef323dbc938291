import { z } from "@hono/zod-openapi";
import { PageInfo, ServerId, Timestamp } from "./common";

// Grants, the plan allowance and the monthly statement: their vocabulary (which the ledger's
// rules use too), what making and setting them takes, and what the routes answer.

/** Where a grant's credits come from. */
export const GRANT_SOURCES = ["paid", "promotional", "plan"] as const;
export type GrantSource = (typeof GRANT_SOURCES)[number];

/** A grant's state: live with credits left, live and used up, or ended. */
export const GRANT_STATUSES = ["active", "depleted", "expired", "voided"] as const;
export type GrantStatus = (typeof GRANT_STATUSES)[number];

/** What a move of a grant's credits is: the grant made, a charge, a refund, its expiry or voiding, or an overdraft paid from it. */
export const GRANT_MOVE_KINDS = ["grant", "charge", "refund", "expiry", "void", "overdraft"] as const;
export type GrantMoveKind = (typeof GRANT_MOVE_KINDS)[number];

/** Priorities run from 0 (drawn first) to 100; a grant without one gets the middle. */
export const MIN_GRANT_PRIORITY = 0;
export const MAX_GRANT_PRIORITY = 100;
export const DEFAULT_GRANT_PRIORITY = 50;

/** The longest external_ref a grant takes (the team's own payment or invoice id). */
export const MAX_EXTERNAL_REF_CHARS = 200;

/** How long before its expiry a grant is announced (`grant.expiring`), unless the team sets its own. */
export const DEFAULT_GRANT_NOTICE_SECONDS = 3 * 24 * 60 * 60;

/** How often a plan allowance renews (UTC periods). */
export const ALLOWANCE_PERIODS = ["day", "week", "month"] as const;
export type AllowancePeriod = (typeof ALLOWANCE_PERIODS)[number];

/** The largest number of credits one grant, top-up or allowance carries. */
export const MAX_GRANT_CREDITS = 1_000_000_000;

const GrantSource = z.enum(GRANT_SOURCES, { error: `must be one of ${GRANT_SOURCES.join(", ")}` });

export const PositiveCredits = z
  .number({ error: "must be a positive integer" })
  .int({ error: "must be a positive integer" })
  .positive({ error: "must be a positive integer" })
  .max(MAX_GRANT_CREDITS, { error: `must be at most ${MAX_GRANT_CREDITS}` });

const Priority = z
  .number({ error: "must be an integer" })
  .int({ error: "must be an integer" })
  .min(MIN_GRANT_PRIORITY, { error: `must be at least ${MIN_GRANT_PRIORITY}` })
  .max(MAX_GRANT_PRIORITY, { error: `must be at most ${MAX_GRANT_PRIORITY}` });

export const ExternalRef = z
  .string()
  .min(1, { error: "must not be empty" })
  .max(MAX_EXTERNAL_REF_CHARS, { error: `must be at most ${MAX_EXTERNAL_REF_CHARS} characters` })
  .openapi({
    description:
      "Your own reference for the grant (a payment or invoice id), unique per team for good: a grant sent again with the same external_ref and terms answers the first grant and adds nothing; other terms are 400",
  });

const Reason = z.string().max(500, { error: "must be at most 500 characters" });

export const GrantSplit = z
  .object({
    grant_id: z.string().nullable(),
    source: GrantSource.nullable(),
    kind: z.enum(GRANT_MOVE_KINDS),
    credits: z.number().int().openapi({ description: "Signed change to the grant's remaining credits" }),
  })
  .openapi("GrantSplit");

/** What the balance says about grants. */
export const GrantTotalsFields = {
  grants: z
    .object({
      paid: z.number().int(),
      promotional: z.number().int(),
      plan: z.number().int(),
      overdrawn: z
        .number()
        .int()
        .openapi({ description: "Credits spent beyond every grant (overdraft bounded only), owed to the next grant" }),
    })
    .openapi({ description: "Remaining credits by source: paid + promotional + plan - overdrawn = credits_remaining" }),
  next_expiry: z
    .object({ grant_id: z.string(), source: GrantSource, at: Timestamp, credits: z.number().int() })
    .nullable()
    .openapi({ description: "The live grant with credits left that expires soonest" }),
  next_renewal: z
    .object({ at: Timestamp, credits: z.number().int() })
    .nullable()
    .openapi({ description: "When the plan allowance next renews, and with how many credits" }),
};

export const Grant = z
  .object({
    grant_id: z.string(),
    source: GrantSource,
    credits: z.number().int(),
    remaining: z.number().int(),
    priority: z.number().int(),
    expires_at: Timestamp.nullable(),
    status: z.enum(GRANT_STATUSES),
    held_for_jobs: z.number().int().openapi({
      description:
        "For an expired or voided grant: what open jobs held of it when it ended (its remaining), spent by them or gone when they end",
    }),
    reason: z.string(),
    external_ref: z.string().nullable(),
    plan: z.object({ period_start: Timestamp, rollover: z.boolean() }).nullable().openapi({
      description: "A plan grant made by the allowance: the period it is for, and whether it is the previous period's rollover",
    }),
    created_at: Timestamp,
    ended_at: Timestamp.nullable(),
  })
  .openapi("Grant");

export const CreateGrant = z.object({
  credits: PositiveCredits,
  source: GrantSource,
  expires_at: z.iso
    .datetime({ offset: true, error: "must be an ISO 8601 date-time (e.g. 2027-01-31T00:00:00Z)" })
    // A date-time that did not parse is refused above, once.
    .refine((at) => Number.isNaN(Date.parse(at)) || Date.parse(at) > Date.now(), { error: "must be in the future" })
    .nullable()
    .optional()
    .openapi({ description: "When what remains of the grant leaves the balance (in the future); none: it never expires" }),
  priority: Priority.optional().openapi({ description: "Lower numbers are drawn first (0-100, default 50)" }),
  reason: Reason.nullable().optional(),
  external_ref: ExternalRef.nullable().optional(),
});

export const VoidGrant = z.object({ reason: Reason.optional().openapi({ description: "Why, for the void ledger row" }) });

export const GrantParam = z.object({ grant_id: ServerId.openapi({ param: { name: "grant_id", in: "path" } }) });

export const GrantList = z.object({
  status: z
    .enum(["all", "live"], { error: "must be 'all' or 'live'" })
    .default("all")
    .openapi({ description: "live: only grants that have not expired or been voided" }),
});

export const Rollover = z.union([
  z.literal("none"),
  z.object({ max: PositiveCredits.openapi({ description: "At most this many leftover credits carry into the next period" }) }),
]);

export const SetAllowance = z
  .object({
    credits: PositiveCredits.openapi({ description: "Credits granted each period" }),
    period: z.enum(ALLOWANCE_PERIODS, { error: `must be one of ${ALLOWANCE_PERIODS.join(", ")}` }),
    anchor: z
      .number({ error: "must be an integer" })
      .int({ error: "must be an integer" })
      .min(1, { error: "must be at least 1" })
      .max(31, { error: "must be at most 31" })
      .optional()
      .openapi({
        description: "month: the day periods begin (1-31, the last day of shorter months); week: the ISO weekday (1 Monday - 7 Sunday)",
      }),
    rollover: Rollover.default("none").openapi({
      description:
        '"none", or {"max": N}: what is left of a period\'s plan credits, up to N, becomes a grant expiring at the next period\'s end',
    }),
    priority: Priority.optional(),
  })
  .refine((a) => a.anchor === undefined || a.period !== "day", { error: "applies to week and month periods only", path: ["anchor"] })
  .refine((a) => a.anchor === undefined || a.period !== "week" || a.anchor <= 7, {
    error: "must be at most 7 for a week (1 Monday to 7 Sunday)",
    path: ["anchor"],
  });

export const Allowance = z
  .object({
    credits: z.number().int(),
    period: z.enum(ALLOWANCE_PERIODS),
    anchor: z.number().int(),
    rollover: Rollover,
    priority: z.number().int(),
    current_period: z.object({
      starts_at: Timestamp,
      ends_at: Timestamp,
      granted: z.number().int().openapi({ description: "Plan credits made for this period (the allowance and what rolled over)" }),
      used: z.number().int().openapi({ description: "What charges took from them, net of refunds" }),
      remaining: z.number().int(),
    }),
    next_renewal_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Allowance");

const StatementLineFields = {
  opening: z.number().int(),
  granted: z.number().int(),
  consumed: z.number().int(),
  refunded: z.number().int(),
  expired: z.number().int(),
  voided: z.number().int(),
  closing: z.number().int(),
};
const StatementLine = z.object(StatementLineFields);
const StatementSource = z.enum([...GRANT_SOURCES, "overdraft"]);

export const Statement = z
  .object({
    team_id: z.string(),
    period: z.string(),
    starts_at: Timestamp,
    ends_at: Timestamp,
    ...StatementLineFields,
    by_source: z.object({ paid: StatementLine, promotional: StatementLine, plan: StatementLine, overdraft: StatementLine }),
    grants: z.array(
      StatementLine.extend({
        grant_id: z.string().nullable(),
        source: StatementSource,
        reason: z.string().nullable(),
        expires_at: Timestamp.nullable(),
        status: z.enum(GRANT_STATUSES).nullable(),
      }),
    ),
  })
  .openapi("Statement");

export const StatementQuery = z.object({
  period: z
    .string()
    .regex(/^\d{4}-(0[1-9]|1[0-2])$/, { error: "must be a month as YYYY-MM" })
    .openapi({ example: "2026-12", description: "The calendar month (UTC)" }),
});

export const GrantPage = z.object({ team_id: z.string(), grants: z.array(Grant), ...PageInfo });

export const AllowanceSet = z.object({
  team_id: z.string(),
  allowance: Allowance,
  changed: z.boolean().openapi({ description: "false: the allowance already had these terms, and nothing changed" }),
});

export const TeamAllowance = z.object({ team_id: z.string(), allowance: Allowance });

export const AllowanceRemoved = z.object({ team_id: z.string(), message: z.string() });
