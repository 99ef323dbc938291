import { describe, expect, it } from "vitest";
import { readBodyWithin } from "../../src/calls/upstream/litellm-client";

/** A response whose body arrives in `pieces`, with no content-length (as a chunked answer). */
function chunked(pieces: string[]): { response: Response; cancelled: () => boolean } {
  const encoder = new TextEncoder();
  let cancelled = false;
  let next = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (next < pieces.length) controller.enqueue(encoder.encode(pieces[next++]));
      else controller.close();
    },
    cancel() {
      cancelled = true;
    },
  });
  return { response: new Response(body), cancelled: () => cancelled };
}

describe("readBodyWithin", () => {
  it("reads a body up to the cap, split anywhere, even inside a character", async () => {
    const bytes = new TextEncoder().encode('{"content":"Grüß"}');
    const cut = bytes.indexOf(0xc3) + 1; // between the two bytes of "ü"
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.slice(0, cut));
        controller.enqueue(bytes.slice(cut));
        controller.close();
      },
    });
    expect(await readBodyWithin(new Response(body), bytes.byteLength)).toEqual({ ok: true, text: '{"content":"Grüß"}' });
  });

  it("a chunked body past the cap is cancelled as soon as it passes, never read whole", async () => {
    const { response, cancelled } = chunked(["0123456789", "0123456789", "never read"]);
    expect(await readBodyWithin(response, 15)).toEqual({ ok: false, reason: "too_large" });
    expect(cancelled()).toBe(true);
  });

  it("a declared content-length past the cap is refused before reading", async () => {
    const response = new Response("x".repeat(100), { headers: { "content-length": "100" } });
    expect(await readBodyWithin(response, 99)).toEqual({ ok: false, reason: "too_large" });
  });

  it("a body that breaks off is broken, not thrown", async () => {
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.error(new Error("connection reset"));
      },
    });
    expect(await readBodyWithin(new Response(body), 100)).toEqual({ ok: false, reason: "broken" });
  });
});
