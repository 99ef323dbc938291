import { z } from "@hono/zod-openapi";
import { CALLS_PAGE_DEFAULT, CALLS_PAGE_MAX, COMPLETION_CALLS_SHOWN } from "../ledger/rules/views";
import { TERMINAL_JOB_STATUSES } from "../ledger/types";
import { ClientId, Metadata, Timestamp } from "./common";

const JsonObject = z.record(z.string(), z.unknown());

const Message = z
  .object({
    role: z.enum(["system", "user", "assistant", "tool", "function", "developer"], {
      error: "must be one of system, user, assistant, tool, function, developer",
    }),
    content: z
      .union([z.string().max(1_000_000), z.array(JsonObject).max(100)], { error: "must be a string or a list of content parts" })
      .nullable()
      .optional(),
    name: z.string().max(256).optional(),
    tool_calls: z.array(JsonObject).max(128).optional(),
    tool_call_id: z.string().max(256).optional(),
  })
  .openapi("ChatMessage");

/** The body of an LLM call: which group to use, and the OpenAI parameters that will be forwarded. */
export const LlmCallFields = {
  model_group: ClientId.optional().openapi({ description: "The model group to call (or `model`, its alias)" }),
  model: ClientId.optional().openapi({ description: "Alias of model_group" }),
  messages: z
    .array(Message)
    .min(1, { error: "must contain at least one message" })
    .max(1000, { error: "must contain at most 1000 messages" }),
  temperature: z.number().min(0, { error: "must be between 0 and 2" }).max(2, { error: "must be between 0 and 2" }).default(0.7),
  max_tokens: z
    .number()
    .int({ error: "must be an integer" })
    .positive({ error: "must be a positive integer" })
    .max(1_000_000)
    .nullable()
    .optional(),
  max_completion_tokens: z
    .number()
    .int({ error: "must be an integer" })
    .positive({ error: "must be a positive integer" })
    .max(1_000_000)
    .nullable()
    .optional(),
  n: z
    .number()
    .int({ error: "must be an integer" })
    .min(1, { error: "must be between 1 and 128" })
    .max(128, { error: "must be between 1 and 128" })
    .nullable()
    .optional(),
  top_p: z.number().min(0, { error: "must be between 0 and 1" }).max(1, { error: "must be between 0 and 1" }).nullable().optional(),
  stop: z
    .union([z.string().max(1000), z.array(z.string().max(1000)).max(4, { error: "must list at most 4 sequences" })])
    .nullable()
    .optional(),
  presence_penalty: z.number().min(-2).max(2).nullable().optional(),
  frequency_penalty: z.number().min(-2).max(2).nullable().optional(),
  logit_bias: z.record(z.string(), z.number().min(-100).max(100)).nullable().optional(),
  logprobs: z.boolean().nullable().optional(),
  top_logprobs: z.number().int().min(0).max(20).nullable().optional(),
  seed: z.number().int({ error: "must be an integer" }).nullable().optional(),
  response_format: JsonObject.nullable().optional(),
  tools: z.array(JsonObject).max(128, { error: "must list at most 128 tools" }).nullable().optional(),
  tool_choice: z
    .union([z.enum(["none", "auto", "required"]), JsonObject])
    .nullable()
    .optional(),
  parallel_tool_calls: z.boolean().nullable().optional(),
  purpose: z.string().max(200, { error: "must be at most 200 characters" }).nullable().optional(),
};

/** The refine below, as the OpenAPI document states it (so generated clients and fuzzers send one of the two). */
const GROUP_REQUIRED = { anyOf: [{ required: ["model_group"] }, { required: ["model"] }] };

export const LlmCallBody = z
  .object(LlmCallFields)
  .refine((b) => b.model_group !== undefined || b.model !== undefined, {
    error: "is required (or its alias 'model')",
    path: ["model_group"],
  })
  .openapi("LlmCallRequest", GROUP_REQUIRED);

export const LlmCallAnswer = z
  .object({
    call_id: z.string(),
    response: z.object({
      content: z.string(),
      finish_reason: z.string().nullable(),
      tool_calls: z.array(z.unknown()).optional(),
    }),
    metadata: z.object({
      tokens_used: z.number().int(),
      prompt_tokens: z.number().int(),
      completion_tokens: z.number().int(),
      latency_ms: z.number().int(),
      model_group: z.string(),
    }),
  })
  .openapi("LlmCallResponse");

export const CreateJobFields = {
  team_id: ClientId,
  job_type: z.string().min(1, { error: "must not be empty" }).max(100, { error: "must be at most 100 characters" }),
  user_id: z.string().max(256, { error: "must be at most 256 characters" }).nullable().optional(),
  metadata: Metadata.nullable().optional(),
};
export const CreateJobBody = z.object(CreateJobFields).openapi("CreateJobRequest");

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

export const JobStatusValue = z.enum(["pending", "in_progress", "completed", "failed", "cancelled", "expired"], {
  error: "must be one of pending, in_progress, completed, failed, cancelled, expired (lowercase)",
});

export const JobSummary = z
  .object({
    job_id: z.string(),
    team_id: z.string(),
    job_type: z.string(),
    user_id: z.string().nullable(),
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
    costs: JobCosts.omit({ credit_applied: true, credits_charged: true, credits_remaining: true }),
  })
  .openapi("JobSummary");

export const Job = JobSummary.extend({
  calls: z.array(
    z.object({
      call_id: z.string(),
      purpose: z.string().nullable(),
      model_group: z.string(),
      status: z.enum(["success", "failed", "aborted"]),
      prompt_tokens: z.number().int(),
      completion_tokens: z.number().int(),
      total_tokens: z.number().int(),
      cost_usd: z.number(),
      usage_estimated: z.boolean(),
      latency_ms: z.number().int(),
      cached: z.boolean().openapi({
        description: "Answered from the group's response cache: the original's tokens, hit_price_percent of its cost, nothing upstream",
      }),
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

/** One job with one call, completed and charged in one request: the job's fields and the call's. */
export const CreateAndCallBody = z
  .object({ ...CreateJobFields, ...LlmCallFields })
  .refine((b) => b.model_group !== undefined || b.model !== undefined, {
    error: "is required (or its alias 'model')",
    path: ["model_group"],
  })
  .openapi("CreateAndCallRequest", GROUP_REQUIRED);

/** How a one-request job ended, with what it cost: the end of create-and-call and its stream's `job_summary` event. */
export const OneRequestJobResult = {
  job_id: z.string(),
  status: z.enum(TERMINAL_JOB_STATUSES),
  costs: JobCosts,
};

export const CreateAndCallAnswer = LlmCallAnswer.extend(OneRequestJobResult).openapi("CreateAndCallResponse");

export const JobCostBreakdown = z
  .object({
    job_id: z.string(),
    team_id: z.string(),
    status: JobStatusValue,
    credits_charged: z.number().int(),
    totals: JobCosts.omit({ credit_applied: true, credits_charged: true, credits_remaining: true }).extend({
      prompt_tokens: z.number().int(),
      completion_tokens: z.number().int(),
      provider_cost_usd: z.number().optional().openapi({ description: "Admin keys only" }),
    }),
    calls: z.array(
      z.object({
        call_id: z.string(),
        purpose: z.string().nullable(),
        model_group: z.string(),
        status: z.enum(["success", "failed", "aborted"]),
        prompt_tokens: z.number().int(),
        completion_tokens: z.number().int(),
        total_tokens: z.number().int(),
        cost_usd: z.number().openapi({ description: "What the call cost the team (USD, with the markup)" }),
        usage_estimated: z.boolean(),
        latency_ms: z.number().int(),
        cached: z.boolean().openapi({
          description: "Answered from the group's response cache: the original's tokens, hit_price_percent of its cost, nothing upstream",
        }),
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
