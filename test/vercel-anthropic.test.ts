import { exports } from "cloudflare:workers";
import { createAnthropic } from "@ai-sdk/anthropic";
import { APICallError, generateText, jsonSchema, streamText, tool } from "ai";
import { describe, expect, it } from "vitest";
import { balance, createJob, createTeam, expectLedgerConsistent, json } from "./helpers";

// The Vercel AI SDK with its Anthropic provider pointed at the gateway (base URL and key only):
// /v1/messages as that provider speaks it, plain and streamed, tools, jobs and errors.

const gatewayFetch = (url: RequestInfo | URL, init?: RequestInit) => exports.default.fetch(new Request(url, init));

function provider(key: string, headers: Record<string, string> = {}) {
  return createAnthropic({ baseURL: "http://gateway.test/v1", apiKey: key, fetch: gatewayFetch as typeof fetch, headers });
}

describe("the Vercel AI SDK's Anthropic provider against /v1/messages", () => {
  it("generateText and streamText give the same text and usage, each a one-request job charged once", async () => {
    const team = await createTeam({ credits: 10 });
    const model = provider(team.key)(team.groups[0]);
    const plain = await generateText({ model, prompt: "How do I reset my password?", maxOutputTokens: 300 });
    expect(plain.text.startsWith("Mock answer from")).toBe(true);
    expect(plain.finishReason).toBe("stop");
    expect(plain.usage.inputTokens).toBeGreaterThan(0);
    expect(plain.usage.outputTokens).toBeGreaterThan(0);

    const streamed = streamText({ model, prompt: "How do I reset my password?", maxOutputTokens: 300 });
    let text = "";
    for await (const part of streamed.textStream) text += part;
    expect(text).toBe(plain.text);
    const usage = await streamed.usage;
    expect([usage.inputTokens, usage.outputTokens]).toEqual([plain.usage.inputTokens, plain.usage.outputTokens]);

    const listing = await json("GET", `/api/teams/${team.teamId}/jobs?limit=10`, 200, { key: team.key });
    expect(listing.jobs.map((j: any) => [j.status, j.costs.total_calls])).toEqual([
      ["completed", 1],
      ["completed", 1],
    ]);
    expect((await balance(team)).credits_remaining).toBe(8);
    await expectLedgerConsistent(team);
  });

  it("a tool call, in a job the team opened and completes (X-Job-Id)", async () => {
    const team = await createTeam({ credits: 5 });
    const jobId = await createJob(team, "agent");
    const withTool = await generateText({
      model: provider(team.key, { "X-Job-Id": jobId })(team.groups[0]),
      prompt: "What is the weather in Paris?",
      tools: {
        get_weather: tool({
          description: "The weather in a city",
          inputSchema: jsonSchema<{ city: string }>({ type: "object", properties: { city: { type: "string" } }, required: ["city"] }),
        }),
      },
      toolChoice: "required",
    });
    expect(withTool.toolCalls[0].toolName).toBe("get_weather");
    expect(withTool.toolCalls[0].input).toEqual({ city: "mock value" });
    const summary = await json("POST", `/api/jobs/${jobId}/complete`, 200, { key: team.key, body: { status: "completed" } });
    expect(summary.costs.total_calls).toBe(1);
    expect((await balance(team)).credits_remaining).toBe(4);
  });

  it("errors are APICallErrors with the status: 401, 402, 404, 429, the last one retryable", async () => {
    const broke = await createTeam({ credits: 0 });
    const paused = await createTeam();
    await json("PUT", `/api/teams/${paused.teamId}/pause`, 200);
    const failureOf = async (key: string, group: string) => {
      const error = await generateText({ model: provider(key)(group), prompt: "Hi", maxRetries: 0 }).catch((e) => e);
      expect(APICallError.isInstance(error)).toBe(true);
      return error as APICallError;
    };
    expect((await failureOf("sk-wrong", broke.groups[0])).statusCode).toBe(401);
    const noCredits = await failureOf(broke.key, broke.groups[0]);
    expect([noCredits.statusCode, noCredits.message]).toEqual([402, expect.stringMatching(/credit/i)]);
    expect((await failureOf(broke.key, "no-such-group")).statusCode).toBe(404);
    const limited = await failureOf(paused.key, paused.groups[0]);
    expect([limited.statusCode, limited.isRetryable]).toEqual([429, true]);
  });
});
