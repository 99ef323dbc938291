import type { z } from "@hono/zod-openapi";
import type { OpenAIChatBody, OpenAIChatCompletion } from "../../schemas/openai";
import type { StreamingDialect } from "../dialect";
import { openAILabels } from "../labels";
import {
  type ChatAnswer,
  type ChatRequest,
  chatCompletionsWire,
  chatParametersOf,
  chatStreamFormat,
  toTeamChoices,
} from "./chat-completions";

// OpenAI's chat completions (POST /v1/chat/completions), so an OpenAI SDK pointed at the
// gateway gets job billing: `model` names the group; the answer is OpenAI's `chat.completion`
// rebuilt by the gateway (`id` is `chatcmpl-<call id>`, `model` the group, every choice,
// token-only usage); a stream sends its usage chunk only when `stream_options.include_usage`.

export interface OpenAIChatRequest extends ChatRequest {
  /** The client asked for the usage chunk of a stream (it is metered either way). */
  includeUsage: boolean;
}

export const openAIChat: StreamingDialect<
  z.infer<typeof OpenAIChatBody>,
  OpenAIChatRequest,
  ChatAnswer,
  z.infer<typeof OpenAIChatCompletion>
> = {
  ...chatCompletionsWire,
  // `user` is the call's end user (LiteLLM gets the team id as `user`); `metadata` is the team's, not forwarded.
  parse: ({ model, stream: _stream, stream_options, user, metadata, ...params }) => ({
    modelGroup: model,
    purpose: null,
    labels: openAILabels(user, metadata),
    params: chatParametersOf(params),
    includeUsage: stream_options?.include_usage === true,
  }),
  writeAnswer: (parsed, { callId, modelGroup, usage }) => ({
    id: `chatcmpl-${callId}`,
    object: "chat.completion",
    created: parsed.created,
    model: modelGroup,
    choices: toTeamChoices(parsed.choices) as z.infer<typeof OpenAIChatCompletion>["choices"],
    usage: { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, total_tokens: usage.totalTokens },
  }),
  streamFormat: (request, call) =>
    chatStreamFormat({ modelGroup: call.modelGroup, callId: call.callId, withholdUsage: !request.includeUsage }),
};
