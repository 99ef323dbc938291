import { z } from "@hono/zod-openapi";
import { ClientId } from "./common";
import { EndUserId, TagList, TagListText } from "./labels";
import { OpenAIModelList } from "./openai";

// Anthropic's Messages API (POST /v1/messages) as the gateway takes and answers it, the model
// group in `model`; and Anthropic's shapes for errors and the model list.

const JsonObject = z.record(z.string(), z.unknown());

/** The `anthropic-version` of a request without one: the version of the Messages API's shapes. */
export const DEFAULT_ANTHROPIC_VERSION = "2023-06-01";

/** An `anthropic-version`: a date, as Anthropic names its versions. */
export const AnthropicVersion = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, { error: "must be a version date such as 2023-06-01" })
  .openapi({ description: `Anthropic's API version, passed on to LiteLLM (absent: ${DEFAULT_ANTHROPIC_VERSION})`, example: "2023-06-01" });

const Message = z.object({
  role: z.enum(["user", "assistant"], { error: "must be user or assistant" }),
  content: z.union([z.string().max(1_000_000), z.array(JsonObject).max(1000)], { error: "must be a string or a list of content blocks" }),
});

export const MessagesBody = z
  .object({
    model: ClientId.openapi({ description: "A model group the team may use" }),
    messages: z
      .array(Message)
      .min(1, { error: "must contain at least one message" })
      .max(1000, { error: "must contain at most 1000 messages" }),
    system: z
      .union([z.string().max(1_000_000), z.array(JsonObject).max(100)], { error: "must be a string or a list of text blocks" })
      .nullable()
      .optional(),
    max_tokens: z
      .number()
      .int({ error: "must be an integer" })
      .positive({ error: "must be a positive integer" })
      .max(1_000_000)
      .nullable()
      .optional()
      .openapi({ description: "Required by Anthropic; without it the gateway sends the one the hold was worked out for (at most 4096)" }),
    temperature: z.number().min(0, { error: "must be between 0 and 1" }).max(1, { error: "must be between 0 and 1" }).nullable().optional(),
    top_p: z.number().min(0, { error: "must be between 0 and 1" }).max(1, { error: "must be between 0 and 1" }).nullable().optional(),
    top_k: z.number().int().min(0).nullable().optional(),
    stop_sequences: z.array(z.string().max(1000)).max(16, { error: "must list at most 16 sequences" }).nullable().optional(),
    stream: z.boolean().nullable().optional(),
    tools: z.array(JsonObject).max(128, { error: "must list at most 128 tools" }).nullable().optional(),
    tool_choice: JsonObject.nullable().optional(),
    thinking: JsonObject.nullable().optional(),
    metadata: z
      .object({
        user_id: EndUserId.nullable()
          .optional()
          .openapi({ description: "The team's end user the call is made for (recorded on the call)" }),
        tags: z
          .union([TagList, TagListText], { error: "must be a list of tags or a comma-separated string" })
          .nullable()
          .optional()
          .openapi({ description: "Tags of the call (a gateway extension; not sent upstream)" }),
      })
      .nullable()
      .optional(),
  })
  .openapi("MessagesRequest");

const MessagesUsage = z.object({
  input_tokens: z.number().int(),
  output_tokens: z.number().int(),
  cache_creation_input_tokens: z.number().int().nullable(),
  cache_read_input_tokens: z.number().int().nullable(),
});

export const MessagesAnswer = z
  .object({
    id: z.string().openapi({ description: "`msg_<call id>`" }),
    type: z.literal("message"),
    role: z.literal("assistant"),
    model: z.string().openapi({ description: "The model group" }),
    content: z.array(z.record(z.string(), z.unknown())),
    stop_reason: z.string().nullable(),
    stop_sequence: z.string().nullable(),
    usage: MessagesUsage.openapi({ description: "Tokens only (never a cost)" }),
  })
  .openapi("MessagesAnswer");

export const AnthropicError = z
  .object({
    type: z.literal("error"),
    error: z.object({ type: z.string(), message: z.string() }),
    request_id: z.string().optional(),
  })
  .openapi("AnthropicError");

/** The headers of /v1/messages besides the job's: Anthropic's version (the SDKs always send it). */
export const AnthropicHeaders = { "anthropic-version": AnthropicVersion.optional() };

export const AnthropicModelList = z
  .object({
    data: z.array(
      z.object({
        type: z.literal("model"),
        id: z.string(),
        display_name: z.string(),
        created_at: z.string().openapi({ format: "date-time" }),
      }),
    ),
    has_more: z.boolean(),
    first_id: z.string().nullable(),
    last_id: z.string().nullable(),
  })
  .openapi("AnthropicModelList");

/** A streamed message, as Anthropic's SDKs read it. */
export const MessagesEvents = z.string().openapi({
  description: "`event: <type>` / `data: <event>` pairs (Anthropic's Messages events), from `message_start` to `message_stop`",
});

/** GET /v1/models: OpenAI's list, or Anthropic's for a request with `anthropic-version`. */
export const V1ModelList = z.union([OpenAIModelList, AnthropicModelList]);
