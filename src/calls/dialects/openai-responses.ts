import type { z } from "@hono/zod-openapi";
import type { ResponsesAnswer, ResponsesBody } from "../../schemas/responses";
import type { AdmittedCall } from "../call-context";
import type { Usage } from "../cost";
import type { AnswerReading, CallFacts, CallRequest, StreamingDialect } from "../dialect";
import { type CallLabels, openAILabels } from "../labels";
import type { EventReading, StreamFormat } from "../stream/meter-stream";
import type { SseEvent } from "../stream/sse";
import { attributionOf, litellmMetadata, whitelisted } from "../upstream/upstream-request";
import { responsesWorstCase } from "../worst-case";
import { budgetMaxTokensHeader } from "./chat-completions";
import { countOf, isObject, type Json, keep, parseObject, reportedCost } from "./json";

// OpenAI's Responses API (POST /v1/responses), forwarded to LiteLLM's /responses. Stateless:
// nothing is stored upstream (`store: false`), so a response cannot be continued by id. The hold
// counts every prompt-side field and `max_output_tokens` (none given: the team's object chooses
// one, at least OpenAI's minimum of 16). Metered from the response's `usage` (input tokens include
// cached ones, output tokens the reasoning ones), streamed from `response.completed`. The team is
// sent OpenAI's `response` rebuilt from an allowlist: `resp_<call id>`, the group as `model`,
// token-only usage, the team's own `user` and `metadata`; never LiteLLM's encoded id, which names
// the provider and deployment, nor a cost.

/** Responses parameters forwarded as they are. Everything else is dropped. */
export const FORWARDED_RESPONSES_PARAMETERS = [
  "input",
  "instructions",
  "max_output_tokens",
  "temperature",
  "top_p",
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "max_tool_calls",
  "text",
  "reasoning",
  "truncation",
  "top_logprobs",
  "include",
  "prompt_cache_key",
] as const;

type ResponsesBodyType = z.infer<typeof ResponsesBody>;
type Forwarded = Partial<Record<(typeof FORWARDED_RESPONSES_PARAMETERS)[number], unknown>>;

export interface ResponsesRequest extends CallRequest {
  params: Forwarded;
  /** What the answer echoes of the request: the team's own `user` and `metadata` (neither is sent upstream). */
  echo: { user: string | null; metadata: Record<string, string> };
}

function upstreamBody(request: ResponsesRequest, call: AdmittedCall, stream: boolean): Json {
  const chosen = call.admission.budgetMaxTokens;
  const params = chosen === null ? request.params : { ...request.params, max_output_tokens: chosen };
  const attribution = attributionOf(call);
  return {
    model: call.models[0] ?? "",
    ...whitelisted(params, FORWARDED_RESPONSES_PARAMETERS),
    store: false,
    ...(stream ? { stream: true } : {}),
    user: attribution.teamId,
    // LiteLLM's own metadata on this route (`metadata` is the Responses API's, and would go to the provider).
    litellm_metadata: litellmMetadata(attribution),
  };
}

// ---------------------------------------------------------------------------- the answer, read

/** Usage as the Responses API reports it: input tokens (cached included) and output tokens (reasoning included). */
function usageOf(raw: unknown): Usage | null {
  if (!isObject(raw)) return null;
  const input = countOf(raw.input_tokens);
  const output = countOf(raw.output_tokens);
  if (input === null && output === null) return null;
  const promptTokens = input ?? 0;
  const completionTokens = output ?? 0;
  return { promptTokens, completionTokens, totalTokens: countOf(raw.total_tokens) ?? promptTokens + completionTokens };
}

/** Characters of output in a response's items: message text and refusals, function call arguments. */
function outputChars(output: unknown): number {
  let chars = 0;
  for (const item of Array.isArray(output) ? output : []) {
    if (!isObject(item)) continue;
    if (typeof item.arguments === "string") chars += item.arguments.length;
    for (const part of Array.isArray(item.content) ? item.content : []) {
      if (isObject(part) && typeof part.text === "string") chars += part.text.length;
      if (isObject(part) && typeof part.refusal === "string") chars += part.refusal.length;
    }
  }
  return chars;
}

function readResponse(text: string): AnswerReading<Json> | null {
  const response = parseObject(text);
  if (response === null || !Array.isArray(response.output)) return null;
  return { usage: usageOf(response.usage), deliveredChars: outputChars(response.output), parsed: response };
}

// ---------------------------------------------------------------------------- the answer, written

const ITEM_FIELDS: Record<string, readonly string[]> = {
  message: ["id", "type", "status", "role"],
  function_call: ["id", "type", "status", "call_id", "name", "arguments"],
  reasoning: ["id", "type", "status", "summary", "content", "encrypted_content"],
};

function teamPart(part: unknown): Json {
  if (!isObject(part)) return {};
  if (part.type === "output_text") return keep(part, ["type", "text", "annotations", "logprobs"]);
  if (part.type === "refusal") return keep(part, ["type", "refusal"]);
  return keep(part, ["type", "text"]);
}

/**
 * An output item as the team gets it: messages, function calls and reasoning rebuilt from their
 * fields (ids kept: a stream's items and its final response must match); other item kinds (tool
 * calls the provider ran) as sent, less any provider-specific fields.
 */
function teamItem(item: unknown): Json {
  if (!isObject(item)) return {};
  const fields = typeof item.type === "string" ? ITEM_FIELDS[item.type] : undefined;
  if (!fields) {
    const { provider_specific_fields: _provider, ...rest } = item;
    return rest;
  }
  const kept = keep(item, fields);
  if (item.type === "message") kept.content = Array.isArray(item.content) ? item.content.map(teamPart) : [];
  return kept;
}

/** Token counts only, with OpenAI's cached and reasoning details. */
function teamUsage(raw: unknown, metered: Usage | null): z.infer<typeof ResponsesAnswer>["usage"] | null {
  const source = isObject(raw) ? raw : null;
  const usage = usageOf(source) ?? metered;
  if (usage === null) return null;
  const cached = source && isObject(source.input_tokens_details) ? countOf(source.input_tokens_details.cached_tokens) : null;
  const reasoning = source && isObject(source.output_tokens_details) ? countOf(source.output_tokens_details.reasoning_tokens) : null;
  return {
    input_tokens: usage.promptTokens,
    input_tokens_details: { cached_tokens: cached ?? 0 },
    output_tokens: usage.completionTokens,
    output_tokens_details: { reasoning_tokens: reasoning ?? 0 },
    total_tokens: usage.totalTokens,
  };
}

interface TeamResponseContext {
  callId: string;
  modelGroup: string;
  echo: ResponsesRequest["echo"];
  /** The metered usage, for a response whose own is missing (null while a stream is under way). */
  usage: Usage | null;
}

/** OpenAI's `response` object as the team gets it (in progress while streaming: no usage yet). */
function teamResponse(response: Json, context: TeamResponseContext): z.infer<typeof ResponsesAnswer> {
  const number = (value: unknown) => (typeof value === "number" ? value : null);
  return {
    id: `resp_${context.callId}`,
    object: "response",
    created_at: number(response.created_at) ?? Math.floor(Date.now() / 1000),
    status: typeof response.status === "string" ? response.status : "completed",
    error: response.error ?? null,
    incomplete_details: response.incomplete_details ?? null,
    instructions: response.instructions ?? null,
    max_output_tokens: number(response.max_output_tokens),
    model: context.modelGroup,
    output: Array.isArray(response.output) ? response.output.map(teamItem) : [],
    parallel_tool_calls: response.parallel_tool_calls !== false,
    previous_response_id: null,
    reasoning: response.reasoning ?? null,
    store: false,
    temperature: number(response.temperature),
    text: response.text ?? null,
    tool_choice: response.tool_choice ?? "auto",
    tools: Array.isArray(response.tools) ? response.tools : [],
    top_p: number(response.top_p),
    truncation: typeof response.truncation === "string" ? response.truncation : null,
    usage: teamUsage(response.usage, context.usage) as z.infer<typeof ResponsesAnswer>["usage"],
    user: context.echo.user,
    metadata: context.echo.metadata,
  };
}

function writeResponse(parsed: Json, facts: CallFacts, request: ResponsesRequest): z.infer<typeof ResponsesAnswer> {
  return teamResponse(parsed, { callId: facts.callId, modelGroup: facts.modelGroup, echo: request.echo, usage: facts.usage });
}

// ---------------------------------------------------------------------------- the stream

/** The fields an event of the Responses stream may carry (each rebuilt or kept as it is); anything else is dropped. */
const EVENT_FIELDS = [
  "type",
  "sequence_number",
  "output_index",
  "content_index",
  "summary_index",
  "item_id",
  "delta",
  "text",
  "refusal",
  "arguments",
  "name",
  "logprobs",
  "obfuscation",
  "annotation",
  "annotation_index",
  "part",
] as const;

/** Event types whose `delta` is output the client reads (what a usage estimate counts). */
const OUTPUT_DELTAS = new Set([
  "response.output_text.delta",
  "response.refusal.delta",
  "response.function_call_arguments.delta",
  "response.reasoning_summary_text.delta",
]);

const eventText = (event: Json) => `event: ${String(event.type)}\ndata: ${JSON.stringify(event)}\n\n`;

/**
 * LiteLLM's Responses stream, read and rewritten: every event rebuilt from its fields (the
 * `response` it carries as the team's, its `item` as the team's), named as OpenAI names them; the
 * terminal `response.completed` (or `response.incomplete`) is the end, metered from its usage and
 * held until the call is recorded; `response.failed` and `error` are the upstream failing.
 */
function responsesStreamFormat(request: ResponsesRequest, call: AdmittedCall): StreamFormat {
  const context: TeamResponseContext = { callId: call.callId, modelGroup: call.modelGroup, echo: request.echo, usage: null };
  let lastSequence = -1;
  const teamEvent = (event: Json): Json => {
    const kept = keep(event, EVENT_FIELDS);
    if (isObject(event.response)) kept.response = teamResponse(event.response, context);
    if (isObject(event.item)) kept.item = teamItem(event.item);
    if (isObject(event.part)) kept.part = teamPart(event.part);
    return kept;
  };
  const read = ({ data }: SseEvent): EventReading => {
    if (data === null) return { kind: "skip" };
    if (data.trim() === "[DONE]") return { kind: "end" };
    const event = parseObject(data);
    if (event === null || typeof event.type !== "string") return { kind: "skip" };
    lastSequence = countOf(event.sequence_number) ?? lastSequence;
    switch (event.type) {
      case "error":
        return { kind: "error", upstreamMessage: typeof event.message === "string" ? event.message : data };
      case "response.failed": {
        const failure = isObject(event.response) && isObject(event.response.error) ? event.response.error.message : undefined;
        return { kind: "error", upstreamMessage: typeof failure === "string" ? failure : data };
      }
      case "response.completed":
      case "response.incomplete": {
        const response = isObject(event.response) ? event.response : {};
        return {
          kind: "end",
          send: eventText(teamEvent(event)),
          usage: usageOf(response.usage),
          reportedCostUsd: isObject(response.usage) ? reportedCost(response.usage.cost) : null,
          finishReason: typeof response.status === "string" ? response.status : event.type,
        };
      }
      default: {
        const delivered = OUTPUT_DELTAS.has(event.type) && typeof event.delta === "string" ? event.delta.length : 0;
        return { kind: "chunk", send: eventText(teamEvent(event)), deliveredChars: delivered };
      }
    }
  };
  const errorEvent = (message: string, code = "502", type = "upstream_error") =>
    eventText({ type: "error", code: type, message, param: null, status: Number(code), sequence_number: ++lastSequence });
  return { read, errorEvent, closing: "" };
}

// ---------------------------------------------------------------------------- the dialect

/** The request's labels: OpenAI's `user` (else `safety_identifier`) and `metadata.tags`. */
function labelsOf(body: ResponsesBodyType): CallLabels {
  return openAILabels(body.user || body.safety_identifier, body.metadata);
}

export const openAIResponses: StreamingDialect<ResponsesBodyType, ResponsesRequest, Json, z.infer<typeof ResponsesAnswer>> = {
  upstreamPath: "/responses",
  parse: (body) => ({
    modelGroup: body.model,
    purpose: null,
    labels: labelsOf(body),
    params: whitelisted(body as Forwarded, FORWARDED_RESPONSES_PARAMETERS),
    echo: { user: body.user ?? null, metadata: body.metadata ?? {} },
  }),
  estimate: (request) => responsesWorstCase(request.params),
  upstreamBody,
  readAnswer: readResponse,
  writeAnswer: writeResponse,
  answerHeaders: budgetMaxTokensHeader,
  streamFormat: responsesStreamFormat,
};
