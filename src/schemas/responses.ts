import { z } from "@hono/zod-openapi";
import { ClientId } from "./common";
import { EndUserId, OpenAIMetadata } from "./labels";

// OpenAI's Responses API (POST /v1/responses), as the gateway takes and answers it: stateless
// (nothing is stored, so nothing can be continued), the model group in `model`.

const JsonObject = z.record(z.string(), z.unknown());

/** OpenAI's smallest max_output_tokens: a smaller one is refused upstream (LiteLLM raises it to this). */
export const MIN_MAX_OUTPUT_TOKENS = 16;

export const ResponsesBody = z
  .object({
    model: ClientId.openapi({ description: "A model group the team may use" }),
    input: z
      .union([z.string().max(1_000_000), z.array(JsonObject).min(1, { error: "must list at least one item" }).max(1000)], {
        error: "must be a string or a list of input items",
      })
      .openapi({ description: "Text, or a list of input items (messages, function call outputs, ...)" }),
    instructions: z.string().max(1_000_000).nullable().optional(),
    max_output_tokens: z
      .number()
      .int({ error: "must be an integer" })
      .min(MIN_MAX_OUTPUT_TOKENS, { error: `must be at least ${MIN_MAX_OUTPUT_TOKENS} (OpenAI's minimum)` })
      .max(1_000_000)
      .nullable()
      .optional(),
    temperature: z.number().min(0, { error: "must be between 0 and 2" }).max(2, { error: "must be between 0 and 2" }).nullable().optional(),
    top_p: z.number().min(0, { error: "must be between 0 and 1" }).max(1, { error: "must be between 0 and 1" }).nullable().optional(),
    tools: z.array(JsonObject).max(128, { error: "must list at most 128 tools" }).nullable().optional(),
    tool_choice: z
      .union([z.enum(["none", "auto", "required"]), JsonObject])
      .nullable()
      .optional(),
    parallel_tool_calls: z.boolean().nullable().optional(),
    max_tool_calls: z.number().int().min(1).nullable().optional(),
    text: JsonObject.nullable()
      .optional()
      .openapi({ description: "Output format (`format`: text, json_object, json_schema) and verbosity" }),
    reasoning: JsonObject.nullable().optional(),
    truncation: z.enum(["auto", "disabled"], { error: "must be auto or disabled" }).nullable().optional(),
    top_logprobs: z.number().int().min(0).max(20).nullable().optional(),
    include: z.array(z.string().max(200)).max(16).nullable().optional(),
    prompt_cache_key: z.string().max(1000).nullable().optional(),
    stream: z.boolean().nullable().optional(),
    store: z
      .boolean()
      .nullable()
      .optional()
      .openapi({ description: "Must be false or absent: the gateway stores no response (true is 400)" }),
    previous_response_id: z
      .string()
      .max(1000)
      .nullable()
      .optional()
      .openapi({ description: "Refused (400): the gateway is stateless; send the whole conversation in `input`" }),
    conversation: z.unknown().optional().openapi({ description: "Refused (400): the gateway is stateless" }),
    background: z.boolean().nullable().optional().openapi({ description: "Refused when true (400): background responses are stored" }),
    user: EndUserId.nullable().optional().openapi({ description: "The team's end user the call is made for (recorded on the call)" }),
    safety_identifier: EndUserId.nullable()
      .optional()
      .openapi({ description: "OpenAI's end-user id: the call's end user when `user` is absent" }),
    metadata: OpenAIMetadata.nullable().optional(),
  })
  .openapi("ResponsesRequest");

const ResponsesUsage = z.object({
  input_tokens: z.number().int(),
  input_tokens_details: z.object({ cached_tokens: z.number().int() }),
  output_tokens: z.number().int(),
  output_tokens_details: z.object({ reasoning_tokens: z.number().int() }),
  total_tokens: z.number().int(),
});

export const ResponsesAnswer = z
  .object({
    id: z.string().openapi({ description: "`resp_<call id>`" }),
    object: z.literal("response"),
    created_at: z.number().int(),
    status: z.string().openapi({ description: "completed, or incomplete (see incomplete_details)" }),
    error: z.unknown().nullable(),
    incomplete_details: z.unknown().nullable(),
    instructions: z.unknown().nullable(),
    max_output_tokens: z.number().int().nullable(),
    model: z.string().openapi({ description: "The model group" }),
    output: z.array(z.record(z.string(), z.unknown())),
    parallel_tool_calls: z.boolean(),
    previous_response_id: z.null(),
    reasoning: z.unknown().nullable(),
    store: z.literal(false),
    temperature: z.number().nullable(),
    text: z.unknown().nullable(),
    tool_choice: z.unknown(),
    tools: z.array(z.unknown()),
    top_p: z.number().nullable(),
    truncation: z.string().nullable(),
    usage: ResponsesUsage.openapi({ description: "Tokens only (never a cost); reasoning tokens are in output_tokens" }),
    user: z.string().nullable(),
    metadata: z.record(z.string(), z.string()),
  })
  .openapi("ResponsesAnswer");

/** A streamed response, as OpenAI's SDKs read it. */
export const ResponsesEvents = z
  .string()
  .openapi({ description: "`event: <type>` / `data: <event>` pairs (OpenAI's Responses events), ending with `response.completed`" });
