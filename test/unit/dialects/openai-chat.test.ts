import { describe, expect, it } from "vitest";
import { openAIChat } from "../../../src/calls/dialects/openai-chat";
import { admittedCall, facts } from "./admitted-call";

const messages = [{ role: "user" as const, content: "Hi" }];

describe("OpenAI's chat completions dialect", () => {
  it("names the group with `model`, has no purpose, reads `user` and `metadata.tags` as labels, and forwards neither", () => {
    const request = openAIChat.parse({
      model: "fast",
      messages,
      user: "someone",
      metadata: { tags: "a, b,a", note: "x" },
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(request).toEqual({
      modelGroup: "fast",
      purpose: null,
      labels: { tags: ["a", "b"], endUser: "someone" },
      params: { messages },
      includeUsage: true,
    });
    expect(openAIChat.parse({ model: "fast", messages, user: "" }).labels).toEqual({ tags: [], endUser: null });
    expect(openAIChat.parse({ model: "fast", messages }).includeUsage).toBe(false);
  });

  it("answers OpenAI's chat.completion, rebuilt: the gateway's id, the group as model, every choice, token-only usage", () => {
    const upstream = {
      id: "chatcmpl-upstream",
      model: "gpt-4o-mini-2024-07-18",
      created: 1_700_000_000,
      system_fingerprint: "fp_x",
      choices: [
        { index: 0, message: { role: "assistant", content: "A", provider_specific_fields: {} }, finish_reason: "stop" },
        { index: 1, message: { role: "assistant", content: "B" }, finish_reason: "length" },
      ],
      usage: { prompt_tokens: 12, completion_tokens: 30, total_tokens: 42, cost: 0.001 },
    };
    const reading = openAIChat.readAnswer(JSON.stringify(upstream))!;
    expect(openAIChat.writeAnswer(reading.parsed, facts, openAIChat.parse({ model: "fast", messages }))).toEqual({
      id: "chatcmpl-call-9",
      object: "chat.completion",
      created: 1_700_000_000,
      model: "fast",
      choices: [
        { index: 0, message: { role: "assistant", content: "A", refusal: null }, logprobs: null, finish_reason: "stop" },
        { index: 1, message: { role: "assistant", content: "B", refusal: null }, logprobs: null, finish_reason: "length" },
      ],
      usage: { prompt_tokens: 12, completion_tokens: 30, total_tokens: 42 },
    });
  });

  it("meters a stream's usage chunk but sends it only when the client asked for it", () => {
    const usage = { data: JSON.stringify({ choices: [], usage: { prompt_tokens: 1, completion_tokens: 2 } }), comments: [] };
    const withheld = openAIChat.streamFormat(openAIChat.parse({ model: "fast", messages }), admittedCall()).read(usage);
    expect(withheld).toMatchObject({ kind: "chunk", send: null, usage: { totalTokens: 3 } });
    const asked = openAIChat.parse({ model: "fast", messages, stream_options: { include_usage: true } });
    expect(openAIChat.streamFormat(asked, admittedCall()).read(usage)).toMatchObject({
      kind: "chunk",
      send: expect.stringContaining("usage"),
    });
  });
});
