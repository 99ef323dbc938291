import { describe, expect, it } from "vitest";
import { toTeamChunk } from "../../src/calls/dialects/chat-completions";

const context = { modelGroup: "support-fast", callId: "4f1c" };

describe("toTeamChunk", () => {
  it("keeps OpenAI's chunk fields only: no provider cost, fingerprint, tier or provider fields; the gateway's id and group", () => {
    const upstream = {
      id: "chatcmpl-upstream-9",
      object: "chat.completion.chunk",
      created: 1_767_225_600,
      model: "openai/gpt-4o-mini-2024-07-18",
      system_fingerprint: "fp_abc",
      service_tier: "default",
      provider_specific_fields: { region: "eu" },
      citations: ["https://provider.example"],
      choices: [
        {
          index: 0,
          delta: { role: "assistant", content: "Hi", refusal: null, provider_specific_fields: { x: 1 }, reasoning_content: "hmm" },
          logprobs: null,
          finish_reason: null,
          provider_specific_fields: {},
        },
      ],
      usage: {
        prompt_tokens: 7,
        completion_tokens: 3,
        total_tokens: 10,
        cost: 0.00042,
        prompt_tokens_details: { cached_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0 },
      },
    };
    expect(toTeamChunk(upstream, context)).toEqual({
      id: "chatcmpl-4f1c",
      object: "chat.completion.chunk",
      created: 1_767_225_600,
      model: "support-fast",
      choices: [{ index: 0, delta: { role: "assistant", content: "Hi", refusal: null }, logprobs: null, finish_reason: null }],
      usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 },
    });
  });

  it("keeps a tool call's index, id, type and function name and arguments, nothing else", () => {
    const chunk = toTeamChunk(
      {
        choices: [
          {
            index: 0,
            delta: {
              tool_calls: [
                {
                  index: 0,
                  id: "call_1",
                  type: "function",
                  function: { name: "f", arguments: "{", extra: 1 },
                  provider_specific_fields: {},
                },
              ],
            },
            finish_reason: "tool_calls",
          },
        ],
      },
      context,
    );
    expect(chunk.choices).toEqual([
      {
        index: 0,
        delta: { tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "f", arguments: "{" } }] },
        finish_reason: "tool_calls",
      },
    ]);
  });

  it("passes `usage: null` on as null and leaves usage out when the upstream did", () => {
    expect(toTeamChunk({ choices: [], usage: null }, context).usage).toBeNull();
    expect(toTeamChunk({ choices: [] }, context)).not.toHaveProperty("usage");
  });
});
