import { z } from "@hono/zod-openapi";
import { ClientId } from "./common";
import { CreateJobFields, JobCosts, KeysTeamId, TERMINAL_JOB_STATUSES } from "./jobs";

// An LLM call in the job API: its body (the group and the OpenAI parameters forwarded), its
// answer, create-and-call's, and the events of a stream.

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

/** The most tokens an answer may use (max_tokens, or its newer name max_completion_tokens). */
const TokenLimit = z
  .number()
  .int({ error: "must be an integer" })
  .positive({ error: "must be a positive integer" })
  .max(1_000_000)
  .nullable()
  .optional();

/** The body of an LLM call: which group to use, and the OpenAI parameters that will be forwarded. */
export const LlmCallFields = {
  model_group: ClientId.optional().openapi({ description: "The model group to call (or `model`, its alias)" }),
  model: ClientId.optional().openapi({ description: "Alias of model_group" }),
  messages: z
    .array(Message)
    .min(1, { error: "must contain at least one message" })
    .max(1000, { error: "must contain at most 1000 messages" }),
  temperature: z.number().min(0, { error: "must be between 0 and 2" }).max(2, { error: "must be between 0 and 2" }).default(0.7),
  max_tokens: TokenLimit,
  max_completion_tokens: TokenLimit,
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

/** One job with one call, completed and charged in one request: the job's fields and the call's. */
export const CreateAndCallBody = z
  .object({ ...CreateJobFields, team_id: KeysTeamId, ...LlmCallFields })
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

/** One server-sent event of a job API stream; the stream ends with `data: [DONE]`. */
export const ServerSentEvent = z
  .object({ data: z.string(), event: z.string().optional(), id: z.string().optional(), retry: z.number().int().optional() })
  .openapi({ description: "A server-sent event: `data` is a chat.completion.chunk, an error, a job summary or [DONE]" });
