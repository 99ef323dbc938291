import type { z } from "@hono/zod-openapi";
import type { LlmCallAnswer, LlmCallBody } from "../../schemas/calls";
import type { StreamingDialect } from "../dialect";
import { NO_LABELS } from "../labels";
import { type ChatAnswer, type ChatRequest, chatCompletionsWire, chatParametersOf, chatStreamFormat } from "./chat-completions";

// The job API's calls: POST /api/jobs/{id}/llm-call[-stream] and create-and-call[-stream]. The
// body names a model group (`model_group`, or `model`) and a purpose; the answer is the first
// choice's text with the call's metadata; a stream is the chat chunks, usage included.

type JobCallBody = z.infer<typeof LlmCallBody>;

export const jobChat: StreamingDialect<JobCallBody, ChatRequest, ChatAnswer, z.infer<typeof LlmCallAnswer>> = {
  ...chatCompletionsWire,
  // Labels come from the X-Gateway-Tags and X-End-User-Id headers only (the body has no metadata).
  parse: (body) => ({
    modelGroup: (body.model_group ?? body.model)!,
    purpose: body.purpose ?? null,
    labels: NO_LABELS,
    params: chatParametersOf(body),
  }),
  writeAnswer: (parsed, { callId, modelGroup, usage, latencyMs }) => ({
    call_id: callId,
    response: {
      content: parsed.content,
      finish_reason: parsed.finishReason,
      ...(parsed.toolCalls ? { tool_calls: parsed.toolCalls } : {}),
    },
    metadata: {
      tokens_used: usage.totalTokens,
      prompt_tokens: usage.promptTokens,
      completion_tokens: usage.completionTokens,
      latency_ms: Math.round(latencyMs),
      model_group: modelGroup,
    },
  }),
  streamFormat: (_request, call) => chatStreamFormat({ modelGroup: call.modelGroup, callId: call.callId }),
};
