import { z } from "@hono/zod-openapi";
import { LlmCallFields } from "./calls";
import { ClientId, ServerId } from "./common";
import { CallLabelHeaderFields, EndUserId, OpenAIMetadata } from "./labels";

// The /v1 surface: OpenAI's request and response shapes, validated by the same field rules as
// the job API's calls.

const { model_group: _group, model: _model, purpose: _purpose, temperature: _temperature, ...chatFields } = LlmCallFields;

export const OpenAIChatBody = z
  .object({
    model: ClientId.openapi({ description: "A model group the team may use" }),
    ...chatFields,
    temperature: z.number().min(0, { error: "must be between 0 and 2" }).max(2, { error: "must be between 0 and 2" }).nullable().optional(),
    stream: z.boolean().nullable().optional(),
    stream_options: z
      .object({ include_usage: z.boolean().nullable().optional() })
      .nullable()
      .optional()
      .openapi({ description: "`include_usage`: send the usage chunk (the call is metered either way)" }),
    user: EndUserId.nullable()
      .optional()
      .openapi({ description: "The team's end user the call is made for (recorded on the call; LiteLLM gets the team id as `user`)" }),
    metadata: OpenAIMetadata.nullable().optional(),
  })
  .openapi("OpenAIChatCompletionRequest");

export const OpenAIEmbeddingBody = z
  .object({
    model: ClientId.openapi({ description: "A model group the team may use" }),
    input: z
      .union(
        [
          z.string().max(1_000_000),
          z.array(z.string().max(1_000_000)).min(1).max(2048),
          z.array(z.number().int()).min(1).max(100_000),
          z.array(z.array(z.number().int()).min(1).max(100_000)).min(1).max(2048),
        ],
        { error: "must be a string, a list of strings, or token lists" },
      )
      .openapi({ description: "Text (or token ids) to embed" }),
    encoding_format: z.enum(["float", "base64"], { error: "must be float or base64" }).nullable().optional(),
    dimensions: z.number().int({ error: "must be an integer" }).min(1).max(8192).nullable().optional(),
    user: EndUserId.nullable().optional().openapi({ description: "The team's end user the call is made for (recorded on the call)" }),
  })
  .openapi("OpenAIEmbeddingRequest");

/** The job a /v1 call belongs to (an open job of the team, or without it a one-request job of this type), and the call's labels. */
export const JobHeaders = z.object({
  ...CallLabelHeaderFields,
  "x-job-id": ServerId.optional().openapi({ description: "An open job of the team (opened with POST /api/jobs/create)" }),
  "x-job-type": z
    .string()
    .min(1, { error: "must not be empty" })
    .max(100, { error: "must be at most 100 characters" })
    .optional()
    .openapi({ description: "The job type of a one-request job (default `api`)" }),
});

const Usage = z.object({ prompt_tokens: z.number().int(), completion_tokens: z.number().int(), total_tokens: z.number().int() });

export const OpenAIChatCompletion = z
  .object({
    id: z.string().openapi({ description: "`chatcmpl-<call id>`" }),
    object: z.literal("chat.completion"),
    created: z.number().int(),
    model: z.string().openapi({ description: "The model group" }),
    choices: z.array(
      z.object({
        index: z.number().int(),
        message: z.object({
          role: z.literal("assistant"),
          content: z.string().nullable(),
          refusal: z.string().nullable(),
          tool_calls: z.array(z.unknown()).optional(),
        }),
        logprobs: z.unknown().nullable(),
        finish_reason: z.string().nullable(),
      }),
    ),
    usage: Usage,
  })
  .openapi("OpenAIChatCompletion");

export const OpenAIEmbeddingList = z
  .object({
    object: z.literal("list"),
    data: z.array(z.object({ object: z.literal("embedding"), index: z.number().int(), embedding: z.unknown() })),
    model: z.string(),
    usage: z.object({ prompt_tokens: z.number().int(), total_tokens: z.number().int() }),
  })
  .openapi("OpenAIEmbeddingList");

export const OpenAIModelList = z
  .object({
    object: z.literal("list"),
    data: z.array(
      z.object({ id: z.string(), object: z.literal("model"), created: z.number().int(), owned_by: z.literal("llm-job-gateway") }),
    ),
  })
  .openapi("OpenAIModelList");

export const OpenAIError = z
  .object({
    error: z.object({ message: z.string(), type: z.string(), param: z.string().nullable(), code: z.string().nullable() }),
  })
  .openapi("OpenAIError");

/** A streamed chat completion, as OpenAI's SDKs read it. */
export const OpenAIChatChunks = z.string().openapi({ description: "`data: <chat.completion.chunk>` events, then `data: [DONE]`" });
