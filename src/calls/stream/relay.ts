import { readWithin } from "../upstream/deadline";
import type { AttemptOutcome } from "../upstream/litellm-client";
import type { StreamMeter } from "./meter-stream";

// The upstream's bytes on their way to the meter: a stream opens on its first byte (before it,
// fallback may still try the next model), then the rest is relayed as the client pulls.

export type FirstBytes =
  | { ok: true; reader: ReadableStreamDefaultReader<Uint8Array>; bytes: Uint8Array }
  | { ok: false; outcome: AttemptOutcome; message: string };

/** Waits (within the attempt's deadline) for the first non-empty read of a 2xx stream. */
export async function firstBytes(response: Response, remainingMs: number, clientSignal?: AbortSignal): Promise<FirstBytes> {
  if (!response.body) return { ok: false, outcome: "invalid_response", message: "LiteLLM answered the stream with no body" };
  const reader = response.body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  const deadline = Date.now() + Math.max(0, remainingMs);
  try {
    for (;;) {
      const read = await readWithin(reader, deadline - Date.now());
      if (read === "timeout") {
        reader.cancel().catch(() => {});
        return { ok: false, outcome: "timeout", message: `LiteLLM sent nothing within ${Math.round(remainingMs)} ms` };
      }
      if (read.done) return { ok: false, outcome: "invalid_response", message: "LiteLLM ended the stream before sending anything" };
      if (read.value && read.value.byteLength > 0) return { ok: true, reader, bytes: read.value };
    }
  } catch {
    reader.cancel().catch(() => {});
    if (clientSignal?.aborted) return { ok: false, outcome: "client_closed", message: "client closed the connection" };
    return { ok: false, outcome: "connection_error", message: "LiteLLM's stream broke before its first byte" };
  }
}

/**
 * The upstream body as the meter's source: the peeked first bytes, then the rest as the client
 * pulls (so backpressure reaches LiteLLM). A broken or stalled upstream (no byte for `idleMs`),
 * or a stream still running `maxMs` after it opened (its call's hold must be recorded by then),
 * ends this stream cleanly and tells the meter, so the client gets an error event and the
 * stream's end rather than a cut connection; the client leaving cancels the upstream.
 */
export function relayUpstream(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  first: Uint8Array,
  meter: StreamMeter,
  limits: { idleMs: number; maxMs: number },
  clientSignal?: AbortSignal,
): ReadableStream<Uint8Array> {
  let pending: Uint8Array | null = first;
  const endsAtMs = Date.now() + limits.maxMs;
  const tooLong = `The stream ran for its longest allowed time (${Math.round(limits.maxMs / 1000)} s) and was ended`;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (pending) {
          controller.enqueue(pending);
          pending = null;
          return;
        }
        let failure: string;
        try {
          const leftMs = endsAtMs - Date.now();
          const waitMs = Math.min(limits.idleMs, leftMs);
          const read = waitMs > 0 ? await readWithin(reader, waitMs) : "timeout";
          if (read !== "timeout") {
            if (read.done) controller.close();
            else controller.enqueue(read.value);
            return;
          }
          failure = leftMs <= limits.idleMs ? tooLong : `The model sent nothing for ${limits.idleMs} ms`;
        } catch {
          failure = "The connection to the model broke mid-stream";
        }
        reader.cancel().catch(() => {});
        if (clientSignal?.aborted) meter.clientLeft();
        else meter.upstreamFailed(failure);
        controller.close();
      },
      cancel(reason) {
        meter.clientLeft();
        return reader.cancel(reason).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}
