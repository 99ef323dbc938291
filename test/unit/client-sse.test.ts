// The client's reading of the gateway's SSE (client/src/sse.ts): events split anywhere across
// reads, any line ending, named events skipped, [DONE] ends, an error event throws.
import { describe, expect, it } from "vitest";
import { chunksOf, GatewayStreamError } from "../../client/src/index.js";

function streamOf(...parts: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const part of parts) controller.enqueue(encoder.encode(part));
      controller.close();
    },
  });
}

const chunk = (content: string) =>
  JSON.stringify({
    id: "chatcmpl-1",
    object: "chat.completion.chunk",
    created: 1,
    model: "g",
    choices: [{ index: 0, delta: { content }, finish_reason: null }],
  });

async function collect(body: ReadableStream<Uint8Array>) {
  const out: string[] = [];
  for await (const c of chunksOf(body)) out.push(c.choices[0].delta.content ?? "");
  return out;
}

describe("the client's SSE reader", () => {
  it("parses events split across reads, with \\n or \\r\\n line ends, and stops at [DONE]", async () => {
    const text = `data: ${chunk("Hel")}\n\ndata: ${chunk("lo")}\r\n\r\n: keep-alive\n\ndata: [DONE]\n\ndata: ${chunk("after")}\n\n`;
    const parts = [text.slice(0, 7), text.slice(7, 40), text.slice(40, 41), text.slice(41)];
    expect(await collect(streamOf(...parts))).toEqual(["Hel", "lo"]);
  });

  it("skips named events and throws the gateway's error event as GatewayStreamError", async () => {
    const error = JSON.stringify({ error: { message: "upstream broke", type: "upstream_error", code: "502" } });
    const body = streamOf(`event: job_summary\ndata: {"job_id":"j"}\n\n`, `data: ${chunk("a")}\n\n`, `data: ${error}\n\ndata: [DONE]\n\n`);
    const seen: string[] = [];
    const thrown = await (async () => {
      for await (const c of chunksOf(body)) seen.push(c.choices[0].delta.content ?? "");
    })().catch((e: unknown) => e);
    expect(seen).toEqual(["a"]);
    expect(thrown).toBeInstanceOf(GatewayStreamError);
    expect(thrown).toMatchObject({ status: 502, type: "upstream_error", detail: "upstream broke" });
  });

  it("a stream that ends without [DONE] is an error, not a silent truncation", async () => {
    const thrown = await collect(streamOf(`data: ${chunk("a")}\n\n`)).catch((e: unknown) => e);
    expect(thrown).toMatchObject({ name: "GatewayStreamError", type: "stream_incomplete" });
  });
});
