import type { AdmittedCall } from "../call-context";
import { parseUsage } from "../cost";
import type { AnswerReading, CallRequest } from "../dialect";
import type { EventReading, StreamFormat } from "../stream/meter-stream";
import type { SseEvent } from "../stream/sse";
import { upstreamErrorMessage } from "../upstream/litellm-client";
import { type Attribution, attributionFields, attributionOf, whitelisted } from "../upstream/upstream-request";
import { chatWorstCase } from "../worst-case";
import { isObject, type Json, keep } from "./json";

// OpenAI's chat completions as LiteLLM speaks them, shared by the two dialects that use them (the
// job API's calls and /v1/chat/completions): the parameters forwarded, the worst case a request
// may cost, the answer and the stream as read, and every chunk and choice rebuilt for the team
// from an allowlist of OpenAI's fields, so nothing the upstream adds (provider cost in
// `usage.cost`, `system_fingerprint`, `provider_specific_fields`, `service_tier`, its own id,
// the model that served) reaches the team, whatever LiteLLM or a provider starts sending.

/** OpenAI chat-completion parameters forwarded as they are. Everything else is dropped. */
export const FORWARDED_PARAMETERS = [
  "messages",
  "temperature",
  "top_p",
  "max_tokens",
  "max_completion_tokens",
  "n",
  "stop",
  "presence_penalty",
  "frequency_penalty",
  "logit_bias",
  "logprobs",
  "top_logprobs",
  "seed",
  "response_format",
  "tools",
  "tool_choice",
  "parallel_tool_calls",
] as const;

export type ForwardedParameter = (typeof FORWARDED_PARAMETERS)[number];
export type ChatParameters = Partial<Record<ForwardedParameter, unknown>> & { messages: unknown[] };

/** A chat call as the pipeline runs it. */
export interface ChatRequest extends CallRequest {
  params: ChatParameters;
}

/** The forwarded parameters of a validated body (its other fields are the dialect's own). */
export function chatParametersOf(body: object): ChatParameters {
  return whitelisted(body as ChatParameters, FORWARDED_PARAMETERS) as ChatParameters;
}

export function buildUpstreamBody(
  params: ChatParameters,
  model: string,
  attribution: Attribution,
  stream: boolean,
): Record<string, unknown> {
  const body: Record<string, unknown> = { model, ...whitelisted(params, FORWARDED_PARAMETERS), ...attributionFields(attribution) };
  if (stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  return body;
}

/** The body of an admitted chat call: a call without max_tokens gets the one its hold was worked out for. */
export function chatUpstreamBody(request: ChatRequest, call: AdmittedCall, stream: boolean): Record<string, unknown> {
  const chosen = call.admission.budgetMaxTokens;
  const params = chosen === null ? request.params : { ...request.params, max_tokens: chosen };
  return buildUpstreamBody(params, call.models[0] ?? "", attributionOf(call), stream);
}

/** `X-Budget-Max-Tokens` when the gateway chose the call's max_tokens (its hold was worked out for it). */
export function budgetMaxTokensHeader(call: AdmittedCall): Record<string, string> {
  const chosen = call.admission.budgetMaxTokens;
  return chosen === null ? {} : { "x-budget-max-tokens": String(chosen) };
}

/** What the two chat dialects do alike: LiteLLM's endpoint, the hold's estimate, the body, the answer as read, the budget header. */
export const chatCompletionsWire = {
  upstreamPath: "/chat/completions",
  estimate: (request: ChatRequest) => chatWorstCase(request.params),
  upstreamBody: chatUpstreamBody,
  readAnswer: (text: string) => readChatAnswer(text),
  answerHeaders: budgetMaxTokensHeader,
} as const;

/** A chat completion as read: its choices as the upstream sent them, the first one's text, and when it was made. */
export interface ChatAnswer {
  choices: unknown[];
  content: string;
  finishReason: string | null;
  toolCalls?: unknown[];
  created: number;
}

/** A 2xx chat completion; null when it is not JSON with at least one choice. */
export function readChatAnswer(text: string): AnswerReading<ChatAnswer> | null {
  let completion: { choices?: unknown; created?: unknown; usage?: unknown };
  try {
    completion = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(completion) || !Array.isArray(completion.choices) || completion.choices.length === 0) return null;
  const first = isObject(completion.choices[0]) ? completion.choices[0] : {};
  const message = isObject(first.message) ? first.message : {};
  const content = typeof message.content === "string" ? message.content : "";
  const toolCalls = Array.isArray(message.tool_calls) ? message.tool_calls : undefined;
  return {
    usage: parseUsage(completion.usage),
    deliveredChars: content.length + (toolCalls ? JSON.stringify(toolCalls).length : 0),
    parsed: {
      choices: completion.choices,
      content,
      finishReason: typeof first.finish_reason === "string" ? first.finish_reason : null,
      ...(toolCalls ? { toolCalls } : {}),
      created: typeof completion.created === "number" ? completion.created : Math.floor(Date.now() / 1000),
    },
  };
}

const DONE_EVENT = "data: [DONE]\n\n";

/** The SSE event a client gets when the stream fails after it has started (by default: the upstream failed). */
export function streamErrorEvent(message: string, code = "502", type = "upstream_error"): string {
  return `data: ${JSON.stringify({ error: { message, type, param: null, code } })}\n\n`;
}

export interface ChatStreamOptions extends TeamChunkContext {
  /** The client did not ask for usage (OpenAI's `stream_options.include_usage`): it is metered, not sent. */
  withholdUsage?: boolean;
}

/**
 * LiteLLM's `chat.completion.chunk` stream, read and rewritten: each chunk rebuilt for the team
 * (toTeamChunk), an upstream error event reported as one, data that is not a JSON object
 * dropped (it would break OpenAI SDK parsers), and `[DONE]` as the end.
 */
export function chatStreamFormat(options: ChatStreamOptions): StreamFormat {
  return { read: (event) => readChatEvent(event, options), errorEvent: streamErrorEvent, closing: DONE_EVENT };
}

function readChatEvent({ data }: SseEvent, options: ChatStreamOptions): EventReading {
  if (data === null) return { kind: "skip" };
  if (data.trim() === "[DONE]") return { kind: "end" };
  let chunk: unknown;
  try {
    chunk = JSON.parse(data);
  } catch {
    return { kind: "skip" };
  }
  if (!isObject(chunk)) return { kind: "skip" };
  if (chunk.error !== undefined && chunk.error !== null) {
    const code = isObject(chunk.error) ? chunk.error.code : undefined;
    const status = typeof code === "number" || (typeof code === "string" && /^\d{3}$/.test(code)) ? String(code) : undefined;
    return { kind: "error", upstreamMessage: upstreamErrorMessage(data), code: status };
  }
  const teamChunk = toTeamChunk(chunk, options);
  let send: string | null = `data: ${JSON.stringify(teamChunk)}\n\n`;
  if (options.withholdUsage && "usage" in teamChunk) {
    delete teamChunk.usage;
    send = (teamChunk.choices as unknown[]).length === 0 ? null : `data: ${JSON.stringify(teamChunk)}\n\n`;
  }
  return { kind: "chunk", send, ...meteredChunk(chunk) };
}

/** What one chunk tells the meter: its usage and LiteLLM's cost, the text it delivers, its finish. */
function meteredChunk(chunk: Json) {
  const metered: { usage?: ReturnType<typeof parseUsage>; reportedCostUsd?: number; deliveredChars: number; finishReason?: string } = {
    deliveredChars: 0,
  };
  if (chunk.usage !== null && chunk.usage !== undefined) {
    metered.usage = parseUsage(chunk.usage);
    const cost = isObject(chunk.usage) ? chunk.usage.cost : undefined;
    if (typeof cost === "number" && Number.isFinite(cost) && cost >= 0) metered.reportedCostUsd = cost;
  }
  for (const choice of Array.isArray(chunk.choices) ? chunk.choices : []) {
    const delta = isObject(choice) && isObject(choice.delta) ? choice.delta : {};
    if (typeof delta.content === "string") metered.deliveredChars += delta.content.length;
    for (const call of Array.isArray(delta.tool_calls) ? delta.tool_calls : []) {
      const fn = isObject(call) && isObject(call.function) ? call.function : {};
      if (typeof fn.name === "string") metered.deliveredChars += fn.name.length;
      if (typeof fn.arguments === "string") metered.deliveredChars += fn.arguments.length;
    }
    if (isObject(choice) && typeof choice.finish_reason === "string") metered.finishReason = choice.finish_reason;
  }
  return metered;
}

export interface TeamChunkContext {
  /** What the team asked for; every chunk's `model`. */
  modelGroup: string;
  /** The gateway's call id; every chunk of the call has the id `chatcmpl-<callId>`. */
  callId: string;
}

function teamToolCall(call: unknown): Json {
  if (!isObject(call)) return {};
  const kept = keep(call, ["index", "id", "type"]);
  if (isObject(call.function)) kept.function = keep(call.function, ["name", "arguments"]);
  return kept;
}

function teamDelta(delta: unknown): Json {
  if (!isObject(delta)) return {};
  const kept = keep(delta, ["role", "content", "refusal"]);
  if (Array.isArray(delta.tool_calls)) kept.tool_calls = delta.tool_calls.map(teamToolCall);
  return kept;
}

function teamChoice(choice: unknown, position: number): Json {
  const source = isObject(choice) ? choice : {};
  return {
    index: typeof source.index === "number" ? source.index : position,
    delta: teamDelta(source.delta),
    ...(source.logprobs !== undefined ? { logprobs: source.logprobs } : {}),
    finish_reason: typeof source.finish_reason === "string" ? source.finish_reason : null,
  };
}

/** Token counts only: never the provider's cost or its token details. */
function teamUsage(usage: unknown): Json | null {
  if (!isObject(usage)) return null;
  return keep(usage, ["prompt_tokens", "completion_tokens", "total_tokens"]);
}

/** The chunk a team is sent for one upstream chunk (never an error event: those are the gateway's own). */
export function toTeamChunk(chunk: Json, context: TeamChunkContext): Json {
  return {
    id: `chatcmpl-${context.callId}`,
    object: "chat.completion.chunk",
    created: typeof chunk.created === "number" ? chunk.created : Math.floor(Date.now() / 1000),
    model: context.modelGroup,
    choices: Array.isArray(chunk.choices) ? chunk.choices.map(teamChoice) : [],
    ...(chunk.usage !== undefined ? { usage: teamUsage(chunk.usage) } : {}),
  };
}

function teamMessage(message: unknown): Json {
  const source = isObject(message) ? message : {};
  const kept: Json = {
    role: "assistant",
    content: typeof source.content === "string" ? source.content : null,
    refusal: typeof source.refusal === "string" ? source.refusal : null,
  };
  if (Array.isArray(source.tool_calls)) kept.tool_calls = source.tool_calls.map(teamToolCall);
  return kept;
}

/** The choices of a non-streamed answer as a team receives them: OpenAI's message fields only, every choice. */
export function toTeamChoices(choices: unknown[]): Json[] {
  return choices.map((choice, position) => {
    const source = isObject(choice) ? choice : {};
    return {
      index: typeof source.index === "number" ? source.index : position,
      message: teamMessage(source.message),
      logprobs: source.logprobs ?? null,
      finish_reason: typeof source.finish_reason === "string" ? source.finish_reason : null,
    };
  });
}
