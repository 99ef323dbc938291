// The OpenAI-compatible /v1 surface driven by the official `openai` npm package, over HTTP against
// the gateway under wrangler dev, in front of a REAL pinned LiteLLM, in front of the mock upstream
// (scripts/test-litellm.mjs; see vitest.litellm.config.ts). The same flows as the workerd suite
// test/openai-sdk.test.ts, here with LiteLLM doing the routing, usage and pricing:
//
// - models.list, a plain chat completion, a streamed one with include_usage, a tool call;
// - embeddings (text-embedding-3-small, priced by LiteLLM's bundled cost map);
// - the SDK's error classes: 401 AuthenticationError, 404 NotFoundError, a 5xx when LiteLLM fails;
// - a job opened with the job API, used through X-Job-Id, completed and charged once;
// - every recorded cost equals what LiteLLM reports for the same request (markup 0).
import OpenAI from "openai";
import { beforeAll, expect, it } from "vitest";
import {
  describeLiteLLM,
  type HttpResult,
  http,
  type LiteLLMRun,
  litellmRun,
  loadMock,
  parseSse,
  randomSuffix,
  usageChunks,
} from "./harness";

let run: LiteLLMRun;
let mock: any;

const admin = () => ({ authorization: `Bearer ${run.adminKey}` });
const team = (key: string) => ({ authorization: `Bearer ${key}` });
const api = (path: string) => `${run.gatewayUrl}/api${path}`;

function ok(res: HttpResult, what: string, status = 200): any {
  if (res.status !== status) throw new Error(`${what}: expected HTTP ${status}, got ${res.status}: ${res.text.slice(0, 2000)}`);
  return res.json;
}

/** The official client, pointed at the gateway's /v1 with a team key (no SDK retries: each request is one job). */
function openai(key: string): OpenAI {
  return new OpenAI({ baseURL: `${run.gatewayUrl}/v1`, apiKey: key, maxRetries: 0, timeout: 45_000 });
}

async function createGroup(prefix: string, models: string[]): Promise<string> {
  const name = `${prefix}-${randomSuffix()}`;
  ok(
    await http("POST", api("/model-groups/create"), {
      headers: admin(),
      body: {
        group_name: name,
        display_name: name,
        description: `test:litellm /v1 ${prefix}`,
        models: models.map((model_name, priority) => ({ model_name, priority })),
      },
    }),
    `create model group ${name}`,
  );
  return name;
}

/** An organization + team on the given groups, 100 credits, markup 0 (recorded cost = provider cost). */
async function createTeam(groups: string[]): Promise<{ teamId: string; key: string }> {
  const suffix = randomSuffix();
  const orgId = `org-v1-${suffix}`;
  ok(
    await http("POST", api("/organizations/create"), { headers: admin(), body: { organization_id: orgId, name: `Org ${suffix}` } }),
    "org",
  );
  const teamId = `team-v1-${suffix}`;
  const created = ok(
    await http("POST", api("/teams/create"), {
      headers: admin(),
      body: {
        organization_id: orgId,
        team_id: teamId,
        team_alias: `V1 ${suffix}`,
        model_groups: groups,
        credits_allocated: 100,
        cost_markup_percentage: 0,
      },
    }),
    "create team",
  );
  return { teamId, key: created.virtual_key };
}

const getJob = async (key: string, jobId: string) => ok(await http("GET", api(`/jobs/${jobId}`), { headers: team(key) }), "get job");
const creditsRemaining = async (key: string, teamId: string): Promise<number> =>
  ok(await http("GET", api(`/credits/teams/${teamId}/balance`), { headers: team(key) }), "balance").credits_remaining;

/** What LiteLLM charges for a plain chat request: its x-litellm-response-cost, asked directly with the master key. */
async function litellmPlainCost(model: string, messages: unknown[]): Promise<{ cost: number; totalTokens: number }> {
  const res = await http("POST", `${run.litellmUrl}/chat/completions`, {
    headers: { authorization: `Bearer ${run.litellmKey}` },
    body: { model, messages },
  });
  const header = res.headers.get("x-litellm-response-cost");
  expect(res.status, res.text.slice(0, 500)).toBe(200);
  expect(header, "LiteLLM sends x-litellm-response-cost on a plain answer").not.toBeNull();
  return { cost: Number.parseFloat(header!), totalTokens: res.json.usage.total_tokens };
}

/** What LiteLLM charges for a streamed chat request: usage.cost of its usage chunk. */
async function litellmStreamCost(model: string, messages: unknown[]): Promise<{ cost: number; totalTokens: number }> {
  const res = await http("POST", `${run.litellmUrl}/chat/completions`, {
    headers: { authorization: `Bearer ${run.litellmKey}` },
    body: { model, messages, stream: true, stream_options: { include_usage: true } },
  });
  expect(res.status, res.text.slice(0, 500)).toBe(200);
  const usage = usageChunks(parseSse(res.text).objects)[0]?.usage;
  expect(usage?.cost, "LiteLLM puts usage.cost in the stream's usage chunk").toBeTypeOf("number");
  return { cost: usage.cost, totalTokens: usage.total_tokens };
}

/** |a - b| within the ledger's nano-dollar rounding; the expected cost must be non-zero. */
function expectSameUsd(actual: number, expected: number) {
  expect(expected).toBeGreaterThan(0);
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-9);
}

const WEATHER_TOOL = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "The weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};

describeLiteLLM("the openai package against /v1, through a real LiteLLM proxy", () => {
  let chat: string; // [gpt-4o-mini]
  let embedding: string; // [text-embedding-3-small]
  let failing: string; // [always-fails]: LiteLLM answers 500
  let unassigned: string; // a group that exists but is not the team's
  let teamId: string;
  let key: string;

  beforeAll(async () => {
    run = litellmRun();
    mock = await loadMock();
    expect((await http("GET", `${run.gatewayUrl}/health`)).status).toBe(200);
    chat = await createGroup("V1Chat", ["gpt-4o-mini"]);
    embedding = await createGroup("V1Embed", ["text-embedding-3-small"]);
    failing = await createGroup("V1Fails", ["always-fails"]);
    unassigned = await createGroup("V1Other", ["gpt-4"]);
    ({ teamId, key } = await createTeam([chat, embedding, failing]));
  });

  it("models.list lists the team's model groups, and only them", async () => {
    const page = await openai(key).models.list();
    expect(page.data.map((m) => m.id).sort()).toEqual([chat, embedding, failing].sort());
    expect(page.data.every((m) => m.object === "model" && m.owned_by === "llm-job-gateway")).toBe(true);
  });

  it("a plain chat completion: LiteLLM's answer in OpenAI's shape, a one-request job charged once at LiteLLM's cost", async () => {
    const before = await creditsRemaining(key, teamId);
    const messages = [{ role: "user" as const, content: "/v1 through LiteLLM: how do I reset my password?" }];
    const { data: completion, response } = await openai(key).chat.completions.create({ model: chat, messages }).withResponse();
    const expected = mock.buildAnswer({ messages }, "gpt-4o-mini");
    expect(completion.object).toBe("chat.completion");
    expect(completion.model).toBe(chat);
    expect(completion.id).toMatch(/^chatcmpl-[0-9a-f-]{36}$/);
    expect(completion.choices).toHaveLength(1);
    expect(completion.choices[0].message).toMatchObject({ role: "assistant", content: expected.content });
    expect(completion.choices[0].finish_reason).toBe("stop");
    expect(completion.usage).toEqual({
      prompt_tokens: expected.promptTokens,
      completion_tokens: expected.completionTokens,
      total_tokens: expected.totalTokens,
    });

    const jobId = response.headers.get("x-job-id");
    expect(jobId).toBeTruthy();
    const job = await getJob(key, jobId!);
    expect(job).toMatchObject({ status: "completed", job_type: "api" });
    expect(job.calls).toHaveLength(1);
    expect(job.calls[0]).toMatchObject({ status: "success", stream: false, usage_estimated: false, total_tokens: expected.totalTokens });
    const litellm = await litellmPlainCost("gpt-4o-mini", messages);
    expect(litellm.totalTokens).toBe(expected.totalTokens);
    expectSameUsd(job.calls[0].cost_usd, litellm.cost);
    expect(await creditsRemaining(key, teamId)).toBe(before - 1);
  });

  it("a streamed chat completion with include_usage: chunks, one usage chunk whose tokens are the job's record", async () => {
    const before = await creditsRemaining(key, teamId);
    const messages = [{ role: "user" as const, content: "/v1 through LiteLLM: stream me an answer." }];
    const { data: stream, response } = await openai(key)
      .chat.completions.create({ model: chat, messages, stream: true, stream_options: { include_usage: true } })
      .withResponse();
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.every((c) => c.object === "chat.completion.chunk" && c.model === chat)).toBe(true);
    const expected = mock.buildAnswer({ messages }, "gpt-4o-mini");
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("")).toBe(expected.content);
    const withUsage = chunks.filter((c) => c.usage);
    expect(withUsage, "exactly one usage chunk, the last").toHaveLength(1);
    expect(chunks.at(-1)?.usage).toBeTruthy();
    expect(withUsage[0].usage).toMatchObject({
      prompt_tokens: expected.promptTokens,
      completion_tokens: expected.completionTokens,
      total_tokens: expected.totalTokens,
    });

    const job = await getJob(key, response.headers.get("x-job-id")!);
    expect(job.status).toBe("completed");
    expect(job.calls).toHaveLength(1);
    expect(job.calls[0]).toMatchObject({
      status: "success",
      stream: true,
      usage_estimated: false,
      prompt_tokens: withUsage[0].usage!.prompt_tokens,
      completion_tokens: withUsage[0].usage!.completion_tokens,
      total_tokens: withUsage[0].usage!.total_tokens,
    });
    const litellm = await litellmStreamCost("gpt-4o-mini", messages);
    expect(litellm.totalTokens).toBe(expected.totalTokens);
    expectSameUsd(job.calls[0].cost_usd, litellm.cost);
    expect(await creditsRemaining(key, teamId)).toBe(before - 1);
  });

  it("a tool call comes back intact through LiteLLM", async () => {
    const messages = [{ role: "user" as const, content: "What is the weather in Paris?" }];
    const completion = await openai(key).chat.completions.create({
      model: chat,
      messages,
      tools: [WEATHER_TOOL],
      tool_choice: "required",
    });
    const expected = mock.buildAnswer({ messages, tools: [WEATHER_TOOL], tool_choice: "required" }, "gpt-4o-mini");
    expect(completion.choices[0].finish_reason).toBe("tool_calls");
    const calls = completion.choices[0].message.tool_calls as OpenAI.ChatCompletionMessageFunctionToolCall[];
    expect(calls).toHaveLength(1);
    expect(calls[0].type).toBe("function");
    expect(calls[0].function.name).toBe("get_weather");
    expect(JSON.parse(calls[0].function.arguments)).toEqual(JSON.parse(expected.toolCalls[0].function.arguments));
    expect(JSON.parse(calls[0].function.arguments)).toHaveProperty("city");
    expect(completion.usage?.total_tokens).toBe(expected.totalTokens);
  });

  it("embeddings: forwarded through LiteLLM, decoded by the SDK, recorded at LiteLLM's cost", async () => {
    const before = await creditsRemaining(key, teamId);
    const input = ["hello world", "gateways through litellm"];
    const { data: result, response } = await openai(key).embeddings.create({ model: embedding, input }).withResponse();
    expect(result.object).toBe("list");
    expect(result.model).toBe(embedding);
    expect(result.data.map((d) => d.index)).toEqual([0, 1]);
    for (const [i, text] of input.entries()) {
      const vector = mock.embeddingVector(text) as number[];
      expect(result.data[i].embedding).toHaveLength(vector.length);
      for (const [j, value] of result.data[i].embedding.entries()) expect(value).toBeCloseTo(vector[j], 5); // float32 on the wire
    }
    const promptTokens = input.reduce((sum, text) => sum + mock.embeddingTokens(text), 0);
    expect(result.usage).toEqual({ prompt_tokens: promptTokens, total_tokens: promptTokens });

    const job = await getJob(key, response.headers.get("x-job-id")!);
    expect(job.status).toBe("completed");
    expect(job.calls).toHaveLength(1);
    expect(job.calls[0]).toMatchObject({ status: "success", prompt_tokens: promptTokens, total_tokens: promptTokens });

    // The same request straight to LiteLLM: its cost header, from the bundled price map.
    const same = await http("POST", `${run.litellmUrl}/embeddings`, {
      headers: { authorization: `Bearer ${run.litellmKey}` },
      body: { model: "text-embedding-3-small", input },
    });
    expect(same.status, same.text.slice(0, 500)).toBe(200);
    const header = same.headers.get("x-litellm-response-cost");
    expect(header, "LiteLLM sends x-litellm-response-cost for embeddings").not.toBeNull();
    const litellmCost = Number.parseFloat(header!);
    expectSameUsd(litellmCost, promptTokens * mock.EMBEDDING_PRICES["text-embedding-3-small"]);
    expectSameUsd(job.calls[0].cost_usd, litellmCost);
    expect(await creditsRemaining(key, teamId)).toBe(before - 1);
  });

  it("errors are the SDK's classes: 401 AuthenticationError, 404 NotFoundError, a LiteLLM failure a 5xx with the job failed and uncharged", async () => {
    const before = await creditsRemaining(key, teamId);
    const messages = [{ role: "user" as const, content: "Hi" }];

    const unauthorized = await openai("sk-not-a-key")
      .chat.completions.create({ model: chat, messages })
      .catch((e) => e);
    expect(unauthorized).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.code).toBe("invalid_api_key");

    const notTheTeams = await openai(key)
      .chat.completions.create({ model: unassigned, messages })
      .catch((e) => e);
    expect(notTheTeams).toBeInstanceOf(OpenAI.NotFoundError);
    expect(notTheTeams.code).toBe("model_not_found");

    const notEmbeddable = await openai(key)
      .embeddings.create({ model: unassigned, input: "x" })
      .catch((e) => e);
    expect(notEmbeddable).toBeInstanceOf(OpenAI.NotFoundError);

    const upstreamDown = await openai(key)
      .chat.completions.create({ model: failing, messages })
      .catch((e) => e);
    expect(upstreamDown).toBeInstanceOf(OpenAI.InternalServerError);
    expect(upstreamDown.status).toBe(502);
    expect(upstreamDown.type).toBe("api_error");
    expect(JSON.stringify(upstreamDown.error), "no model or provider named").not.toMatch(/always-fails|gpt-4o-mini|litellm/i);
    const failedJob = await getJob(key, upstreamDown.headers.get("x-job-id"));
    expect(failedJob.status).toBe("failed");
    expect(failedJob.calls[0]).toMatchObject({ status: "failed" });

    expect(await creditsRemaining(key, teamId), "no error is charged").toBe(before);
  });

  it("a job opened with the job API, used through X-Job-Id (plain and streamed), completed and charged once at LiteLLM's cost", async () => {
    const before = await creditsRemaining(key, teamId);
    const jobId = ok(
      await http("POST", api("/jobs/create"), {
        headers: team(key),
        body: { team_id: teamId, job_type: "sdk_agent", metadata: { via: "openai-node" } },
      }),
      "create job",
    ).job_id;
    const client = openai(key);
    const inJob = { headers: { "X-Job-Id": jobId } };

    const first = [{ role: "user" as const, content: "/v1 X-Job-Id step one through LiteLLM." }];
    const plain = await client.chat.completions.create({ model: chat, messages: first }, inJob).withResponse();
    expect(plain.response.headers.get("x-job-id")).toBe(jobId);
    expect(plain.data.choices[0].message.content).toBe(mock.buildAnswer({ messages: first }, "gpt-4o-mini").content);

    const second = [
      ...first,
      { role: "assistant" as const, content: plain.data.choices[0].message.content ?? "" },
      { role: "user" as const, content: "Step two, streamed." },
    ];
    const streamed = await client.chat.completions
      .create({ model: chat, messages: second, stream: true, stream_options: { include_usage: true } }, inJob)
      .withResponse();
    expect(streamed.response.headers.get("x-job-id")).toBe(jobId);
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of streamed.data) usage = chunk.usage ?? usage;
    expect(usage?.total_tokens).toBe(mock.buildAnswer({ messages: second }, "gpt-4o-mini").totalTokens);

    // The team's job: the gateway does not close it, nor charge it, before the team completes it.
    expect((await getJob(key, jobId)).status).toBe("in_progress");
    expect(await creditsRemaining(key, teamId)).toBe(before);

    const done = ok(await http("POST", api(`/jobs/${jobId}/complete`), { headers: team(key), body: { status: "completed" } }), "complete");
    expect(done.costs).toMatchObject({
      total_calls: 2,
      successful_calls: 2,
      failed_calls: 0,
      credit_applied: true,
      credits_charged: 1,
      credits_remaining: before - 1,
    });
    expect(done.costs.total_tokens).toBe(plain.data.usage!.total_tokens + usage!.total_tokens);
    // Completing again charges nothing more.
    await http("POST", api(`/jobs/${jobId}/complete`), { headers: team(key), body: { status: "completed" } });
    expect(await creditsRemaining(key, teamId)).toBe(before - 1);

    const job = await getJob(key, jobId);
    expect(job).toMatchObject({ status: "completed", job_type: "sdk_agent" });
    expect(job.calls).toHaveLength(2);
    expect(job.calls[0]).toMatchObject({ status: "success", stream: false, usage_estimated: false });
    expect(job.calls[1]).toMatchObject({ status: "success", stream: true, usage_estimated: false, total_tokens: usage!.total_tokens });
    expectSameUsd(job.calls[0].cost_usd, (await litellmPlainCost("gpt-4o-mini", first)).cost);
    expectSameUsd(job.calls[1].cost_usd, (await litellmStreamCost("gpt-4o-mini", second)).cost);
    expectSameUsd(done.costs.total_cost_usd, job.calls[0].cost_usd + job.calls[1].cost_usd);
  });
});
