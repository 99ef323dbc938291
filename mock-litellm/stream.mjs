// mock-litellm/stream.mjs: the SSE answer to a streamed chat completion: content or tool-call
// chunks, the finish chunk, the usage chunk, and the ways a stream can break (midstream, malformed, hang).

import { splitIntoChunks } from "./answers.mjs";
import { midstreamErrorEvent, simulatedError } from "./errors.mjs";
import { isClosed, pause, pythonJsonDumps, stripNulls, successHeaders, waitForDisconnect } from "./wire.mjs";

// ---------------------------------------------------------------------------
// Chat completions: SSE stream
// ---------------------------------------------------------------------------

/** chat.completion.chunk objects for the answer: content chunks, then the finish chunk. */
function streamChunks(state, meta, answer, options) {
  const includeUsage = meta.includeUsage && state.mode === "upstream";
  const chunk = (delta, finishReason = null) => ({
    id: meta.id,
    object: "chat.completion.chunk",
    created: meta.created,
    model: meta.model,
    system_fingerprint: meta.fingerprint,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(includeUsage ? { usage: null } : {}), // OpenAI sends usage: null until the last chunk
  });
  const content = [];
  if (answer.toolCalls) {
    const call = answer.toolCalls[0];
    content.push(
      chunk({
        role: "assistant",
        content: null,
        tool_calls: [{ index: 0, id: call.id, type: "function", function: { name: call.function.name, arguments: "" } }],
      }),
    );
    for (const fragment of splitIntoChunks(call.function.arguments, options.chunks)) {
      // LiteLLM repeats `type` on every fragment; OpenAI sends it on the first only.
      const toolDelta =
        state.mode === "proxy"
          ? { index: 0, type: "function", function: { arguments: fragment } }
          : { index: 0, function: { arguments: fragment } };
      content.push(chunk({ tool_calls: [toolDelta] }));
    }
  } else {
    splitIntoChunks(answer.content, options.chunks).forEach((piece, i) => {
      content.push(chunk(i === 0 ? { role: "assistant", content: piece } : { content: piece }));
    });
  }
  return { content, finish: chunk({}, answer.finishReason) };
}

/** The usage chunk; LiteLLM's own one carries choices [{index:0,delta:{}}]. */
/** A copy of a content chunk whose delta content is `size` characters (for the gateway's event cap). */
function paddedChunk(chunk, size) {
  return { ...chunk, choices: [{ ...chunk.choices[0], delta: { content: "x".repeat(size) } }] };
}

function usageChunk(state, meta, answer, options) {
  const usage = {
    prompt_tokens: answer.promptTokens,
    completion_tokens: answer.completionTokens,
    total_tokens: answer.totalTokens,
    completion_tokens_details: { accepted_prediction_tokens: 0, audio_tokens: 0, reasoning_tokens: 0, rejected_prediction_tokens: 0 },
    prompt_tokens_details: { audio_tokens: 0, cached_tokens: 0 },
  };
  const proxy = state.mode === "proxy";
  if (proxy && answer.cost > 0) usage.cost = answer.cost;
  const emptyChoices = !proxy || options.usagechoices === "empty";
  return {
    id: meta.id,
    object: "chat.completion.chunk",
    created: meta.created,
    model: meta.model,
    system_fingerprint: meta.fingerprint,
    choices: emptyChoices ? [] : [{ index: 0, delta: {} }],
    usage,
  };
}

// Lines a sloppy upstream or middlebox may interleave; parsers must skip them.
const MALFORMED_FRAMES = [": keep-alive\n\n", "this line is not an SSE field\n\n", 'data: {"id": "chatcmpl-broken", "choices": [\n\n'];

/** Writes the stream, one res.write per event, pacing content chunks by `delay`. */
export async function writeStream(res, state, ctx, meta, answer, options, signal) {
  const serialize = (obj) => `data: ${JSON.stringify(state.mode === "proxy" ? stripNulls(obj) : obj)}\n\n`;
  const { content, finish } = streamChunks(state, meta, answer, options);
  const delay = options.delay ?? state.defaultChunkDelayMs;
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
    ...successHeaders(state, ctx, meta.parsed, 0), // no cost header: unknown when headers go out
  });
  for (let i = 0; i < content.length; i++) {
    if (options.hang !== undefined && i >= options.hang) return waitForDisconnect(signal);
    if (i > 0) await pause(delay, signal);
    if (isClosed(res)) return;
    res.write(serialize(content[i]));
    // hugeevent=N: after the first chunk, one event whose content delta is N characters long.
    if (i === 0 && options.hugeevent !== undefined) res.write(serialize(paddedChunk(content[0], options.hugeevent)));
    if (options.fail === "malformed" && i < MALFORMED_FRAMES.length) res.write(MALFORMED_FRAMES[i]);
    if (options.fail === "midstream" && i === Math.min(1, content.length - 1)) {
      // LiteLLM: one error event, then the stream just ends, with no [DONE].
      const body = state.mode === "proxy" ? midstreamErrorEvent() : simulatedError("500", state.mode, meta.parsed).body;
      res.end(`data: ${state.mode === "proxy" ? pythonJsonDumps(body) : JSON.stringify(body)}\n\n`);
      return;
    }
  }
  if (options.hang !== undefined && options.hang >= content.length) return waitForDisconnect(signal);
  if (isClosed(res)) return;
  res.write(serialize(finish));
  if (meta.includeUsage) res.write(serialize(usageChunk(state, meta, answer, options)));
  res.end("data: [DONE]\n\n");
}
