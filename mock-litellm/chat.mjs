// mock-litellm/chat.mjs: POST /chat/completions: validation, steering flags, simulated failures,
// and the plain JSON answer (a streamed one is written by stream.mjs).

import { randomUUID } from "node:crypto";
import { buildAnswer, computeCost, hashString } from "./answers.mjs";
import { checkAuth } from "./auth.mjs";
import { invalidJsonError, invalidModelError, LOAD_BALANCER_502, missingMessagesError, simulatedError } from "./errors.mjs";
import { parseModelName } from "./steering.mjs";
import { writeStream } from "./stream.mjs";
import { errorHeaders, isClosed, pause, sendError, sendJson, successHeaders, waitForDisconnect } from "./wire.mjs";

// ---------------------------------------------------------------------------
// Chat completions: plain JSON answer
// ---------------------------------------------------------------------------

function completionBody(state, meta, answer) {
  const usage = {
    completion_tokens: answer.completionTokens,
    prompt_tokens: answer.promptTokens,
    total_tokens: answer.totalTokens,
    completion_tokens_details: { accepted_prediction_tokens: 0, audio_tokens: 0, reasoning_tokens: 0, rejected_prediction_tokens: 0 },
    prompt_tokens_details: { audio_tokens: 0, cached_tokens: 0 },
  };
  if (state.mode === "upstream") {
    // OpenAI's own shape: refusal/annotations/logprobs, no function_call.
    const message = { role: "assistant", content: answer.content, refusal: null, annotations: [] };
    if (answer.toolCalls) message.tool_calls = answer.toolCalls;
    return {
      id: meta.id,
      object: "chat.completion",
      created: meta.created,
      model: meta.model,
      choices: Array.from({ length: answer.choiceCount ?? 1 }, (_, index) => ({
        index,
        message,
        logprobs: null,
        finish_reason: answer.finishReason,
      })),
      usage,
      service_tier: "default",
      system_fingerprint: meta.fingerprint,
    };
  }
  // LiteLLM 1.106.12: no tool_calls/function_call members when there are none
  // (content is always there, null beside tool calls), provider_specific_fields
  // on the message and the choice, service_tier.
  const message = { content: answer.content, role: "assistant" };
  if (answer.toolCalls) message.tool_calls = answer.toolCalls;
  message.provider_specific_fields = { refusal: null };
  message.annotations = [];
  return {
    id: meta.id,
    created: meta.created,
    model: meta.model,
    object: "chat.completion",
    system_fingerprint: meta.fingerprint,
    choices: Array.from({ length: answer.choiceCount ?? 1 }, (_, index) => ({
      finish_reason: answer.finishReason,
      index,
      message,
      provider_specific_fields: {},
    })),
    usage,
    service_tier: "default",
  };
}

/** A 200 JSON body cut in the middle, as from a proxy that died mid-write. */
function sendTruncatedJson(res, headers, body) {
  const full = JSON.stringify(body);
  const text = full.slice(0, Math.max(20, Math.floor(full.length / 2)));
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

// ---------------------------------------------------------------------------
// Chat completions: the route
// ---------------------------------------------------------------------------

/** Modes that answer with something other than a normal completion. */
async function answerFailure(res, state, ctx, meta, options, signal) {
  switch (options.fail) {
    case "timeout":
      return waitForDisconnect(signal); // never answer; the client must give up
    case "reset":
      if (typeof res.socket?.resetAndDestroy === "function") res.socket.resetAndDestroy();
      else res.socket?.destroy();
      return undefined;
    case "html":
      res.writeHead(502, { "content-type": "text/html", "content-length": Buffer.byteLength(LOAD_BALANCER_502) });
      return res.end(LOAD_BALANCER_502);
    default: {
      const kind = options.fail === "midstream" ? "500" : options.fail;
      return sendError(res, simulatedError(kind, state.mode, meta.parsed), errorHeaders(state, ctx));
    }
  }
}

/**
 * Whether `fail=` replaces the answer outright. badjson and malformed only
 * change how a normal answer is written; midstream needs a stream to break
 * (a plain request gets the 500 instead).
 */
function failsBeforeAnswer(fail, stream) {
  if (!fail || fail === "badjson" || fail === "malformed") return false;
  return !(fail === "midstream" && stream);
}

export async function handleChatCompletion(req, res, state, ctx, parsedBody, signal) {
  const authError = checkAuth(req, state);
  if (authError) return sendError(res, authError);
  if (parsedBody.error) return sendError(res, invalidJsonError(state.mode, parsedBody.error), errorHeaders(state, ctx));
  const body = parsedBody.value;
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    return sendError(res, invalidModelError(state.mode, undefined), errorHeaders(state, ctx));
  }
  if (!Array.isArray(body.messages)) return sendError(res, missingMessagesError(state.mode), errorHeaders(state, ctx));
  const parsed = parseModelName(body.model);
  if (!parsed) return sendError(res, invalidModelError(state.mode, body.model), errorHeaders(state, ctx));

  const { options } = parsed;
  const stream = body.stream === true;
  const meta = {
    parsed,
    id: `chatcmpl-${randomUUID()}`,
    created: Math.floor(Date.now() / 1000),
    model: parsed.name, // LiteLLM re-stamps `model` to the alias the client asked for
    fingerprint: `fp_${hashString(parsed.base).toString(16).padStart(8, "0").slice(0, 10)}`,
    includeUsage: body.stream_options?.include_usage === true,
  };

  if (options.ttfb) {
    await pause(options.ttfb, signal);
    ctx.simulatedMs += options.ttfb;
  }
  if (isClosed(res)) return undefined;
  if (failsBeforeAnswer(options.fail, stream)) return answerFailure(res, state, ctx, meta, options, signal);

  let answer = buildAnswer(body, parsed.base);
  // hugebody=N: a non-streamed answer whose content has N more characters (for the gateway's body cap).
  if (options.hugebody !== undefined && !stream) answer = { ...answer, content: `${answer.content ?? ""}${"x".repeat(options.hugebody)}` };
  // n=N (plain answers): N identical choices, each one's completion tokens counted and priced.
  if (!stream && Number.isInteger(body.n) && body.n > 1) {
    const choiceCount = Math.min(body.n, 8);
    const completionTokens = answer.completionTokens * choiceCount;
    answer = {
      ...answer,
      choiceCount,
      completionTokens,
      totalTokens: answer.promptTokens + completionTokens,
      cost: computeCost(parsed.base, answer.promptTokens, completionTokens),
    };
  }
  if (options.fail === "badjson") {
    return sendTruncatedJson(res, successHeaders(state, ctx, parsed, answer.cost, answer), completionBody(state, meta, answer));
  }
  if (stream) return writeStream(res, state, ctx, meta, answer, options, signal);
  return sendJson(res, 200, completionBody(state, meta, answer), successHeaders(state, ctx, parsed, answer.cost, answer));
}
