import { describe, expect, it } from "vitest";
import { chatStreamFormat, readChatAnswer } from "../../../src/calls/dialects/chat-completions";

const event = (data: unknown) => ({ data: typeof data === "string" ? data : JSON.stringify(data), comments: [] });

describe("a chat completion as LiteLLM answers it", () => {
  it("is read with its first choice's text and tool calls, which are what an unreported usage is estimated from", () => {
    const toolCalls = [{ id: "t1", type: "function", function: { name: "lookup", arguments: '{"q":1}' } }];
    const reading = readChatAnswer(
      JSON.stringify({ choices: [{ message: { content: "ok", tool_calls: toolCalls }, finish_reason: "tool_calls" }] }),
    )!;
    expect(reading.usage).toBeNull();
    expect(reading.deliveredChars).toBe("ok".length + JSON.stringify(toolCalls).length);
    expect(reading.parsed).toMatchObject({ content: "ok", finishReason: "tool_calls", toolCalls });
  });

  it("is not an answer when it is not JSON or has no choice", () => {
    expect(readChatAnswer("not json")).toBeNull();
    expect(readChatAnswer(JSON.stringify({ choices: [] }))).toBeNull();
    expect(readChatAnswer("null")).toBeNull();
  });
});

describe("LiteLLM's chat stream, read and rewritten for the team", () => {
  const format = chatStreamFormat({ modelGroup: "fast", callId: "call-9" });

  it("rebuilds each chunk (the gateway's id, the group as model) and meters its text, cost and finish", () => {
    const reading = format.read(
      event({
        id: "upstream",
        model: "gpt-4o-mini",
        choices: [
          { index: 0, delta: { content: "Hel", tool_calls: [{ function: { name: "f", arguments: "{}" } }] }, finish_reason: "stop" },
        ],
        usage: { prompt_tokens: 3, completion_tokens: 1, cost: 0.00002 },
      }),
    );
    expect(reading).toMatchObject({ kind: "chunk", deliveredChars: 3 + 1 + 2, finishReason: "stop", reportedCostUsd: 0.00002 });
    const sent = JSON.parse((reading as { send: string }).send.slice("data: ".length));
    expect(sent).toMatchObject({ id: "chatcmpl-call-9", model: "fast", usage: { prompt_tokens: 3, completion_tokens: 1 } });
    expect(sent.usage).not.toHaveProperty("cost");
  });

  it("holds back [DONE], reports an error event, and drops data that is not a JSON object", () => {
    expect(format.read(event("[DONE]"))).toEqual({ kind: "end" });
    expect(format.read(event({ error: { message: "boom", code: 503 } }))).toEqual({ kind: "error", upstreamMessage: "boom", code: "503" });
    expect(format.read(event("not json"))).toEqual({ kind: "skip" });
    expect(format.read(event([1, 2]))).toEqual({ kind: "skip" });
  });

  it("ends with data: [DONE], and tells of a failure as an OpenAI error event", () => {
    expect(format.closing).toBe("data: [DONE]\n\n");
    expect(JSON.parse(format.errorEvent("The model failed mid-stream").slice("data: ".length))).toEqual({
      error: { message: "The model failed mid-stream", type: "upstream_error", param: null, code: "502" },
    });
  });
});
