// /v1/responses and /v1/messages driven by the official `openai` and `@anthropic-ai/sdk` packages
// against the gateway under wrangler dev, in front of a REAL pinned LiteLLM (which serves both
// through the mock upstream's /v1/responses), in front of the mock upstream
// (scripts/test-litellm.mjs; see vitest.litellm.config.ts):
//
// - each recorded cost equals what LiteLLM reports for the same request, asked directly (its
//   cost header on a plain answer, `usage.cost` in a Responses stream's `response.completed`);
//   a streamed message, whose stream LiteLLM gives no cost, is priced from the gateway's pricing
//   table at LiteLLM's prices, and comes to the same;
// - streamed usage equals plain usage for the same prompt;
// - the SDKs' error classes when LiteLLM fails.
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { beforeAll, expect, it } from "vitest";
import { describeLiteLLM, type HttpResult, http, type LiteLLMRun, litellmRun, loadMock, parseSse, randomSuffix } from "./harness";

let run: LiteLLMRun;
let mock: any;

const admin = () => ({ authorization: `Bearer ${run.adminKey}` });
const api = (path: string) => `${run.gatewayUrl}/api${path}`;
const litellm = () => ({ authorization: `Bearer ${run.litellmKey}` });

function ok(res: HttpResult, what: string, status = 200): any {
  if (res.status !== status) throw new Error(`${what}: expected HTTP ${status}, got ${res.status}: ${res.text.slice(0, 2000)}`);
  return res.json;
}

function openai(key: string): OpenAI {
  return new OpenAI({ baseURL: `${run.gatewayUrl}/v1`, apiKey: key, maxRetries: 0, timeout: 45_000 });
}

function anthropic(key: string): Anthropic {
  return new Anthropic({ baseURL: run.gatewayUrl, apiKey: key, maxRetries: 0, timeout: 45_000 });
}

async function createGroup(prefix: string, models: string[]): Promise<string> {
  const name = `${prefix}-${randomSuffix()}`;
  ok(
    await http("POST", api("/model-groups/create"), {
      headers: admin(),
      body: { group_name: name, models: models.map((model_name, priority) => ({ model_name, priority })) },
    }),
    `create model group ${name}`,
  );
  return name;
}

async function createTeam(groups: string[]): Promise<{ teamId: string; key: string }> {
  const suffix = randomSuffix();
  const orgId = `org-dialects-${suffix}`;
  ok(await http("POST", api("/organizations/create"), { headers: admin(), body: { organization_id: orgId, name: orgId } }), "org");
  const teamId = `team-dialects-${suffix}`;
  const created = ok(
    await http("POST", api("/teams/create"), {
      headers: admin(),
      body: { organization_id: orgId, team_id: teamId, model_groups: groups, credits_allocated: 100, cost_markup_percentage: 0 },
    }),
    "create team",
  );
  return { teamId, key: created.virtual_key };
}

/** The call of a one-request job, once its record is in (a stream's is written as the stream ends). */
async function callOfJob(key: string, jobId: string) {
  const job = ok(await http("GET", api(`/jobs/${jobId}`), { headers: { authorization: `Bearer ${key}` } }), "get job");
  expect(job.status).toBe("completed");
  expect(job.calls).toHaveLength(1);
  return job.calls[0];
}

/** The one-request jobs of a team, newest first. */
async function jobsOf(key: string, teamId: string): Promise<any[]> {
  return ok(await http("GET", api(`/teams/${teamId}/jobs?limit=50`), { headers: { authorization: `Bearer ${key}` } }), "jobs").jobs;
}

function expectSameUsd(actual: number, expected: number) {
  expect(expected).toBeGreaterThan(0);
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-9);
}

describeLiteLLM("OpenAI's Responses and Anthropic's Messages through a real LiteLLM proxy", () => {
  let chat: string;
  let failing: string;
  let teamId: string;
  let key: string;

  beforeAll(async () => {
    run = litellmRun();
    mock = await loadMock();
    chat = await createGroup("Dialects", ["gpt-4o-mini"]);
    failing = await createGroup("DialectsFail", ["always-fails"]);
    ({ teamId, key } = await createTeam([chat, failing]));
    // LiteLLM's own prices for gpt-4o-mini (its bundled map), for what LiteLLM leaves unpriced: a streamed message.
    ok(
      await http("PUT", api("/pricing"), {
        headers: admin(),
        body: { model_name: "gpt-4o-mini", input_per_million_usd: 0.15, output_per_million_usd: 0.6 },
      }),
      "price gpt-4o-mini",
    );
  });

  it("responses.create, plain and streamed: the same usage, each recorded at LiteLLM's own cost", async () => {
    const input = "Responses through LiteLLM: how do I reset my password?";
    const expected = mock.buildAnswer({ messages: [{ role: "user", content: input }] }, "gpt-4o-mini");
    const { data: plain, response } = await openai(key).responses.create({ model: chat, input, max_output_tokens: 500 }).withResponse();
    expect(plain.model).toBe(chat);
    expect(plain.id).toMatch(/^resp_[0-9a-f-]{36}$/);
    expect(plain.output_text).toBe(expected.content);
    expect(plain.usage).toMatchObject({ input_tokens: expected.promptTokens, output_tokens: expected.completionTokens });
    expect(JSON.stringify(plain)).not.toMatch(/bGl0ZWxsbT|"cost"/);
    const plainCall = await callOfJob(key, response.headers.get("x-job-id")!);
    expect(plainCall).toMatchObject({ stream: false, usage_estimated: false, total_tokens: expected.totalTokens });

    const direct = await http("POST", `${run.litellmUrl}/v1/responses`, { headers: litellm(), body: { model: "gpt-4o-mini", input } });
    expect(direct.status, direct.text.slice(0, 500)).toBe(200);
    expectSameUsd(plainCall.cost_usd, Number.parseFloat(direct.headers.get("x-litellm-response-cost")!));

    const { data: stream, response: streamed } = await openai(key)
      .responses.create({ model: chat, input, max_output_tokens: 500, stream: true })
      .withResponse();
    let completed: OpenAI.Responses.Response | undefined;
    let text = "";
    for await (const event of stream) {
      if (event.type === "response.output_text.delta") text += event.delta;
      if (event.type === "response.completed") completed = event.response;
    }
    expect(text).toBe(expected.content);
    expect(completed?.usage).toEqual(plain.usage);
    const streamCall = await callOfJob(key, streamed.headers.get("x-job-id")!);
    expect(streamCall).toMatchObject({ stream: true, usage_estimated: false, total_tokens: plainCall.total_tokens });

    const directStream = await http("POST", `${run.litellmUrl}/v1/responses`, {
      headers: litellm(),
      body: { model: "gpt-4o-mini", input, stream: true },
    });
    const done = parseSse(directStream.text).objects.find((o) => o?.type === "response.completed");
    expect(done?.response?.usage?.cost, "LiteLLM puts the cost in response.completed").toBeTypeOf("number");
    expectSameUsd(streamCall.cost_usd, done.response.usage.cost);
    expectSameUsd(streamCall.cost_usd, plainCall.cost_usd);
  });

  it("messages.create and messages.stream: the same usage, each recorded at LiteLLM's cost", async () => {
    const content = "Messages through LiteLLM: how do I reset my password?";
    const expected = mock.buildAnswer({ messages: [{ role: "user", content }] }, "gpt-4o-mini");
    const request = { model: chat, max_tokens: 500, messages: [{ role: "user" as const, content }] };
    const { data: plain, response } = await anthropic(key).messages.create(request).withResponse();
    expect(plain.model).toBe(chat);
    expect(plain.id).toMatch(/^msg_[0-9a-f-]{36}$/);
    expect(plain.content).toEqual([{ type: "text", text: expected.content }]);
    expect(plain.usage).toMatchObject({ input_tokens: expected.promptTokens, output_tokens: expected.completionTokens });
    const plainCall = await callOfJob(key, response.headers.get("x-job-id")!);
    expect(plainCall).toMatchObject({ stream: false, usage_estimated: false, total_tokens: expected.totalTokens });

    const direct = await http("POST", `${run.litellmUrl}/v1/messages`, {
      headers: { ...litellm(), "anthropic-version": "2023-06-01" },
      body: { model: "gpt-4o-mini", max_tokens: 500, messages: [{ role: "user", content }] },
    });
    expect(direct.status, direct.text.slice(0, 500)).toBe(200);
    const litellmCost = Number.parseFloat(direct.headers.get("x-litellm-response-cost")!);
    expectSameUsd(plainCall.cost_usd, litellmCost);

    const before = new Set((await jobsOf(key, teamId)).map((j) => j.job_id));
    const final = await anthropic(key).messages.stream(request).finalMessage();
    expect(final.content).toEqual(plain.content);
    expect([final.usage.input_tokens, final.usage.output_tokens]).toEqual([plain.usage.input_tokens, plain.usage.output_tokens]);
    const [job] = (await jobsOf(key, teamId)).filter((j) => !before.has(j.job_id));
    const streamCall = await callOfJob(key, job.job_id);
    expect(streamCall).toMatchObject({ stream: true, usage_estimated: false, total_tokens: plainCall.total_tokens });
    expectSameUsd(streamCall.cost_usd, litellmCost);
  });

  it("a tool call comes back as Anthropic's tool_use block through LiteLLM", async () => {
    const message = await anthropic(key).messages.create({
      model: chat,
      max_tokens: 200,
      tools: [{ name: "get_weather", input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } }],
      messages: [{ role: "user", content: "What is the weather in Paris?" }],
    });
    expect(message.stop_reason).toBe("tool_use");
    expect(message.content[0]).toMatchObject({ type: "tool_use", name: "get_weather", input: { city: "mock value" } });
  });

  it("LiteLLM failing is the SDKs' InternalServerError (502), the job failed and uncharged, nothing of LiteLLM shown", async () => {
    const balance = async () =>
      ok(await http("GET", api(`/credits/teams/${teamId}/balance`), { headers: { authorization: `Bearer ${key}` } }), "balance")
        .credits_remaining;
    const before = await balance();
    const viaOpenAI = await openai(key)
      .responses.create({ model: failing, input: "Hi" })
      .catch((e) => e);
    expect(viaOpenAI).toBeInstanceOf(OpenAI.InternalServerError);
    expect(viaOpenAI.status).toBe(502);
    const viaAnthropic = await anthropic(key)
      .messages.create({ model: failing, max_tokens: 50, messages: [{ role: "user", content: "Hi" }] })
      .catch((e) => e);
    expect(viaAnthropic).toBeInstanceOf(Anthropic.InternalServerError);
    expect(viaAnthropic.status).toBe(502);
    expect(viaAnthropic.error.error.type).toBe("api_error");
    for (const error of [viaOpenAI, viaAnthropic]) expect(JSON.stringify(error.error)).not.toMatch(/always-fails|gpt-4o-mini|litellm/i);
    expect(await balance()).toBe(before);
  });
});
