import { describe, expect, it } from "vitest";
import { anthropicMessages } from "../../../src/calls/dialects/anthropic-messages";
import { admittedCall, facts } from "./admitted-call";

const event = (data: unknown) => ({ data: typeof data === "string" ? data : JSON.stringify(data), comments: [] });
const messages = [{ role: "user" as const, content: "Hi" }];

describe("Anthropic's Messages dialect", () => {
  const request = anthropicMessages.parse({
    model: "fast",
    max_tokens: 100,
    system: "Be brief",
    messages,
    metadata: { user_id: "u-1", tags: ["a", "b", "a"] },
  } as never);

  it("reads the group, its labels (metadata.user_id and metadata.tags, a list or a comma-separated string) and the forwarded parameters", () => {
    expect(request).toMatchObject({ modelGroup: "fast", labels: { tags: ["a", "b"], endUser: "u-1" }, version: "2023-06-01" });
    expect(request.params).toEqual({ messages, system: "Be brief", max_tokens: 100 });
    expect(anthropicMessages.parse({ model: "fast", messages, metadata: { tags: "x, y" } } as never).labels).toEqual({
      tags: ["x", "y"],
      endUser: null,
    });
  });

  it("holds messages, system and tools with max_tokens; without max_tokens the object chooses", () => {
    const tokens = Math.ceil(JSON.stringify(messages).length / 4) + Math.ceil('"Be brief"'.length / 4);
    expect(anthropicMessages.estimate(request)).toEqual({ promptTokens: tokens, maxTokens: 100, choices: 1 });
    expect(anthropicMessages.estimate(anthropicMessages.parse({ model: "fast", messages } as never)).maxTokens).toBeNull();
  });

  it("always sends max_tokens (the client's, the gateway's choice, or 4096), the team as metadata.user_id, and the version as a header", () => {
    const unasked = anthropicMessages.parse({ model: "fast", messages } as never);
    expect(anthropicMessages.upstreamBody(request, admittedCall(), false).max_tokens).toBe(100);
    expect(anthropicMessages.upstreamBody(unasked, admittedCall(300), false).max_tokens).toBe(300);
    expect(anthropicMessages.upstreamBody(unasked, admittedCall(), true)).toMatchObject({
      max_tokens: 4096,
      stream: true,
      metadata: { user_id: "team-42" },
    });
    expect(anthropicMessages.upstreamBody(request, admittedCall(), false).litellm_metadata).toMatchObject({
      team_id: "team-42",
      call_id: "call-9",
    });
    expect(anthropicMessages.upstreamHeaders!({ ...request, version: "2026-10-21" })).toEqual({ "anthropic-version": "2026-10-21" });
    expect(anthropicMessages.upstreamPath).toBe("/v1/messages");
  });

  it("is billed for every input token (cache writes and reads too) and answers the team's message, nothing of the provider", () => {
    const reading = anthropicMessages.readAnswer(
      JSON.stringify({
        id: "resp_bGl0ZWxsbTpjdXN0b20",
        type: "message",
        role: "assistant",
        model: "gpt-4o-mini",
        content: [
          { type: "text", text: "Hello", provider_specific_fields: {} },
          { type: "tool_use", id: "t1", name: "lookup", input: { q: 1 } },
        ],
        stop_reason: "tool_use",
        stop_sequence: null,
        stop_details: null,
        usage: { input_tokens: 10, cache_creation_input_tokens: 3, cache_read_input_tokens: 2, output_tokens: 30, cost: 0.1 },
      }),
    )!;
    expect(reading.usage).toEqual({ promptTokens: 15, completionTokens: 30, totalTokens: 45 });
    expect(reading.deliveredChars).toBe("Hello".length + '{"q":1}'.length);
    expect(anthropicMessages.writeAnswer(reading.parsed, facts, request)).toEqual({
      id: "msg_call-9",
      type: "message",
      role: "assistant",
      model: "fast",
      content: [
        { type: "text", text: "Hello" },
        { type: "tool_use", id: "t1", name: "lookup", input: { q: 1 } },
      ],
      stop_reason: "tool_use",
      stop_sequence: null,
      usage: { input_tokens: 10, output_tokens: 30, cache_creation_input_tokens: 3, cache_read_input_tokens: 2 },
    });
    expect(anthropicMessages.readAnswer(JSON.stringify({ type: "message" }))).toBeNull();
  });

  it("meters a stream from message_start completed by message_delta, and holds message_stop as the end", () => {
    const format = anthropicMessages.streamFormat(request, admittedCall());
    const start = format.read(
      event({
        type: "message_start",
        message: { id: "resp_x", model: "gpt-4o-mini", content: [], usage: { input_tokens: 0, output_tokens: 0 } },
      }),
    );
    expect(start.kind).toBe("chunk");
    const sent = (start as { send: string }).send;
    expect(sent.startsWith("event: message_start\ndata: ")).toBe(true);
    expect(JSON.parse(sent.split("\ndata: ")[1]).message).toMatchObject({ id: "msg_call-9", model: "fast" });

    const delta = format.read(event({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hel", extra: 1 } }));
    expect(delta).toMatchObject({ kind: "chunk", deliveredChars: 3 });
    expect(JSON.parse((delta as { send: string }).send.split("\ndata: ")[1])).toEqual({
      type: "content_block_delta",
      index: 0,
      delta: { type: "text_delta", text: "Hel" },
    });

    const ending = format.read(
      event({
        type: "message_delta",
        delta: { stop_reason: "end_turn", stop_sequence: null },
        usage: { input_tokens: 10, output_tokens: 32, cost: 0.002 },
      }),
    );
    expect(ending).toMatchObject({
      kind: "chunk",
      usage: { promptTokens: 10, completionTokens: 32, totalTokens: 42 },
      reportedCostUsd: 0.002,
      finishReason: "end_turn",
    });
    expect((ending as { send: string }).send).not.toContain("cost");
    expect(format.read(event({ type: "message_stop" }))).toEqual({
      kind: "end",
      send: 'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    });
    expect(format.closing).toBe("");
  });

  it("keeps message_start's input tokens when message_delta reports only output (Anthropic's own stream)", () => {
    const format = anthropicMessages.streamFormat(request, admittedCall());
    format.read(event({ type: "message_start", message: { content: [], usage: { input_tokens: 25, output_tokens: 1 } } }));
    expect(format.read(event({ type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { output_tokens: 15 } }))).toMatchObject({
      usage: { promptTokens: 25, completionTokens: 15, totalTokens: 40 },
    });
  });

  it("reads an error event as the upstream failing, and tells of a failure in Anthropic's error event", () => {
    const format = anthropicMessages.streamFormat(request, admittedCall());
    expect(format.read(event({ type: "error", error: { type: "api_error", message: "boom" } }))).toEqual({
      kind: "error",
      upstreamMessage: "boom",
    });
    expect(format.errorEvent("The model failed mid-stream")).toBe(
      'event: error\ndata: {"type":"error","error":{"type":"api_error","message":"The model failed mid-stream"}}\n\n',
    );
  });
});
