import { afterEach, describe, expect, it, vi } from "vitest";
import type { StreamMeter } from "../../src/calls/stream/meter-stream";
import { relayUpstream } from "../../src/calls/stream/relay";

// A stream's longest run (LITELLM_STREAM_MAX_MS): its call's hold must be recorded by a deadline
// that counts on it, so a stream still running then is ended like a failed upstream. The clock
// is controlled (Date only); the upstream never stops sending.

afterEach(() => {
  vi.useRealTimers();
});

function endlessUpstream() {
  const chunk = new TextEncoder().encode('data: {"choices":[{"delta":{"content":"x"}}]}\n\n');
  return new ReadableStream<Uint8Array>({ pull: (controller) => controller.enqueue(chunk) }).getReader();
}

function meterSpy() {
  const told: string[] = [];
  const meter = { upstreamFailed: (message: string) => told.push(message), clientLeft: () => told.push("client left") };
  return { told, meter: meter as unknown as StreamMeter };
}

describe("a stream's longest run", () => {
  it("a stream still sending when its longest run is over is ended, and the meter is told why", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const start = Date.now();
    vi.setSystemTime(start);
    const { told, meter } = meterSpy();
    const relay = relayUpstream(endlessUpstream(), new Uint8Array([1]), meter, { idleMs: 1_000, maxMs: 5_000 }).getReader();
    expect((await relay.read()).done).toBe(false); // the first bytes
    expect((await relay.read()).done).toBe(false); // the stream runs on
    vi.setSystemTime(start + 4_999);
    expect((await relay.read()).done).toBe(false);
    expect(told).toEqual([]);
    vi.setSystemTime(start + 5_000);
    expect((await relay.read()).done).toBe(true);
    expect(told).toEqual(["The stream ran for its longest allowed time (5 s) and was ended"]);
  });
});
