import { describe, expect, it } from "vitest";
import { jobChat } from "../../../src/calls/dialects/job-chat";
import { admittedCall, facts } from "./admitted-call";

const messages = [{ role: "user" as const, content: "Summarize this ticket, please." }];

describe("the job API's call dialect", () => {
  it("reads the group from `model_group` or its alias `model`, and forwards only OpenAI's parameters", () => {
    const request = jobChat.parse({ model_group: "fast", messages, temperature: 0.2, purpose: "summary", team_id: "t" } as never);
    expect(request).toEqual({
      modelGroup: "fast",
      purpose: "summary",
      labels: { tags: [], endUser: null },
      params: { messages, temperature: 0.2 },
    });
    expect(jobChat.parse({ model: "fast", messages, temperature: 0.7 }).modelGroup).toBe("fast");
    expect(jobChat.parse({ model: "fast", messages, temperature: 0.7 }).purpose).toBeNull();
  });

  it("holds its prompt (4 characters a token of its messages as JSON), its choices and its max_tokens, the larger of the two names", () => {
    const request = jobChat.parse({ model: "fast", messages, temperature: 0.7, max_tokens: 50, max_completion_tokens: 80, n: 2 });
    expect(jobChat.estimate(request)).toEqual({ promptTokens: Math.ceil(JSON.stringify(messages).length / 4), maxTokens: 80, choices: 2 });
    expect(jobChat.estimate(jobChat.parse({ model: "fast", messages, temperature: 0.7 })).maxTokens).toBeNull();
  });

  it("sends LiteLLM the max_tokens the team's object chose when the call had none, and says so in a header", () => {
    const request = jobChat.parse({ model: "fast", messages, temperature: 0.7 });
    const body = jobChat.upstreamBody(request, admittedCall(256), false);
    expect(body).toMatchObject({ messages, temperature: 0.7, max_tokens: 256, user: "team-42" });
    expect(jobChat.answerHeaders(admittedCall(256))).toEqual({ "x-budget-max-tokens": "256" });
    expect(jobChat.answerHeaders(admittedCall(null))).toEqual({});
  });

  it("answers with the first choice's text and the call's metadata", () => {
    const reading = jobChat.readAnswer(
      JSON.stringify({
        choices: [{ message: { content: "Done." }, finish_reason: "stop" }],
        usage: { prompt_tokens: 12, completion_tokens: 30 },
      }),
    )!;
    expect(reading.usage).toEqual({ promptTokens: 12, completionTokens: 30, totalTokens: 42 });
    expect(jobChat.writeAnswer(reading.parsed, facts, jobChat.parse({ model: "fast", messages, temperature: 0.7 }))).toEqual({
      call_id: "call-9",
      response: { content: "Done.", finish_reason: "stop" },
      metadata: { tokens_used: 42, prompt_tokens: 12, completion_tokens: 30, latency_ms: 124, model_group: "fast" },
    });
  });

  it("streams the chunks with their usage (the job API always sends it)", () => {
    const format = jobChat.streamFormat(jobChat.parse({ model: "fast", messages, temperature: 0.7 }), admittedCall());
    const usageOnly = format.read({
      data: JSON.stringify({ choices: [], usage: { prompt_tokens: 1, completion_tokens: 2 } }),
      comments: [],
    });
    expect(usageOnly).toMatchObject({ kind: "chunk", usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 } });
    expect(usageOnly.kind === "chunk" && usageOnly.send).toContain('"usage":{"prompt_tokens":1,"completion_tokens":2}');
  });
});
