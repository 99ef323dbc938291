import { z } from "@hono/zod-openapi";
import { ClientId, Metadata, PageInfo, Pagination, Timestamp } from "./common";

/** The statuses a job can be completed with. */
export const TERMINAL_JOB_STATUSES = ["completed", "failed", "cancelled"] as const;
/** How a call ended; `unrecorded`: its record never came, and it was settled from its hold. */
export const CALL_STATUSES = ["success", "failed", "aborted", "unrecorded"] as const;

const CALL_STATUS_DESCRIPTION =
  "`unrecorded`: the call's record never came (by its deadline, or before its job ended) and it was settled from its hold, billed its worst case";

/** A job's calls are shown a page at a time: this many unless asked (GET /api/jobs/{id}?calls_limit=)... */
export const CALLS_PAGE_DEFAULT = 100;
/** ...and at most this many in one page. */
export const CALLS_PAGE_MAX = 1000;
/** How many of its calls a completion answer lists (the first ones, as GET /api/jobs/{id} would). */
export const COMPLETION_CALLS_SHOWN = CALLS_PAGE_DEFAULT;

export const CreateJobFields = {
  team_id: ClientId,
  job_type: z.string().min(1, { error: "must not be empty" }).max(100, { error: "must be at most 100 characters" }),
  user_id: z.string().max(256, { error: "must be at most 256 characters" }).nullable().optional(),
  metadata: Metadata.nullable().optional(),
};
/** A team's own job: `team_id` defaults to the key's team (another team's id is 403). */
export const KeysTeamId = ClientId.optional().openapi({ description: "The key's team (the default); another team's id is 403" });
export const CreateJobBody = z.object({ ...CreateJobFields, team_id: KeysTeamId }).openapi("CreateJobRequest");

export const JobCreated = z
  .object({
    job_id: z.string(),
    team_id: z.string(),
    job_type: z.string(),
    status: z.literal("pending"),
    created_at: Timestamp,
    expires_at: Timestamp,
  })
  .openapi("JobCreated");

export const CompleteJobBody = z
  .object({
    status: z.enum(TERMINAL_JOB_STATUSES, { error: "must be one of completed, failed, cancelled (lowercase)" }),
    error_message: z.string().max(1000, { error: "must be at most 1000 characters" }).nullable().optional(),
    metadata: Metadata.nullable().optional(),
  })
  .openapi("CompleteJobRequest");

export const JobCosts = z.object({
  total_calls: z.number().int(),
  successful_calls: z.number().int(),
  failed_calls: z.number().int(),
  total_tokens: z.number().int(),
  total_cost_usd: z.number(),
  avg_latency_ms: z.number().int(),
  cache_hits: z.number().int().openapi({ description: "Calls answered from the group's response cache" }),
  cache_saved_usd: z.number().openapi({ description: "What the cache hits saved against the cost of their original answers" }),
  credit_applied: z.boolean(),
  credits_charged: z.number().int(),
  credits_remaining: z.number().int(),
});

/** A job's totals as its views show them (a completion adds whether and what it charged). */
export const JobTotals = JobCosts.omit({ credit_applied: true, credits_charged: true, credits_remaining: true });

export const CompletionSummary = z
  .object({
    job_id: z.string(),
    status: z.enum(TERMINAL_JOB_STATUSES),
    completed_at: Timestamp,
    costs: JobCosts,
    calls: z.array(
      z.object({
        call_id: z.string(),
        purpose: z.string().nullable(),
        model_group: z.string(),
        tokens: z.number().int(),
        latency_ms: z.number().int(),
        error: z.string().nullable(),
      }),
    ),
    calls_has_more: z.boolean().openapi({
      description: `\`calls\` lists the job's first ${COMPLETION_CALLS_SHOWN} calls; true when it made more (page them with GET /api/jobs/{id})`,
    }),
  })
  .openapi("JobCompletion");

/** A recorded call's labels, as its views show them. */
const CallLabelFields = {
  tags: z.array(z.string()).openapi({ description: "The call's tags (X-Gateway-Tags, or the body's metadata.tags)" }),
  end_user: z.string().nullable().openapi({
    description:
      "The end user the call was made for: its job's (X-End-User-Id, OpenAI's `user`, Anthropic's `metadata.user_id`, or `user_id`)",
  }),
};

/** The key a job was opened with (its calls are made with it), by id and its name now; null for a job of no named key. */
const CallKey = {
  key_id: z.string().nullable(),
  key_name: z.string().nullable(),
};

export const JobStatusValue = z.enum(["pending", "in_progress", "completed", "failed", "cancelled", "expired"], {
  error: "must be one of pending, in_progress, completed, failed, cancelled, expired (lowercase)",
});

/** What every view of a call shows: the job view's calls and the cost breakdown's. */
export const CallFacts = z.object({
  call_id: z.string(),
  purpose: z.string().nullable(),
  model_group: z.string(),
  ...CallKey,
  status: z.enum(CALL_STATUSES).openapi({ description: CALL_STATUS_DESCRIPTION }),
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  total_tokens: z.number().int(),
  cost_usd: z.number().openapi({ description: "What the call cost the team (USD, with the markup)" }),
  usage_estimated: z.boolean(),
  latency_ms: z.number().int(),
  cached: z.boolean().openapi({
    description: "Answered from the group's response cache: the original's tokens, hit_price_percent of its cost, nothing upstream",
  }),
  ...CallLabelFields,
});

export const JobSummary = z
  .object({
    job_id: z.string(),
    team_id: z.string(),
    job_type: z.string(),
    user_id: z.string().nullable(),
    ...CallKey,
    end_user: z
      .string()
      .nullable()
      .openapi({
        description:
          "The end user the job is for (X-End-User-Id, else OpenAI's `user` or Anthropic's `metadata.user_id` of a one-request job, else `user_id`): " +
          "their budget counts it, and its calls are theirs",
      }),
    status: JobStatusValue,
    metadata: z.record(z.string(), z.unknown()),
    error_message: z.string().nullable(),
    created_at: Timestamp,
    started_at: Timestamp.nullable(),
    completed_at: Timestamp.nullable(),
    expires_at: Timestamp,
    credit_applied: z.boolean(),
    credits_charged: z.number().int(),
    model_groups_used: z.array(z.string()),
    tags: z.array(z.string()).openapi({ description: "The distinct tags of the job's calls (at most 32, the first ones given)" }),
    costs: JobTotals,
  })
  .openapi("JobSummary");

export const Job = JobSummary.extend({
  calls: z.array(
    CallFacts.extend({
      error: z.string().nullable().openapi({ description: "Why the call failed, in the gateway's words" }),
      upstream_error: z
        .string()
        .nullable()
        .optional()
        .openapi({ description: "Admin key only: LiteLLM's own error text (secrets removed). A team key never sees it" }),
      model_used: z
        .string()
        .nullable()
        .optional()
        .openapi({ description: "Admin key only: the model that answered. A team key never sees it" }),
      attempts: z
        .array(
          z.object({
            model: z.string(),
            outcome: z.string(),
            status: z.number().int().optional(),
            latency_ms: z.number(),
            error: z.string().optional(),
          }),
        )
        .optional()
        .openapi({ description: "Admin key only: every model tried for the call, in order, with its outcome. A team key never sees it" }),
      stream: z.boolean(),
      created_at: Timestamp,
    }),
  ),
  calls_limit: z.number().int(),
  calls_offset: z.number().int(),
  calls_has_more: z.boolean().openapi({ description: "True when the job has calls after this page" }),
}).openapi("Job");

export const JobPage = z.object({ team_id: z.string(), jobs: z.array(JobSummary), ...PageInfo });

/** Which of a job's calls GET /api/jobs/{id} shows, in the order they were made. */
export const CallsPageQuery = {
  calls_limit: z.coerce
    .number({ error: "must be an integer" })
    .int({ error: "must be an integer" })
    .min(1, { error: "must be at least 1" })
    .max(CALLS_PAGE_MAX, { error: `must be at most ${CALLS_PAGE_MAX}` })
    .default(CALLS_PAGE_DEFAULT)
    .openapi({ description: `How many calls to show (1 to ${CALLS_PAGE_MAX}, default ${CALLS_PAGE_DEFAULT})` }),
  calls_offset: z.coerce
    .number({ error: "must be an integer" })
    .int({ error: "must be an integer" })
    .min(0, { error: "must not be negative" })
    .max(1_000_000, { error: "must be at most 1000000" })
    .default(0)
    .openapi({ description: "How many calls to skip, oldest first" }),
};

export const JobCostBreakdown = z
  .object({
    job_id: z.string(),
    team_id: z.string(),
    ...CallKey,
    status: JobStatusValue,
    credits_charged: z.number().int(),
    totals: JobTotals.extend({
      prompt_tokens: z.number().int(),
      completion_tokens: z.number().int(),
      provider_cost_usd: z.number().optional().openapi({ description: "Admin keys only" }),
    }),
    calls: z.array(
      CallFacts.extend({
        created_at: Timestamp,
        model_used: z.string().nullable().optional().openapi({ description: "Admin keys only: the model that served the call" }),
        provider_cost_usd: z
          .number()
          .nullable()
          .optional()
          .openapi({ description: "Admin keys only: what the call cost the operator (null when unpriced)" }),
      }),
    ),
    calls_limit: z.number().int(),
    calls_offset: z.number().int(),
    calls_has_more: z.boolean(),
  })
  .openapi("JobCostBreakdown");

export const JobMetadataPatch = z.object({ metadata: Metadata });

/** A job read with the admin key names its team; a page of its calls. */
export const JobQuery = z.object({
  team_id: ClientId.optional().openapi({ description: "Required with the admin key" }),
  ...CallsPageQuery,
});

/** A page of a team's jobs, of one status or type if asked. */
export const JobListQuery = Pagination.extend({ status: JobStatusValue.optional(), job_type: z.string().min(1).max(100).optional() });
