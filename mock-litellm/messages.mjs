// mock-litellm/messages.mjs: POST /v1/messages, Anthropic's Messages API as LiteLLM 1.106.12
// serves it for an OpenAI model: the request translated to a Responses request (what LiteLLM
// sends the provider's /v1/responses: `system` as a developer message, tool results as function
// call outputs), answered deterministically, and translated back into Anthropic's message, its
// named stream events and its error envelope. Proxy mode only: a provider has no such route.

import { splitIntoChunks } from "./answers.mjs";
import { checkAuth } from "./auth.mjs";
import { responsesRouteError } from "./errors.mjs";
import { responsesAnswer, responsesMeta } from "./responses.mjs";
import { parseModelName } from "./steering.mjs";
import { errorHeaders, isClosed, pause, pythonJsonDumps, sendJson, successHeaders, waitForDisconnect } from "./wire.mjs";

// ---------------------------------------------------------------------------
// Errors, as LiteLLM's Anthropic routes word them
// ---------------------------------------------------------------------------

/** LiteLLM's ANTHROPIC_ERROR_TYPE_MAP. */
const ERROR_TYPES = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  529: "overloaded_error",
};

function anthropicError(status, message) {
  return { status, body: { type: "error", error: { type: ERROR_TYPES[status] ?? "api_error", message } } };
}

function sendAnthropicError(res, error, headers) {
  sendJson(res, error.status, error.body, headers);
}

// ---------------------------------------------------------------------------
// The request, translated
// ---------------------------------------------------------------------------

const textOfBlocks = (content) =>
  typeof content === "string"
    ? content
    : Array.isArray(content)
      ? content.map((block) => (block && typeof block.text === "string" ? block.text : "")).join("")
      : "";

/**
 * The Responses request LiteLLM makes of an Anthropic one: the system prompt as a developer
 * message, each message's text as a message item, its tool uses as function calls and its tool
 * results as their outputs; tools as function tools; max_tokens as max_output_tokens.
 */
export function messagesAsResponses(body) {
  const input = [];
  const system = textOfBlocks(body.system);
  if (system !== "") input.push({ type: "message", role: "developer", content: [{ type: "input_text", text: system }] });
  for (const message of Array.isArray(body.messages) ? body.messages : []) {
    const blocks = typeof message?.content === "string" ? [{ type: "text", text: message.content }] : (message?.content ?? []);
    const text = blocks
      .filter((b) => b?.type === "text")
      .map((b) => b.text)
      .join("");
    if (text !== "") input.push({ type: "message", role: message.role, content: [{ type: "input_text", text }] });
    for (const block of blocks) {
      if (block?.type === "tool_use") {
        input.push({ type: "function_call", call_id: block.id, name: block.name, arguments: JSON.stringify(block.input ?? {}) });
      } else if (block?.type === "tool_result") {
        input.push({ type: "function_call_output", call_id: block.tool_use_id, output: textOfBlocks(block.content) });
      }
    }
  }
  const tools = Array.isArray(body.tools)
    ? body.tools.map((tool) => ({ type: "function", name: tool.name, parameters: tool.input_schema ?? {} }))
    : undefined;
  const choice = body.tool_choice;
  const toolChoice = choice?.type === "tool" ? { type: "function", name: choice.name } : choice?.type === "any" ? "required" : choice?.type;
  return { input, tools, tool_choice: toolChoice, max_output_tokens: body.max_tokens };
}

// ---------------------------------------------------------------------------
// The answer, translated back
// ---------------------------------------------------------------------------

function stopReason(answer) {
  if (answer.toolCalls) return "tool_use";
  return answer.finishReason === "length" ? "max_tokens" : "end_turn";
}

function contentBlocks(answer) {
  if (!answer.toolCalls) return [{ type: "text", text: answer.content }];
  const call = answer.toolCalls[0];
  return [{ type: "tool_use", id: call.id, name: call.function.name, input: JSON.parse(call.function.arguments) }];
}

function plainMessage(meta, answer) {
  return {
    id: meta.encodedId,
    type: "message",
    role: "assistant",
    model: meta.parsed.name,
    stop_sequence: null,
    usage: { input_tokens: answer.promptTokens, output_tokens: answer.completionTokens },
    content: contentBlocks(answer),
    stop_reason: stopReason(answer),
    stop_details: null,
  };
}

/** A named event, serialised with Python's json.dumps (LiteLLM's Anthropic stream wrapper). */
const eventText = (event) => `event: ${event.type}\ndata: ${pythonJsonDumps(event)}\n\n`;

async function writeMessagesStream(res, state, ctx, meta, answer, options, signal) {
  const delay = options.delay ?? state.defaultChunkDelayMs;
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
    ...successHeaders(state, ctx, meta.parsed, 0),
  });
  const start = {
    type: "message_start",
    message: {
      id: `msg_${meta.callId}`,
      type: "message",
      role: "assistant",
      content: [],
      model: meta.parsed.name,
      stop_reason: null,
      stop_sequence: null,
      // LiteLLM knows no usage yet: the counts come with message_delta.
      usage: { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    },
  };
  res.write(eventText(start));
  const call = answer.toolCalls?.[0];
  const block = call ? { type: "tool_use", id: call.id, name: call.function.name, input: {} } : { type: "text", text: "" };
  res.write(eventText({ type: "content_block_start", index: 0, content_block: block }));
  const pieces = call ? splitIntoChunks(call.function.arguments, options.chunks) : splitIntoChunks(answer.content, options.chunks);
  for (let i = 0; i < pieces.length; i++) {
    if (options.hang !== undefined && i >= options.hang) return waitForDisconnect(signal);
    if (i > 0) await pause(delay, signal);
    if (isClosed(res)) return;
    const delta = call ? { type: "input_json_delta", partial_json: pieces[i] } : { type: "text_delta", text: pieces[i] };
    res.write(eventText({ type: "content_block_delta", index: 0, delta }));
    if (options.fail === "midstream" && i === Math.min(1, pieces.length - 1)) {
      const message = "litellm.InternalServerError: InternalServerError: OpenAIException - Response API in-stream error";
      res.end(eventText({ type: "error", error: { type: "api_error", message } }));
      return;
    }
  }
  if (options.hang !== undefined && options.hang >= pieces.length) return waitForDisconnect(signal);
  if (isClosed(res)) return;
  res.write(eventText({ type: "content_block_stop", index: 0 }));
  const usage = { input_tokens: answer.promptTokens, output_tokens: answer.completionTokens };
  res.write(eventText({ type: "message_delta", delta: { stop_reason: stopReason(answer), stop_sequence: null }, usage }));
  res.end(eventText({ type: "message_stop" }));
}

// ---------------------------------------------------------------------------
// The route
// ---------------------------------------------------------------------------

export async function handleMessages(req, res, state, ctx, parsedBody, signal) {
  if (state.mode !== "proxy") return sendJson(res, 404, { detail: "Not Found" });
  const authError = checkAuth(req, state);
  if (authError) return sendAnthropicError(res, anthropicError(authError.status, authError.body.error.message));
  const headers = errorHeaders(state, ctx);
  if (parsedBody.error) return sendAnthropicError(res, anthropicError(400, `Invalid JSON payload: ${parsedBody.error}`), headers);
  const body = parsedBody.value ?? {};
  for (const field of ["messages", "max_tokens"]) {
    if (body[field] === undefined) {
      return sendAnthropicError(res, anthropicError(400, `anthropic_messages: Missing required parameter: '${field}'.`), headers);
    }
  }
  const parsed = parseModelName(body.model);
  if (!parsed) {
    const message = `anthropic_messages: Invalid model name passed in model=${body.model ?? "None"}. Call \`/v1/models\` to view available models for your key.`;
    return sendAnthropicError(res, anthropicError(400, message), headers);
  }
  const { options } = parsed;
  const stream = body.stream === true;
  if (options.ttfb) {
    await pause(options.ttfb, signal);
    ctx.simulatedMs += options.ttfb;
  }
  if (isClosed(res)) return undefined;
  if (options.fail === "timeout") return waitForDisconnect(signal);
  if (options.fail === "reset") return res.socket?.destroy();
  if (options.fail && !(options.fail === "midstream" && stream)) {
    const failure = responsesRouteError(options.fail === "midstream" ? "500" : options.fail, "proxy", parsed);
    return sendAnthropicError(res, anthropicError(failure.status, failure.body.error.message), headers);
  }
  const translated = messagesAsResponses(body);
  const answer = responsesAnswer(translated, parsed.base);
  const meta = { ...responsesMeta(parsed, translated), callId: ctx.callId };
  if (stream) return writeMessagesStream(res, state, ctx, meta, answer, options, signal);
  return sendJson(res, 200, plainMessage(meta, answer), successHeaders(state, ctx, parsed, answer.cost, answer));
}
