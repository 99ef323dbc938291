import type { z } from "@hono/zod-openapi";
import { DEFAULT_MAX_TOKENS } from "../../ledger/rules/holds";
import { DEFAULT_ANTHROPIC_VERSION, type MessagesAnswer, type MessagesBody } from "../../schemas/anthropic";
import { splitTags } from "../../schemas/labels";
import type { AdmittedCall } from "../call-context";
import type { Usage } from "../cost";
import type { AnswerReading, CallFacts, CallRequest, StreamingDialect } from "../dialect";
import type { CallLabels } from "../labels";
import type { EventReading, StreamFormat } from "../stream/meter-stream";
import type { SseEvent } from "../stream/sse";
import { attributionOf, litellmMetadata, whitelisted } from "../upstream/upstream-request";
import { messagesWorstCase } from "../worst-case";
import { budgetMaxTokensHeader } from "./chat-completions";
import { countOf, isObject, type Json, keep, parseObject, reportedCost } from "./json";

// Anthropic's Messages API (POST /v1/messages), forwarded to LiteLLM's /v1/messages. The hold
// counts the messages, the system prompt and the tools with `max_tokens`; Anthropic requires
// max_tokens, so a request without it is held as a chat call without one (the team's object
// chooses it under a hard budget) and LiteLLM is sent that choice, or 4096 (what the hold
// counted). Metered from `usage` (input tokens with the cache's, output tokens) and, streamed,
// from `message_start` and `message_delta`. The team gets Anthropic's message rebuilt from an
// allowlist: `msg_<call id>`, the group as `model`, token-only usage.

/** Messages parameters forwarded as they are. Everything else is dropped (`metadata` is the team's own). */
export const FORWARDED_MESSAGES_PARAMETERS = [
  "messages",
  "system",
  "max_tokens",
  "temperature",
  "top_p",
  "top_k",
  "stop_sequences",
  "tools",
  "tool_choice",
  "thinking",
] as const;

type MessagesBodyType = z.infer<typeof MessagesBody>;
type Forwarded = Partial<Record<(typeof FORWARDED_MESSAGES_PARAMETERS)[number], unknown>>;
type TeamMessage = z.infer<typeof MessagesAnswer>;

export interface MessagesRequest extends CallRequest {
  params: Forwarded;
  /** The `anthropic-version` the client asked for, passed on to LiteLLM. */
  version: string;
}

function upstreamBody(request: MessagesRequest, call: AdmittedCall, stream: boolean): Json {
  const asked = request.params.max_tokens;
  const maxTokens = typeof asked === "number" ? asked : (call.admission.budgetMaxTokens ?? DEFAULT_MAX_TOKENS);
  const attribution = attributionOf(call);
  return {
    model: call.models[0] ?? "",
    ...whitelisted(request.params, FORWARDED_MESSAGES_PARAMETERS),
    max_tokens: maxTokens,
    ...(stream ? { stream: true } : {}),
    // Anthropic's end-user field carries the team, as `user` does on the OpenAI routes; LiteLLM's own metadata the rest.
    metadata: { user_id: attribution.teamId },
    litellm_metadata: litellmMetadata(attribution),
  };
}

// ---------------------------------------------------------------------------- usage

/** Anthropic's token counts as they stand: input (cache writes and reads apart) and output. */
interface Tokens {
  input: number;
  cacheCreation: number | null;
  cacheRead: number | null;
  output: number;
}

/** Counts a usage object reports, over those known so far (a stream's message_delta completes its message_start). */
function tokensWith(known: Tokens, raw: unknown): Tokens {
  if (!isObject(raw)) return known;
  return {
    input: countOf(raw.input_tokens) ?? known.input,
    cacheCreation: countOf(raw.cache_creation_input_tokens) ?? known.cacheCreation,
    cacheRead: countOf(raw.cache_read_input_tokens) ?? known.cacheRead,
    output: countOf(raw.output_tokens) ?? known.output,
  };
}

const NO_TOKENS: Tokens = { input: 0, cacheCreation: null, cacheRead: null, output: 0 };

/** What the call is billed for: every input token (cache writes and reads included) and the output. */
function usageOf(tokens: Tokens): Usage {
  const promptTokens = tokens.input + (tokens.cacheCreation ?? 0) + (tokens.cacheRead ?? 0);
  return { promptTokens, completionTokens: tokens.output, totalTokens: promptTokens + tokens.output };
}

const hasCounts = (raw: unknown) => isObject(raw) && (countOf(raw.input_tokens) !== null || countOf(raw.output_tokens) !== null);

function teamUsage(tokens: Tokens): TeamMessage["usage"] {
  return {
    input_tokens: tokens.input,
    output_tokens: tokens.output,
    cache_creation_input_tokens: tokens.cacheCreation,
    cache_read_input_tokens: tokens.cacheRead,
  };
}

// ---------------------------------------------------------------------------- content

const BLOCK_FIELDS: Record<string, readonly string[]> = {
  text: ["type", "text", "citations"],
  tool_use: ["type", "id", "name", "input"],
  thinking: ["type", "thinking", "signature"],
  redacted_thinking: ["type", "data"],
};

/** A content block as the team gets it: the known kinds from their fields, others less any provider-specific fields. */
function teamBlock(block: unknown): Json {
  if (!isObject(block)) return {};
  const fields = typeof block.type === "string" ? BLOCK_FIELDS[block.type] : undefined;
  if (fields) return keep(block, fields);
  const { provider_specific_fields: _provider, ...rest } = block;
  return rest;
}

const DELTA_FIELDS: Record<string, readonly string[]> = {
  text_delta: ["type", "text"],
  input_json_delta: ["type", "partial_json"],
  thinking_delta: ["type", "thinking"],
  signature_delta: ["type", "signature"],
  citations_delta: ["type", "citation"],
};

/** Characters of output in a block or a delta: text, tool input, thinking. */
function outputChars(part: Json): number {
  let chars = 0;
  for (const key of ["text", "partial_json", "thinking"]) if (typeof part[key] === "string") chars += (part[key] as string).length;
  if (part.type === "tool_use" && part.input !== undefined) chars += JSON.stringify(part.input).length;
  return chars;
}

// ---------------------------------------------------------------------------- the answer

interface MessageReading {
  message: Json;
  tokens: Tokens;
}

function readMessage(text: string): AnswerReading<MessageReading> | null {
  const message = parseObject(text);
  if (message === null || !Array.isArray(message.content)) return null;
  const tokens = tokensWith(NO_TOKENS, message.usage);
  const delivered = message.content.reduce((sum: number, block) => sum + (isObject(block) ? outputChars(block) : 0), 0);
  return { usage: hasCounts(message.usage) ? usageOf(tokens) : null, deliveredChars: delivered, parsed: { message, tokens } };
}

/** Anthropic's message as the team gets it. */
function teamMessage(message: Json, callId: string, modelGroup: string, tokens: Tokens): TeamMessage {
  return {
    id: `msg_${callId}`,
    type: "message",
    role: "assistant",
    model: modelGroup,
    content: Array.isArray(message.content) ? message.content.map(teamBlock) : [],
    stop_reason: typeof message.stop_reason === "string" ? message.stop_reason : null,
    stop_sequence: typeof message.stop_sequence === "string" ? message.stop_sequence : null,
    usage: teamUsage(tokens),
  };
}

function writeMessage({ message, tokens }: MessageReading, facts: CallFacts): TeamMessage {
  // No usage from upstream: the metered estimate, all of it as plain input and output.
  const shown = hasCounts(message.usage) ? tokens : { ...NO_TOKENS, input: facts.usage.promptTokens, output: facts.usage.completionTokens };
  return teamMessage(message, facts.callId, facts.modelGroup, shown);
}

// ---------------------------------------------------------------------------- the stream

const eventText = (event: Json) => `event: ${String(event.type)}\ndata: ${JSON.stringify(event)}\n\n`;

/**
 * Anthropic's stream (named events), read and rewritten: the message of `message_start` as the
 * team's, each block and delta from its fields, `message_delta`'s usage as token counts only;
 * `message_stop` is the end, held until the call is recorded; an `error` event is the upstream
 * failing. The usage is that of `message_start` completed by each `message_delta`.
 */
function messagesStreamFormat(_request: MessagesRequest, call: AdmittedCall): StreamFormat {
  let tokens = NO_TOKENS;
  let counted = false;
  const metered = (raw: unknown) => {
    tokens = tokensWith(tokens, raw);
    counted ||= hasCounts(raw);
    return counted ? usageOf(tokens) : null;
  };
  const read = ({ data }: SseEvent): EventReading => {
    if (data === null) return { kind: "skip" };
    const event = parseObject(data);
    if (event === null || typeof event.type !== "string") return { kind: "skip" };
    switch (event.type) {
      case "error": {
        const message = isObject(event.error) ? event.error.message : undefined;
        return { kind: "error", upstreamMessage: typeof message === "string" ? message : data };
      }
      case "message_start": {
        const message = isObject(event.message) ? event.message : {};
        const usage = metered(message.usage);
        const team = teamMessage(message, call.callId, call.modelGroup, tokens);
        return { kind: "chunk", send: eventText({ type: "message_start", message: team }), usage };
      }
      case "content_block_start": {
        const block = teamBlock(event.content_block);
        return {
          kind: "chunk",
          send: eventText({ type: event.type, index: event.index, content_block: block }),
          deliveredChars: outputChars(block),
        };
      }
      case "content_block_delta": {
        const delta = isObject(event.delta) ? event.delta : {};
        const fields = typeof delta.type === "string" ? DELTA_FIELDS[delta.type] : undefined;
        const kept = fields ? keep(delta, fields) : delta;
        return { kind: "chunk", send: eventText({ type: event.type, index: event.index, delta: kept }), deliveredChars: outputChars(kept) };
      }
      case "message_delta": {
        const delta = isObject(event.delta) ? keep(event.delta, ["stop_reason", "stop_sequence"]) : {};
        const usage = metered(event.usage);
        const stop = typeof delta.stop_reason === "string" ? delta.stop_reason : null;
        return {
          kind: "chunk",
          send: eventText({ type: event.type, delta, usage: keep(teamUsage(tokens), ["input_tokens", "output_tokens"]) }),
          usage,
          reportedCostUsd: isObject(event.usage) ? reportedCost(event.usage.cost) : null,
          finishReason: stop,
        };
      }
      case "message_stop":
        return { kind: "end", send: eventText({ type: "message_stop" }) };
      default:
        return { kind: "chunk", send: eventText(keep(event, ["type", "index"])) };
    }
  };
  const errorEvent = (message: string) => eventText({ type: "error", error: { type: "api_error", message } });
  return { read, errorEvent, closing: "" };
}

// ---------------------------------------------------------------------------- the dialect

/** The request's labels: Anthropic's `metadata.user_id`, and `metadata.tags` (a list or a comma-separated string). */
function labelsOf(body: MessagesBodyType): CallLabels {
  const tags = body.metadata?.tags;
  const list = typeof tags === "string" ? splitTags(tags) : (tags ?? []);
  return { tags: [...new Set(list)], endUser: body.metadata?.user_id || null };
}

export const anthropicMessages: StreamingDialect<MessagesBodyType, MessagesRequest, MessageReading, TeamMessage> = {
  upstreamPath: "/v1/messages",
  parse: (body) => ({
    modelGroup: body.model,
    purpose: null,
    labels: labelsOf(body),
    params: whitelisted(body as Forwarded, FORWARDED_MESSAGES_PARAMETERS),
    version: DEFAULT_ANTHROPIC_VERSION,
  }),
  estimate: (request) => messagesWorstCase(request.params),
  upstreamBody,
  upstreamHeaders: (request) => ({ "anthropic-version": request.version }),
  readAnswer: readMessage,
  writeAnswer: writeMessage,
  answerHeaders: budgetMaxTokensHeader,
  streamFormat: messagesStreamFormat,
};
