// The tap between LiteLLM's SSE stream and the client: it passes every event on as it
// arrives and, on the side, meters the call (usage, cost, delivered text) and sees how the
// stream ended. It never waits for more than the event it is reading.

import { parseUsage, type Usage } from "../cost";
import { toTeamChunk } from "../dialects/chat-completions";
import { upstreamErrorMessage } from "../upstream/litellm-client";
import { type SseEvent, sseParser } from "./sse";

/** How a streamed call ended, decided exactly once. */
export interface StreamOutcome {
  /** completed: the upstream finished; failed: it broke or sent an error event; aborted: the client left. */
  status: "completed" | "failed" | "aborted";
  /** From the chunk whose `usage` is non-null; null when none arrived. */
  usage: Usage | null;
  /** LiteLLM's `usage.cost` (USD) when it sent one. */
  reportedCostUsd: number | null;
  /** Characters of content and tool-call text passed on to the client: the base of a usage estimate. */
  deliveredChars: number;
  finishReason: string | null;
  /** Why the stream failed, in the gateway's words (what the team sees). */
  error: string | null;
  /** The upstream's own error text, cleaned of secrets: kept for admins, never sent to the team. */
  upstreamError: string | null;
  endedAt: number;
}

export interface MeterOptions {
  /** What clients see as each chunk's `model`: the group they asked for, never the model that served. */
  modelGroup: string;
  /** The gateway's call id: each chunk's `id` is made from it, never the upstream's. */
  callId: string;
  /** Cleans an upstream error message before it is kept (for admins; teams get the gateway's words). */
  cleanMessage: (message: string) => string;
  /**
   * Runs when the stream ends with the client still there (not after a disconnect); whatever
   * text it returns (e.g. a job summary event) is written just before `data: [DONE]`.
   */
  beforeDone?: (outcome: StreamOutcome) => Promise<string | null>;
  /**
   * The client did not ask for usage (OpenAI's `stream_options.include_usage`): the usage is
   * still metered, but not sent (a chunk that only carries it is dropped).
   */
  withholdUsage?: boolean;
}

/** A readable/writable pair for `pipeThrough`, with the call's outcome on the side. */
export interface StreamMeter {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly outcome: Promise<StreamOutcome>;
  /** The upstream broke (connection lost, stalled): the stream ends with an error event. */
  upstreamFailed(message: string): void;
  /** The client went away: the call ends as aborted. */
  clientLeft(): void;
}

const DONE_EVENT = "data: [DONE]\n\n";

/** What a team is told when the upstream sends an error event mid-stream (its text is kept for admins). */
const MIDSTREAM_FAILURE = "The model failed mid-stream";

/**
 * The largest SSE event the meter holds while waiting for its end (1 MiB of text, counted in
 * characters). A chat chunk is a few hundred bytes; past this an upstream is broken or hostile,
 * and without a cap a stream that never sends a blank line would grow the Worker's memory
 * without limit.
 */
export const MAX_SSE_EVENT_CHARS = 1024 * 1024;

/** The SSE event a client gets when the stream fails after it has started (by default: the upstream failed). */
export function streamErrorEvent(message: string, code = "502", type = "upstream_error"): string {
  return `data: ${JSON.stringify({ error: { message, type, param: null, code } })}\n\n`;
}

interface ChunkLike {
  usage?: unknown;
  error?: unknown;
  choices?: Array<{
    delta?: { content?: unknown; tool_calls?: Array<{ function?: { name?: unknown; arguments?: unknown } }> };
    finish_reason?: unknown;
  }>;
}

/**
 * A TransformStream that forwards LiteLLM's chat-completion stream event by event and meters
 * it. An event is forwarded as soon as its closing blank line arrives (an SSE client acts on
 * nothing earlier), with three changes: each chunk is rebuilt for the team (toTeamChunk: the
 * gateway's id, the group as `model`, OpenAI's fields only), an upstream error event is
 * replaced by the gateway's own, and data lines that are not JSON are dropped (they would
 * break OpenAI SDK parsers). Comments pass through. The upstream's `[DONE]` is held
 * until the end, so `beforeDone` can write first and the stream always ends with `[DONE]`.
 */
export function meterStream(options: MeterOptions): StreamMeter {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let usage: Usage | null = null;
  let reportedCostUsd: number | null = null;
  let deliveredChars = 0;
  let finishReason: string | null = null;
  let sawDone = false;
  let failure: string | null = null;
  let upstreamError: string | null = null;
  let upstreamBroke: string | null = null;

  let settle!: (outcome: StreamOutcome) => void;
  let decided: StreamOutcome | null = null;
  const outcome = new Promise<StreamOutcome>((resolve) => {
    settle = resolve;
  });
  const decide = (status: StreamOutcome["status"], error: string | null): StreamOutcome => {
    if (decided === null) {
      decided = { status, usage, reportedCostUsd, deliveredChars, finishReason, error, upstreamError, endedAt: performance.now() };
      settle(decided);
    }
    return decided;
  };

  let controllerRef: TransformStreamDefaultController<Uint8Array> | null = null;
  const send = (text: string) => {
    try {
      controllerRef?.enqueue(encoder.encode(text));
    } catch {
      // The client's side is gone; the outcome is decided by cancel.
    }
  };

  const fail = (message: string, code?: string) => {
    if (failure !== null || sawDone) return;
    failure = message;
    send(streamErrorEvent(message, code));
    decide("failed", message);
  };

  const meterChunk = (chunk: ChunkLike) => {
    if (chunk.usage !== null && chunk.usage !== undefined) {
      usage = parseUsage(chunk.usage) ?? usage;
      const cost = (chunk.usage as { cost?: unknown }).cost;
      if (typeof cost === "number" && Number.isFinite(cost) && cost >= 0) reportedCostUsd = cost;
    }
    for (const choice of Array.isArray(chunk.choices) ? chunk.choices : []) {
      const delta = choice?.delta;
      if (typeof delta?.content === "string") deliveredChars += delta.content.length;
      for (const call of Array.isArray(delta?.tool_calls) ? delta.tool_calls : []) {
        if (typeof call?.function?.name === "string") deliveredChars += call.function.name.length;
        if (typeof call?.function?.arguments === "string") deliveredChars += call.function.arguments.length;
      }
      if (typeof choice?.finish_reason === "string") finishReason = choice.finish_reason;
    }
  };

  const forwardEvent = ({ data: text, comments }: SseEvent) => {
    if (text === null) {
      if (comments.length > 0 && failure === null && !sawDone) send(`${comments.join("\n")}\n\n`);
      return;
    }
    if (failure !== null || sawDone) return; // nothing follows an error or [DONE]
    if (text.trim() === "[DONE]") {
      sawDone = true;
      return;
    }
    let chunk: ChunkLike;
    try {
      chunk = JSON.parse(text) as ChunkLike;
    } catch {
      return;
    }
    if (chunk === null || typeof chunk !== "object" || Array.isArray(chunk)) return;
    if (chunk.error !== undefined && chunk.error !== null) {
      const code = (chunk.error as { code?: unknown }).code;
      const status = typeof code === "number" || (typeof code === "string" && /^\d{3}$/.test(code)) ? String(code) : undefined;
      upstreamError = options.cleanMessage(upstreamErrorMessage(text)) || null;
      fail(MIDSTREAM_FAILURE, status);
      return;
    }
    meterChunk(chunk);
    const teamChunk = toTeamChunk(chunk as Record<string, unknown>, options);
    if (options.withholdUsage && "usage" in teamChunk) {
      delete teamChunk.usage;
      if ((teamChunk.choices as unknown[]).length === 0) return;
    }
    send(`data: ${JSON.stringify(teamChunk)}\n\n`);
  };

  let oversized = false;
  const parser = sseParser(forwardEvent, {
    maxEventChars: MAX_SSE_EVENT_CHARS,
    onOversized: () => {
      oversized = true;
    },
  });

  /** The end the client sees: an error event if the stream broke, `beforeDone`'s text, then `[DONE]`. */
  const finish = async () => {
    if (upstreamBroke !== null) fail(upstreamBroke);
    else if (!sawDone && finishReason === null) fail("The model's stream ended before it was complete");
    const ended = decide("completed", null);
    if (ended.status !== "aborted" && options.beforeDone) {
      const extra = await options.beforeDone(ended).catch(() => null);
      if (extra) send(extra);
    }
    send(DONE_EVENT);
  };

  const transform = new TransformStream<Uint8Array, Uint8Array>({
    start(controller) {
      controllerRef = controller;
    },
    async transform(bytes, controller) {
      parser.push(decoder.decode(bytes, { stream: true }));
      if (!oversized) return;
      fail(`The model sent an event larger than ${MAX_SSE_EVENT_CHARS / (1024 * 1024)} MiB; the stream was ended`);
      await finish();
      // Nothing more is read: terminating makes the pipe cancel the upstream.
      controller.terminate();
    },
    async flush() {
      parser.push(decoder.decode());
      parser.end();
      await finish();
    },
    cancel() {
      decide("aborted", null);
    },
  });

  return {
    readable: transform.readable,
    writable: transform.writable,
    outcome,
    upstreamFailed(message: string) {
      upstreamBroke ??= message;
    },
    clientLeft() {
      decide("aborted", null);
    },
  };
}
