// The tap between LiteLLM's SSE stream and the client: it passes every event on as it
// arrives and, on the side, meters the call (usage, cost, delivered text) and sees how the
// stream ended. It never waits for more than the event it is reading. What an event means, and
// how it is rewritten for the client, is the dialect's (its StreamFormat); the framing, the
// limits and how a stream ends are the same for all.

import type { Usage } from "../cost";
import { type SseEvent, sseParser } from "./sse";

/** How a streamed call ended, decided exactly once. */
export interface StreamOutcome {
  /** completed: the upstream finished; failed: it broke or sent an error event; aborted: the client left. */
  status: "completed" | "failed" | "aborted";
  /** The last usage an event reported; null when none arrived. */
  usage: Usage | null;
  /** LiteLLM's own cost of the call (USD), when an event carried one. */
  reportedCostUsd: number | null;
  /** Characters of output passed on to the client: the base of a usage estimate. */
  deliveredChars: number;
  finishReason: string | null;
  /** Why the stream failed, in the gateway's words (what the team sees). */
  error: string | null;
  /** The upstream's own error text, cleaned of secrets: kept for admins, never sent to the team. */
  upstreamError: string | null;
  endedAt: number;
}

/** What an event tells the meter: the usage so far, LiteLLM's cost, the text it delivers, the finish. */
export interface EventMetering {
  usage?: Usage | null;
  reportedCostUsd?: number | null;
  deliveredChars?: number;
  finishReason?: string | null;
}

/** What one upstream event is, as its dialect reads it. */
export type EventReading =
  /** An event to pass on (`send`: its text for the client, null to drop it), with what it tells the meter. */
  | ({ kind: "chunk"; send: string | null } & EventMetering)
  /**
   * The upstream's end (`[DONE]`, Anthropic's `message_stop`, a Responses `response.completed`):
   * held until the call is recorded, then `send` (if any) is written, before the format's closing.
   */
  | ({ kind: "end"; send?: string | null } & EventMetering)
  /** An error event: the team gets the gateway's words; `upstreamMessage` is kept for admins. */
  | { kind: "error"; upstreamMessage: string; code?: string }
  /** Nothing for the client (e.g. a data line that is not JSON). */
  | { kind: "skip" };

/** How one dialect's stream is read and written. */
export interface StreamFormat {
  /** Reads one upstream event that has data. */
  read(event: SseEvent): EventReading;
  /** The event that tells the client the stream failed (default status 502, type upstream_error). */
  errorEvent(message: string, code?: string, type?: string): string;
  /** What always ends the stream for the client, after the held end (chat: `[DONE]`; none where the end event is the end). */
  closing: string;
}

export interface MeterOptions {
  format: StreamFormat;
  /** Cleans an upstream error message before it is kept (for admins; teams get the gateway's words). */
  cleanMessage: (message: string) => string;
  /**
   * Runs when the stream ends with the client still there (not after a disconnect); whatever
   * text it returns (e.g. a job summary event) is written just before the stream's closing.
   */
  beforeDone?: (outcome: StreamOutcome) => Promise<string | null>;
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

/** What a team is told when the upstream sends an error event mid-stream (its text is kept for admins). */
const MIDSTREAM_FAILURE = "The model failed mid-stream";

/**
 * The largest SSE event the meter holds while waiting for its end (1 MiB of text, counted in
 * characters). A chat chunk is a few hundred bytes; past this an upstream is broken or hostile,
 * and without a cap a stream that never sends a blank line would grow the Worker's memory
 * without limit.
 */
export const MAX_SSE_EVENT_CHARS = 1024 * 1024;

/**
 * A TransformStream that forwards an upstream SSE stream event by event and meters it. An event
 * is forwarded as soon as its closing blank line arrives (an SSE client acts on nothing
 * earlier), as its dialect rewrites it; an upstream error event is replaced by the gateway's
 * own. Comments pass through. The upstream's end marker is held until the end, so `beforeDone`
 * can write first and the stream always ends with the format's closing.
 */
export function meterStream(options: MeterOptions): StreamMeter {
  const { format } = options;
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let usage: Usage | null = null;
  let reportedCostUsd: number | null = null;
  let deliveredChars = 0;
  let finishReason: string | null = null;
  let sawEnd = false;
  /** The upstream's end event as the client gets it, held until the end. */
  let heldEnd: string | null = null;
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
    if (failure !== null || sawEnd) return;
    failure = message;
    send(format.errorEvent(message, code));
    decide("failed", message);
  };

  const forwardEvent = (event: SseEvent) => {
    if (event.data === null) {
      if (event.comments.length > 0 && failure === null && !sawEnd) send(`${event.comments.join("\n")}\n\n`);
      return;
    }
    if (failure !== null || sawEnd) return; // nothing follows an error or the end
    const reading = format.read(event);
    const measure = (metering: EventMetering) => {
      usage = metering.usage ?? usage;
      reportedCostUsd = metering.reportedCostUsd ?? reportedCostUsd;
      deliveredChars += metering.deliveredChars ?? 0;
      finishReason = metering.finishReason ?? finishReason;
    };
    switch (reading.kind) {
      case "end":
        measure(reading);
        heldEnd = reading.send ?? null;
        sawEnd = true;
        return;
      case "error":
        upstreamError = options.cleanMessage(reading.upstreamMessage) || null;
        fail(MIDSTREAM_FAILURE, reading.code);
        return;
      case "chunk":
        measure(reading);
        if (reading.send !== null) send(reading.send);
        return;
      case "skip":
        return;
    }
  };

  let oversized = false;
  const parser = sseParser(forwardEvent, {
    maxEventChars: MAX_SSE_EVENT_CHARS,
    onOversized: () => {
      oversized = true;
    },
  });

  /** The end the client sees: an error event if the stream broke, `beforeDone`'s text, the held end, then the closing. */
  const finish = async () => {
    if (upstreamBroke !== null) fail(upstreamBroke);
    else if (!sawEnd && finishReason === null) fail("The model's stream ended before it was complete");
    const ended = decide("completed", null);
    if (ended.status !== "aborted" && options.beforeDone) {
      const extra = await options.beforeDone(ended).catch(() => null);
      if (extra) send(extra);
    }
    if (heldEnd !== null) send(heldEnd);
    if (format.closing !== "") send(format.closing);
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
