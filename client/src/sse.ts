// Reads the gateway's stream of server-sent events into parsed chunks: one `data:` per chunk,
// `data: [DONE]` at the end, and the gateway's `data: {"error": ...}` event as a thrown error.

import { GatewayStreamError } from "./errors.js";

/** One streamed chunk: OpenAI's `chat.completion.chunk`, as the gateway rebuilds it. */
export interface ChatCompletionChunk {
  /** `chatcmpl-<call id>`, the same for every chunk of the call. */
  id: string;
  object: "chat.completion.chunk";
  created: number;
  /** The model group called. */
  model: string;
  choices: {
    index: number;
    delta: {
      role?: string;
      content?: string | null;
      refusal?: string | null;
      tool_calls?: { index?: number; id?: string; type?: string; function?: { name?: string; arguments?: string } }[];
    };
    logprobs?: unknown;
    finish_reason: string | null;
  }[];
  /** Token counts, on the chunk that carries them (usually the last). */
  usage?: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number } | null;
}

interface StreamErrorEvent {
  error: { message?: string; type?: string; code?: string | number };
}

/** Splits text into events at blank lines; returns the events complete so far and the unfinished rest. */
function takeEvents(buffer: string): { events: string[]; rest: string } {
  const parts = buffer.split(/\r\n\r\n|\n\n|\r\r/);
  const rest = parts.pop() ?? "";
  return { events: parts, rest };
}

/** The event's `data:` lines joined, or null (a comment or a named event's other fields only). */
function dataOf(event: string): { data: string | null; named: boolean } {
  const data: string[] = [];
  let named = false;
  for (const line of event.split(/\r\n|\n|\r/)) {
    if (line.startsWith("data:")) data.push(line.slice(line.startsWith("data: ") ? 6 : 5));
    else if (line.startsWith("event:")) named = true;
  }
  return { data: data.length > 0 ? data.join("\n") : null, named };
}

/** Parsed chunks of an SSE body; leaving the loop early cancels the stream (the gateway records the call as aborted). */
export async function* chunksOf(body: ReadableStream<Uint8Array>): AsyncGenerator<ChatCompletionChunk, void, undefined> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let finished = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      const { events, rest } = takeEvents(done ? `${buffer}\n\n` : buffer);
      buffer = rest;
      for (const event of events) {
        const { data, named } = dataOf(event);
        // Named events (none in a job's stream today) are not chunks: skip them, as OpenAI's parsers do.
        if (data === null || named) continue;
        if (data === "[DONE]") {
          finished = true;
          return;
        }
        const parsed = JSON.parse(data) as ChatCompletionChunk | StreamErrorEvent;
        if ("error" in parsed && parsed.error) {
          const status = Number(parsed.error.code);
          throw new GatewayStreamError(
            Number.isInteger(status) && status >= 400 ? status : 502,
            parsed.error.message ?? "The stream ended with an error",
            parsed.error.type ?? "stream_error",
          );
        }
        yield parsed as ChatCompletionChunk;
      }
      if (done) {
        finished = true;
        throw new GatewayStreamError(502, "The stream ended without [DONE]", "stream_incomplete");
      }
    }
  } finally {
    if (!finished) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
