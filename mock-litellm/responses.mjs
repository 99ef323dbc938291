// mock-litellm/responses.mjs: POST /v1/responses, OpenAI's Responses API: the request read as
// the chat messages the deterministic answer is seeded by, the plain `response` object and its
// stream of named events. Upstream mode answers as OpenAI does (what a real LiteLLM calls for an
// `openai/` model, for /v1/responses and /v1/messages alike); proxy mode as LiteLLM 1.106.12
// passes it on (the x-litellm-* headers, the cost in the header or in the completed event's usage).

import { randomBytes, randomUUID } from "node:crypto";
import { buildAnswer, hashString, splitIntoChunks } from "./answers.mjs";
import { checkAuth } from "./auth.mjs";
import { invalidJsonError, invalidModelError, responsesRouteError } from "./errors.mjs";
import { parseModelName } from "./steering.mjs";
import { errorHeaders, isClosed, pause, sendError, sendJson, successHeaders, waitForDisconnect } from "./wire.mjs";

// ---------------------------------------------------------------------------
// The request as chat messages
// ---------------------------------------------------------------------------

/** The text of a Responses content value: a string, or its text parts joined. */
function textOf(content) {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((part) => (part && typeof part.text === "string" ? part.text : "")).join("");
}

/**
 * The chat messages a Responses request amounts to: `instructions` as a system message, a string
 * `input` as one user message, and each input item with a role as a message of that role (a
 * function call's output as a tool message). The answer, its tokens and its cost are those of
 * these messages, so the same conversation costs the same through either API.
 */
export function responsesMessages(body) {
  const messages = [];
  if (typeof body.instructions === "string" && body.instructions !== "") messages.push({ role: "system", content: body.instructions });
  if (typeof body.input === "string") messages.push({ role: "user", content: body.input });
  else if (Array.isArray(body.input)) {
    for (const item of body.input) {
      if (!item || typeof item !== "object") continue;
      if (typeof item.role === "string") messages.push({ role: item.role, content: textOf(item.content) });
      else if (item.type === "function_call_output") messages.push({ role: "tool", content: String(item.output ?? "") });
      else if (item.type === "function_call") messages.push({ role: "assistant", content: `${item.name ?? ""}${item.arguments ?? ""}` });
    }
  }
  return messages;
}

/** Responses function tools as the chat tools the answer chooses from. */
function chatTools(tools) {
  if (!Array.isArray(tools)) return undefined;
  return tools
    .filter((tool) => tool?.type === "function" && typeof tool.name === "string")
    .map((tool) => ({ type: "function", function: { name: tool.name, parameters: tool.parameters ?? {} } }));
}

function chatToolChoice(choice) {
  if (choice && typeof choice === "object" && typeof choice.name === "string") return { type: "function", function: { name: choice.name } };
  return choice;
}

/** The deterministic answer to a Responses request (text or one function call), as buildAnswer makes it for chat. */
export function responsesAnswer(body, base) {
  return buildAnswer(
    {
      messages: responsesMessages(body),
      tools: chatTools(body.tools),
      tool_choice: chatToolChoice(body.tool_choice),
      max_tokens: body.max_output_tokens,
    },
    base,
  );
}

// ---------------------------------------------------------------------------
// The response object
// ---------------------------------------------------------------------------

const hex = (seed) => hashString(seed).toString(16).padStart(8, "0");

/** The output items of an answer: one assistant message, or one function call. */
function outputItems(meta, answer, status = "completed") {
  if (answer.toolCalls) {
    const call = answer.toolCalls[0];
    return [
      {
        id: `fc_${meta.seed}`,
        type: "function_call",
        status,
        arguments: status === "completed" ? call.function.arguments : "",
        call_id: call.id,
        name: call.function.name,
      },
    ];
  }
  const text = status === "completed" ? answer.content : "";
  return [
    {
      id: `msg_${meta.seed}`,
      type: "message",
      status,
      content: status === "completed" ? [{ type: "output_text", annotations: [], logprobs: [], text }] : [],
      role: "assistant",
    },
  ];
}

/** The answer's usage as the Responses API reports it. */
export function responsesUsage(answer) {
  return {
    input_tokens: answer.promptTokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: answer.completionTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: answer.totalTokens,
  };
}

/** OpenAI's `response` object: in progress (no output, no usage) or finished. */
function responseObject(meta, body, answer, finished) {
  const truncated = answer.finishReason === "length";
  return {
    id: meta.id,
    object: "response",
    created_at: meta.created,
    status: finished ? (truncated ? "incomplete" : "completed") : "in_progress",
    background: false,
    error: null,
    incomplete_details: finished && truncated ? { reason: "max_output_tokens" } : null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    max_tool_calls: null,
    model: meta.model,
    output: finished ? outputItems(meta, answer) : [],
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: null,
    prompt_cache_key: null,
    reasoning: { effort: null, summary: null },
    safety_identifier: null,
    service_tier: "default",
    store: body.store ?? true,
    temperature: body.temperature ?? 1.0,
    text: { format: { type: "text" }, verbosity: "medium" },
    tool_choice: body.tool_choice ?? "auto",
    tools: Array.isArray(body.tools) ? body.tools : [],
    top_logprobs: 0,
    top_p: body.top_p ?? 1.0,
    truncation: "disabled",
    usage: finished ? responsesUsage(answer) : null,
    user: body.user ?? null,
    metadata: body.metadata ?? {},
  };
}

// ---------------------------------------------------------------------------
// The stream
// ---------------------------------------------------------------------------

/**
 * The events of a streamed answer, in OpenAI's order: created, in progress, the output item
 * added, its deltas, its parts done, the item done, and the terminal event (`response.completed`,
 * or `response.incomplete` when max_output_tokens cut it) with the whole response and its usage.
 * `pieces` are the deltas (paced by the caller).
 */
function streamEvents(meta, body, answer, options) {
  const head = [
    { type: "response.created", response: responseObject(meta, body, answer, false) },
    { type: "response.in_progress", response: responseObject(meta, body, answer, false) },
  ];
  const [item] = outputItems(meta, answer, "in_progress");
  const [done] = outputItems(meta, answer, "completed");
  head.push({ type: "response.output_item.added", output_index: 0, item });
  const pieces = [];
  const tail = [];
  if (answer.toolCalls) {
    const args = answer.toolCalls[0].function.arguments;
    for (const delta of splitIntoChunks(args, options.chunks)) {
      pieces.push({ type: "response.function_call_arguments.delta", item_id: item.id, output_index: 0, delta });
    }
    tail.push({ type: "response.function_call_arguments.done", item_id: item.id, output_index: 0, arguments: args });
  } else {
    const part = { type: "output_text", annotations: [], logprobs: [], text: "" };
    head.push({ type: "response.content_part.added", item_id: item.id, output_index: 0, content_index: 0, part });
    for (const delta of splitIntoChunks(answer.content, options.chunks)) {
      pieces.push({ type: "response.output_text.delta", item_id: item.id, output_index: 0, content_index: 0, delta, logprobs: [] });
    }
    tail.push(
      { type: "response.output_text.done", item_id: item.id, output_index: 0, content_index: 0, text: answer.content, logprobs: [] },
      { type: "response.content_part.done", item_id: item.id, output_index: 0, content_index: 0, part: done.content[0] },
    );
  }
  tail.push({ type: "response.output_item.done", output_index: 0, item: done });
  const finished = responseObject(meta, body, answer, true);
  tail.push({ type: finished.status === "incomplete" ? "response.incomplete" : "response.completed", response: finished });
  return { head, pieces, tail };
}

/** One event as OpenAI sends it: named, numbered in order. */
function openAIEventText(event) {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/**
 * One event as LiteLLM 1.106.12 passes it on: unnamed (`data:` only) with the requested alias
 * as a top-level `model`, except `response.failed`, which keeps its name.
 */
function proxyEventText(event, alias) {
  if (event.type === "response.failed") return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
  return `data: ${JSON.stringify({ ...event, model: alias })}\n\n`;
}

/** The error event OpenAI sends when a stream breaks after it started; the stream then ends. */
function upstreamBreak(sequence) {
  const message = "The server had an error while processing your request. Sorry about that!";
  return { type: "error", code: "server_error", message, param: null, sequence_number: sequence };
}

/** What LiteLLM makes of that break: `response.failed` with the error and no output, then `[DONE]`. */
function proxyBreak(meta, sequence) {
  const response = {
    id: meta.id,
    created_at: meta.created,
    error: { code: "server_error", message: "Response API in-stream error" },
    model: meta.parsed.base + (meta.parsed.name.includes("+") ? meta.parsed.name.slice(meta.parsed.name.indexOf("+")) : ""),
    object: "response",
    output: [],
    status: "failed",
  };
  return { type: "response.failed", response, sequence_number: sequence };
}

/** LiteLLM's changes to a response it passes on: its own id, usage with the cost (a stream) or null cost (plain). */
function proxyResponse(meta, response, cost) {
  const usage = response.usage && { ...response.usage, cost };
  return { ...response, id: meta.proxyId, ...(usage ? { usage } : {}) };
}

async function writeResponsesStream(res, state, ctx, meta, body, answer, options, signal) {
  const { head, pieces, tail } = streamEvents(meta, body, answer, options);
  const delay = options.delay ?? state.defaultChunkDelayMs;
  const proxy = state.mode === "proxy";
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
    ...successHeaders(state, ctx, meta.parsed, 0),
  });
  let sequence = 0;
  const text = (event) => (proxy ? proxyEventText(event, meta.parsed.name) : openAIEventText(event));
  const write = (event) => {
    const numbered = { ...event, sequence_number: sequence++ };
    if (proxy && numbered.response) numbered.response = proxyResponse(meta, numbered.response, answer.cost);
    res.write(text(numbered));
  };
  for (const event of head) write(event);
  for (let i = 0; i < pieces.length; i++) {
    if (options.hang !== undefined && i >= options.hang) return waitForDisconnect(signal);
    if (i > 0) await pause(delay, signal);
    if (isClosed(res)) return;
    write(pieces[i]);
    if (options.fail === "midstream" && i === Math.min(1, pieces.length - 1)) {
      res.end(proxy ? `${text(proxyBreak(meta, sequence))}data: [DONE]\n\n` : text(upstreamBreak(sequence)));
      return;
    }
  }
  if (options.hang !== undefined && options.hang >= pieces.length) return waitForDisconnect(signal);
  if (isClosed(res)) return;
  for (const event of tail) write(event);
  res.end(proxy ? "data: [DONE]\n\n" : undefined);
}

/** A plain response as LiteLLM passes it on: its id, `phase` on message items, usage details spelled out and `cost: null`. */
function proxyPlainResponse(meta, response) {
  const output = response.output.map((item) => (item.type === "message" ? { ...item, phase: null } : item));
  const usage = {
    input_tokens: response.usage.input_tokens,
    input_tokens_details: {
      audio_tokens: null,
      cached_tokens: 0,
      cached_tokens_details: null,
      image_tokens: null,
      text_tokens: null,
      video_tokens: null,
    },
    output_tokens: response.usage.output_tokens,
    output_tokens_details: { audio_tokens: null, reasoning_tokens: 0, text_tokens: null },
    total_tokens: response.usage.total_tokens,
    cost: null,
  };
  return { ...response, id: meta.proxyId, output, usage };
}

// ---------------------------------------------------------------------------
// The route
// ---------------------------------------------------------------------------

/** Failures that replace the answer (as for chat): every `fail=` but midstream on a stream. */
async function answerFailure(res, state, ctx, parsed, options, signal) {
  if (options.fail === "timeout") return waitForDisconnect(signal);
  if (options.fail === "reset") return res.socket?.destroy();
  const kind = options.fail === "midstream" ? "500" : options.fail;
  return sendError(res, responsesRouteError(kind, state.mode, parsed), errorHeaders(state, ctx));
}

/**
 * The ids of one answer: OpenAI's, and the ones LiteLLM replaces it with: on /v1/messages its
 * provider, deployment and the provider's id, base64-encoded; on /v1/responses the same sealed
 * (opaque, URL-safe).
 */
export function responsesMeta(parsed, body) {
  const id = `resp_${randomUUID().replace(/-/g, "")}`;
  const encoded = Buffer.from(`litellm:custom_llm_provider:openai;model_id:mock-${parsed.base};response_id:${id}`).toString("base64");
  return {
    parsed,
    id,
    proxyId: `resp_${randomBytes(256).toString("base64url")}`,
    encodedId: `resp_${encoded}`,
    seed: hex(JSON.stringify(body.input ?? null)),
    created: Math.floor(Date.now() / 1000),
    model: parsed.name,
  };
}

export async function handleResponses(req, res, state, ctx, parsedBody, signal) {
  const authError = checkAuth(req, state);
  if (authError) return sendError(res, authError);
  if (parsedBody.error) return sendError(res, invalidJsonError(state.mode, parsedBody.error), errorHeaders(state, ctx));
  const body = parsedBody.value;
  const parsed = parseModelName(body?.model);
  if (!parsed) return sendError(res, invalidModelError(state.mode, body?.model, "/responses"), errorHeaders(state, ctx));
  const { options } = parsed;
  const stream = body.stream === true;
  if (options.ttfb) {
    await pause(options.ttfb, signal);
    ctx.simulatedMs += options.ttfb;
  }
  if (isClosed(res)) return undefined;
  if (options.fail && !(options.fail === "midstream" && stream)) return answerFailure(res, state, ctx, parsed, options, signal);

  // LiteLLM raises max_output_tokens to OpenAI's minimum of 16.
  const asked =
    state.mode === "proxy" && Number.isInteger(body.max_output_tokens) ? Math.max(16, body.max_output_tokens) : body.max_output_tokens;
  const request = { ...body, max_output_tokens: asked };
  const answer = responsesAnswer(request, parsed.base);
  const meta = responsesMeta(parsed, request);
  if (stream) return writeResponsesStream(res, state, ctx, meta, request, answer, options, signal);
  const response = responseObject(meta, request, answer, true);
  const sent = state.mode === "proxy" ? proxyPlainResponse(meta, response) : response;
  return sendJson(res, 200, sent, successHeaders(state, ctx, parsed, answer.cost, answer));
}
