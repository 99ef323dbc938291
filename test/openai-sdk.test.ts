import { exports } from "cloudflare:workers";
import { createOpenAI } from "@ai-sdk/openai";
import { APICallError, embed, generateText, jsonSchema, streamText, tool } from "ai";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { api, balance, createJob, createTeam, expectLedgerConsistent, json, type TestTeam, userMessage } from "./helpers";

// The /v1 surface driven by the real clients: the official `openai` package and the Vercel AI
// SDK, pointed at the gateway with two settings (base URL and key), in-process.

const BASE_URL = "http://gateway.test/v1";
const gatewayFetch = (url: RequestInfo | URL, init?: RequestInit) => exports.default.fetch(new Request(url, init));

function openai(key: string, options: { maxRetries?: number } = {}) {
  return new OpenAI({ baseURL: BASE_URL, apiKey: key, fetch: gatewayFetch as typeof fetch, maxRetries: options.maxRetries ?? 0 });
}

function vercel(key: string) {
  return createOpenAI({ baseURL: BASE_URL, apiKey: key, fetch: gatewayFetch as typeof fetch });
}

const WEATHER_TOOL = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "The weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};

async function jobOf(team: TestTeam, jobId: string) {
  return json("GET", `/api/jobs/${jobId}`, 200, { key: team.key });
}

/** A job's costs without the parts that differ from run to run. */
function comparableCosts(costs: Record<string, unknown>) {
  const { avg_latency_ms: _latency, credits_remaining: _remaining, ...rest } = costs;
  return rest;
}

describe("the openai package against /v1", () => {
  it("a plain chat completion is a one-request job: OpenAI's shape, the group as model, charged once", async () => {
    const team = await createTeam({ credits: 10 });
    const group = team.groups[0];
    const { data: completion, response } = await openai(team.key)
      .chat.completions.create({ model: group, messages: [{ role: "user", content: "How do I reset my password?" }] })
      .withResponse();
    expect(completion.object).toBe("chat.completion");
    expect(completion.model).toBe(group);
    expect(completion.id).toMatch(/^chatcmpl-[0-9a-f-]{36}$/);
    expect(completion.choices).toHaveLength(1);
    expect(completion.choices[0].message.role).toBe("assistant");
    expect(completion.choices[0].message.content?.length).toBeGreaterThan(0);
    expect(completion.choices[0].finish_reason).toBe("stop");
    expect(Object.keys(completion.usage!).sort()).toEqual(["completion_tokens", "prompt_tokens", "total_tokens"]);
    expect(Object.keys(completion).sort()).toEqual(["choices", "created", "id", "model", "object", "usage"]);
    expect(Object.keys(completion.choices[0].message).sort()).toEqual(["content", "refusal", "role"]);

    const jobId = response.headers.get("x-job-id")!;
    const job = await jobOf(team, jobId);
    expect(job.status).toBe("completed");
    expect(job.job_type).toBe("api");
    expect(job.calls).toHaveLength(1);
    expect(job.calls[0].total_tokens).toBe(completion.usage!.total_tokens);
    expect((await balance(team)).credits_remaining).toBe(9);
    await expectLedgerConsistent(team);
  });

  it("the same calls give the same job summary through /v1 with X-Job-Id as through the job API", async () => {
    const team = await createTeam({ credits: 10 });
    const group = team.groups[0];
    const messages = userMessage("Summarise the ticket");

    const apiJob = await createJob(team, "support");
    for (let i = 0; i < 2; i++) {
      await json("POST", `/api/jobs/${apiJob}/llm-call`, 200, { key: team.key, body: { model_group: group, messages } });
    }
    const apiSummary = await json("POST", `/api/jobs/${apiJob}/complete`, 200, { key: team.key, body: { status: "completed" } });

    const v1Job = await createJob(team, "support");
    const client = openai(team.key);
    for (let i = 0; i < 2; i++) {
      const { response } = await client.chat.completions
        .create({ model: group, messages: messages as OpenAI.ChatCompletionMessageParam[] }, { headers: { "X-Job-Id": v1Job } })
        .withResponse();
      expect(response.headers.get("x-job-id")).toBe(v1Job);
    }
    expect((await jobOf(team, v1Job)).status).toBe("in_progress"); // the team's job: the gateway does not close it
    const v1Summary = await json("POST", `/api/jobs/${v1Job}/complete`, 200, { key: team.key, body: { status: "completed" } });

    expect(comparableCosts(v1Summary.costs)).toEqual(comparableCosts(apiSummary.costs));
    expect(v1Summary.costs.total_calls).toBe(2);
    expect((await balance(team)).credits_remaining).toBe(8); // one credit per job, not per call
    await expectLedgerConsistent(team);
  });

  it("streamed: chunks with the group as model; the usage chunk only with include_usage, metered either way", async () => {
    const team = await createTeam({ credits: 10 });
    const group = team.groups[0];
    const client = openai(team.key);
    const messages = [{ role: "user" as const, content: "Stream me an answer" }];

    const withUsage = await client.chat.completions.create({
      model: group,
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of withUsage) chunks.push(chunk);
    expect(chunks.every((chunk) => chunk.model === group && chunk.object === "chat.completion.chunk")).toBe(true);
    const usage = chunks.at(-1)!.usage!;
    expect(usage.total_tokens).toBeGreaterThan(0);
    const text = chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? "").join("");
    expect(text.length).toBeGreaterThan(0);

    const withoutUsage = await client.chat.completions.create({ model: group, messages, stream: true }).withResponse();
    const quiet: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of withoutUsage.data) quiet.push(chunk);
    expect(quiet.some((chunk) => chunk.usage)).toBe(false);
    expect(quiet.map((chunk) => chunk.choices[0]?.delta?.content ?? "").join("")).toBe(text);

    const job = await jobOf(team, withoutUsage.response.headers.get("x-job-id")!);
    expect(job.status).toBe("completed");
    expect(job.calls[0].total_tokens).toBe(usage.total_tokens); // metered although not sent
    expect((await balance(team)).credits_remaining).toBe(8);
    await expectLedgerConsistent(team);
  });

  it("tools, tool_choice and n: every choice comes back, tool calls intact", async () => {
    const team = await createTeam();
    const client = openai(team.key);
    const called = await client.chat.completions.create({
      model: team.groups[0],
      messages: [{ role: "user", content: "What is the weather in Paris?" }],
      tools: [WEATHER_TOOL],
      tool_choice: "required",
    });
    expect(called.choices[0].finish_reason).toBe("tool_calls");
    const toolCall = called.choices[0].message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(toolCall.function.name).toBe("get_weather");
    expect(JSON.parse(toolCall.function.arguments)).toHaveProperty("city");

    const several = await client.chat.completions.create({ model: team.groups[0], messages: [{ role: "user", content: "Hi" }], n: 3 });
    expect(several.choices.map((choice) => choice.index)).toEqual([0, 1, 2]);
    expect(new Set(several.choices.map((choice) => choice.message.content)).size).toBe(1);
  });

  it("embeddings are forwarded, metered by prompt tokens and recorded in the job as a call", async () => {
    const team = await createTeam({ models: [["text-embedding-3-small"]] });
    const { data: result, response } = await openai(team.key)
      .embeddings.create({ model: team.groups[0], input: ["hello world", "gateways"] })
      .withResponse();
    expect(result.object).toBe("list");
    expect(result.model).toBe(team.groups[0]);
    expect(result.data.map((item) => item.index)).toEqual([0, 1]);
    expect(result.data[0].embedding).toHaveLength(8); // decoded from base64, which the SDK asks for
    expect(result.usage.prompt_tokens).toBe(Math.ceil("hello world".length / 4) + Math.ceil("gateways".length / 4));

    const job = await jobOf(team, response.headers.get("x-job-id")!);
    expect(job.status).toBe("completed");
    expect(job.calls).toHaveLength(1);
    expect(job.calls[0].total_tokens).toBe(result.usage.prompt_tokens);
    expect(job.calls[0].prompt_tokens).toBe(result.usage.prompt_tokens);
    expect(job.calls[0].cost_usd).toBeCloseTo(result.usage.prompt_tokens * 0.00000002, 12); // the mock's price, from its cost header
    await expectLedgerConsistent(team);
  });

  it("an embedding in a held job captures its own hold: nothing stays held once it is recorded", async () => {
    const team = await createTeam({
      credits: 50,
      models: [["text-embedding-3-small"]],
      extra: { budget_mode: "consumption_tokens", tokens_per_credit: 1000, overdraft: "none" },
    });
    const jobId = await createJob(team);
    const result = await openai(team.key).embeddings.create(
      { model: team.groups[0], input: ["hello world", "gateways"] },
      { headers: { "X-Job-Id": jobId } },
    );
    expect(result.data).toHaveLength(2);
    const job = await jobOf(team, jobId);
    expect(job.calls).toHaveLength(1);
    expect(await balance(team)).toMatchObject({ credits_held: 0, credits_reserved: 1 });
    await expectLedgerConsistent(team);
  });

  it("a held call without max_tokens gets the largest the credits pay for, named in X-Budget-Max-Tokens", async () => {
    const team = await createTeam({ credits: 2, extra: { budget_mode: "consumption_tokens", tokens_per_credit: 1000, overdraft: "none" } });
    const messages = [{ role: "user" as const, content: "Hi" }];
    const { response } = await openai(team.key).chat.completions.create({ model: team.groups[0], messages }).withResponse();
    // The call's one-request job holds 1 credit, and the other is free: 2 credits at 1,000 tokens
    // each pay for 2,000 tokens, the prompt (its estimate: a token per 4 characters of the
    // messages' JSON) included. The largest max_tokens is what is left of them.
    const promptEstimate = Math.ceil(JSON.stringify(messages).length / 4);
    expect(response.headers.get("x-budget-max-tokens")).toBe(String(2000 - promptEstimate));
    await expectLedgerConsistent(team);
  });

  it("models.list lists the team's model groups as OpenAI models", async () => {
    const team = await createTeam({ models: [["gpt-4o-mini"], ["gpt-4"]] });
    const page = await openai(team.key).models.list();
    expect(page.data.map((model) => model.id).sort()).toEqual([...team.groups].sort());
    expect(page.data.every((model) => model.object === "model" && model.owned_by === "llm-job-gateway")).toBe(true);
  });

  it("errors raise the SDK's own classes: 401, 402 insufficient_quota, 404 model_not_found, 429 with Retry-After", async () => {
    const team = await createTeam({ credits: 0 });
    const messages = [{ role: "user" as const, content: "Hi" }];

    const unauthorized = await openai("sk-not-a-key")
      .chat.completions.create({ model: team.groups[0], messages })
      .catch((e) => e);
    expect(unauthorized).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(unauthorized.code).toBe("invalid_api_key");

    const broke = await openai(team.key)
      .chat.completions.create({ model: team.groups[0], messages })
      .catch((e) => e);
    expect(broke).toBeInstanceOf(OpenAI.APIError);
    expect(broke.status).toBe(402);
    expect(broke.code).toBe("insufficient_quota");
    expect(broke.type).toBe("insufficient_quota");

    const unknown = await openai(team.key)
      .chat.completions.create({ model: "no-such-group", messages })
      .catch((e) => e);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect(unknown.code).toBe("model_not_found");

    const paused = await createTeam();
    await json("PUT", `/api/teams/${paused.teamId}/pause`, 200);
    const limited = await openai(paused.key)
      .chat.completions.create({ model: paused.groups[0], messages })
      .catch((e) => e);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect(limited.headers.get("retry-after")).toMatch(/^\d+$/);
    await expectLedgerConsistent(team);
  });
});

describe("raw /v1 answers", () => {
  it("a validation error is 422 invalid_request_error naming the field; /api keeps {detail}", async () => {
    const team = await createTeam();
    const res = await api("POST", "/v1/chat/completions", { key: team.key, body: { model: team.groups[0], messages: [] } });
    expect(res.status).toBe(422);
    const body = await res.json<any>();
    expect(body.error.type).toBe("invalid_request_error");
    expect(body.error.param).toBe("messages");
    expect(body.detail).toBeUndefined();
    const apiRes = await api("POST", "/api/jobs/create", { key: team.key, body: {} });
    expect(((await apiRes.json()) as any).detail).toBeDefined();
  });

  it("an upstream failure is a 5xx api_error naming the job, which is closed uncharged", async () => {
    const team = await createTeam({ models: [["gpt-4o-mini+fail=500"]] });
    const res = await api("POST", "/v1/chat/completions", { key: team.key, body: { model: team.groups[0], messages: userMessage() } });
    expect(res.status).toBe(502);
    const body = await res.json<any>();
    expect(body.error.type).toBe("api_error");
    const job = await jobOf(team, res.headers.get("x-job-id")!);
    expect(job.status).toBe("failed");
    expect((await balance(team)).credits_remaining).toBe(100);
    await expectLedgerConsistent(team);
  });

  it("a retry with the same Idempotency-Key opens no second job and charges once", async () => {
    const team = await createTeam({ credits: 10 });
    const request = {
      key: team.key,
      headers: { "Idempotency-Key": "v1-retry-1" },
      body: { model: team.groups[0], messages: userMessage() },
    };
    const first = await api("POST", "/v1/chat/completions", request);
    const second = await api("POST", "/v1/chat/completions", request);
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(await second.text()).toBe(await first.text());
    expect(second.headers.get("x-job-id")).toBe(first.headers.get("x-job-id"));
    const jobs = await json("GET", `/api/teams/${team.teamId}/jobs`, 200, { key: team.key });
    expect(jobs.jobs).toHaveLength(1);
    expect((await balance(team)).credits_remaining).toBe(9);
    await expectLedgerConsistent(team);
  });

  it("a /v1 one-request job is the gateway's: the team cannot complete it", async () => {
    const team = await createTeam();
    const res = await api("POST", "/v1/chat/completions", { key: team.key, body: { model: team.groups[0], messages: userMessage() } });
    const jobId = res.headers.get("x-job-id")!;
    const again = await api("POST", "/v1/chat/completions", {
      key: team.key,
      headers: { "X-Job-Id": jobId },
      body: { model: team.groups[0], messages: userMessage() },
    });
    expect(again.status).toBe(409);
    expect(((await again.json()) as any).error.code).toBe("conflict");
  });

  it("X-Job-Type names the one-request job's type", async () => {
    const team = await createTeam();
    const res = await api("POST", "/v1/chat/completions", {
      key: team.key,
      headers: { "X-Job-Type": "summarize" },
      body: { model: team.groups[0], messages: userMessage() },
    });
    expect(res.status).toBe(200);
    expect((await jobOf(team, res.headers.get("x-job-id")!)).job_type).toBe("summarize");
  });
});

describe("the Vercel AI SDK against /v1", () => {
  it("generateText, streamText, a tool call and embed", async () => {
    const team = await createTeam({ credits: 10, models: [["gpt-4o-mini"], ["text-embedding-3-small"]] });
    const provider = vercel(team.key);
    const [chatGroup, embeddingGroup] = team.groups;

    const plain = await generateText({ model: provider.chat(chatGroup), prompt: "How do I reset my password?" });
    expect(plain.text.length).toBeGreaterThan(0);
    expect(plain.usage.totalTokens).toBeGreaterThan(0);

    const streamed = streamText({ model: provider.chat(chatGroup), prompt: "How do I reset my password?" });
    let text = "";
    for await (const part of streamed.textStream) text += part;
    expect(text).toBe(plain.text);
    expect((await streamed.usage).totalTokens).toBe(plain.usage.totalTokens);

    const withTool = await generateText({
      model: provider.chat(chatGroup),
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

    const embedded = await embed({ model: provider.embedding(embeddingGroup), value: "hello world" });
    expect(embedded.embedding).toHaveLength(8);

    expect((await balance(team)).credits_remaining).toBe(6); // four one-request jobs
    await expectLedgerConsistent(team);
  });

  it("errors are APICallErrors with the status: 401, 402, 429", async () => {
    const broke = await createTeam({ credits: 0 });
    const paused = await createTeam();
    await json("PUT", `/api/teams/${paused.teamId}/pause`, 200);
    const statusOf = async (key: string, group: string) => {
      const error = await generateText({ model: vercel(key).chat(group), prompt: "Hi", maxRetries: 0 }).catch((e) => e);
      expect(APICallError.isInstance(error)).toBe(true);
      return [(error as APICallError).statusCode, (error as APICallError).message];
    };
    expect((await statusOf("sk-wrong", broke.groups[0]))[0]).toBe(401);
    expect(await statusOf(broke.key, broke.groups[0])).toEqual([402, expect.stringMatching(/credit/i)]);
    expect((await statusOf(paused.key, paused.groups[0]))[0]).toBe(429);
  });

  it("a job opened with the job API, used through X-Job-Id by the AI SDK, completed and charged once", async () => {
    const team = await createTeam({ credits: 5 });
    const jobId = await createJob(team, "agent");
    const provider = createOpenAI({
      baseURL: BASE_URL,
      apiKey: team.key,
      fetch: gatewayFetch as typeof fetch,
      headers: { "X-Job-Id": jobId },
    });
    await generateText({ model: provider.chat(team.groups[0]), prompt: "Step one" });
    await generateText({ model: provider.chat(team.groups[0]), prompt: "Step two" });
    const summary = await json("POST", `/api/jobs/${jobId}/complete`, 200, { key: team.key, body: { status: "completed" } });
    expect(summary.costs.total_calls).toBe(2);
    expect(summary.costs.credit_applied).toBe(true);
    expect((await balance(team)).credits_remaining).toBe(4);
    await expectLedgerConsistent(team);
  });
});
