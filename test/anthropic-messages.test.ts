import { exports } from "cloudflare:workers";
import Anthropic from "@anthropic-ai/sdk";
import { describe, expect, inject, it } from "vitest";
import {
  api,
  balance,
  createJob,
  createTeam,
  eventually,
  expectLedgerConsistent,
  json,
  sseEventsOf,
  type TestTeam,
  withoutText,
} from "./helpers";

// POST /v1/messages driven by the official Anthropic SDK with only its base URL and key changed:
// Anthropic's Messages API on the one call pipeline, with its stream events, its error shape and
// the status codes its SDK maps to its own error classes.

const gatewayFetch = (url: RequestInfo | URL, init?: RequestInit) => exports.default.fetch(new Request(url, init));

function anthropic(key: string, how: "apiKey" | "authToken" = "apiKey") {
  return new Anthropic({ baseURL: "http://gateway.test", [how]: key, fetch: gatewayFetch as typeof fetch, maxRetries: 0 });
}

async function jobOf(team: TestTeam, jobId: string) {
  return json("GET", `/api/jobs/${jobId}`, 200, { key: team.key });
}

/** What the mock LiteLLM was sent on /v1/messages for this team (Anthropic's end-user field carries the team). */
async function upstreamMessages(teamId: string): Promise<any[]> {
  const res = await fetch(`${inject("mockLiteLLMUrl")}/__mock/requests`);
  const { requests } = (await res.json()) as { requests: any[] };
  return requests.filter((r) => r.path === "/v1/messages" && r.body?.metadata?.user_id === teamId);
}

function expectNothingOfTheProvider(answer: unknown) {
  expect(withoutText(answer)).not.toMatch(/bGl0ZWxsbT|litellm|"cost"|gpt-4|mock-|resp_/);
}

const WEATHER_TOOL = {
  name: "get_weather",
  description: "The weather in a city",
  input_schema: { type: "object" as const, properties: { city: { type: "string" } }, required: ["city"] },
};

describe("the anthropic package against /v1/messages", () => {
  it("messages.create is a one-request job: Anthropic's message, the group as model, token usage, charged once", async () => {
    const team = await createTeam({ credits: 10 });
    const group = team.groups[0];
    const { data: message, response } = await anthropic(team.key)
      .messages.create({ model: group, max_tokens: 300, messages: [{ role: "user", content: "How do I reset my password?" }] })
      .withResponse();
    expect(message.type).toBe("message");
    expect(message.id).toMatch(/^msg_[0-9a-f-]{36}$/);
    expect(message.model).toBe(group);
    expect(message.role).toBe("assistant");
    expect(message.stop_reason).toBe("end_turn");
    expect(message.content).toHaveLength(1);
    expect(message.content[0].type).toBe("text");
    expect(Object.keys(message.usage).sort()).toEqual([
      "cache_creation_input_tokens",
      "cache_read_input_tokens",
      "input_tokens",
      "output_tokens",
    ]);
    expectNothingOfTheProvider(message);

    const jobId = response.headers.get("x-job-id")!;
    const job = await jobOf(team, jobId);
    expect(job.status).toBe("completed");
    expect(job.calls[0]).toMatchObject({
      prompt_tokens: message.usage.input_tokens,
      completion_tokens: message.usage.output_tokens,
      usage_estimated: false,
      stream: false,
    });
    const usd = message.usage.input_tokens * 0.00000015 + message.usage.output_tokens * 0.0000006;
    expect(job.calls[0].cost_usd).toBeCloseTo(usd, 12);
    expect((await balance(team)).credits_remaining).toBe(9);

    const [sent] = await upstreamMessages(team.teamId);
    expect(sent.body).toMatchObject({ model: "gpt-4o-mini", max_tokens: 300, metadata: { user_id: team.teamId } });
    // The SDK's anthropic-version, passed on.
    expect(sent.headers["anthropic-version"]).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(sent.body.litellm_metadata).toMatchObject({ team_id: team.teamId, job_id: jobId });
    await expectLedgerConsistent(team);
  });

  it("takes the key as Authorization: Bearer too (the SDK's authToken)", async () => {
    const team = await createTeam({ credits: 10 });
    const message = await anthropic(team.key, "authToken").messages.create({
      model: team.groups[0],
      max_tokens: 50,
      messages: [{ role: "user", content: "Hi" }],
    });
    expect(message.content[0].type).toBe("text");
  });

  it("messages.stream gives the same text and usage as the plain call, and the call is metered as the plain one", async () => {
    const team = await createTeam({ credits: 10 });
    const request = { model: team.groups[0], max_tokens: 300, messages: [{ role: "user" as const, content: "Summarise the ticket" }] };
    const plain = await anthropic(team.key).messages.create(request);

    const stream = anthropic(team.key).messages.stream(request);
    const types: string[] = [];
    stream.on("streamEvent", (event) => types.push(event.type));
    const final = await stream.finalMessage();
    expect(types[0]).toBe("message_start");
    expect(types.at(-1)).toBe("message_stop");
    expect(types.filter((t) => t === "content_block_delta").length).toBeGreaterThan(1);
    expect(final.id).toMatch(/^msg_[0-9a-f-]{36}$/);
    expect(final.model).toBe(team.groups[0]);
    expect(final.content).toEqual(plain.content);
    expect(final.usage.input_tokens).toBe(plain.usage.input_tokens);
    expect(final.usage.output_tokens).toBe(plain.usage.output_tokens);
    expect(final.stop_reason).toBe("end_turn");

    const listing = await json("GET", `/api/teams/${team.teamId}/jobs?limit=10`, 200, { key: team.key });
    const calls = (await Promise.all(listing.jobs.map((j: any) => jobOf(team, j.job_id)))).flatMap((j: any) => j.calls);
    const streamed = calls.find((c: any) => c.stream);
    const unstreamed = calls.find((c: any) => !c.stream);
    expect(streamed).toMatchObject({
      prompt_tokens: unstreamed.prompt_tokens,
      completion_tokens: unstreamed.completion_tokens,
      usage_estimated: false,
    });
    expect((await balance(team)).credits_remaining).toBe(8);
    await expectLedgerConsistent(team);
  });

  it("the raw stream is named events from message_start to message_stop, with token-only usage and nothing of the provider", async () => {
    const team = await createTeam({ credits: 10 });
    const res = await api("POST", "/v1/messages", {
      key: null,
      headers: { "x-api-key": team.key, "anthropic-version": "2023-06-01" },
      body: { model: team.groups[0], max_tokens: 100, stream: true, messages: [{ role: "user", content: "Hi" }] },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const events = await sseEventsOf(res);
    expect(events.every((e) => e.event !== null && JSON.parse(e.data).type === e.event)).toBe(true);
    expect(events.map((e) => e.event)).toEqual([
      "message_start",
      "content_block_start",
      ...events.filter((e) => e.event === "content_block_delta").map(() => "content_block_delta"),
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    const delta = JSON.parse(events.at(-2)!.data);
    expect(Object.keys(delta.usage).sort()).toEqual(["input_tokens", "output_tokens"]);
    expectNothingOfTheProvider(events.map((e) => JSON.parse(e.data)));
  });

  it("tool use comes back as Anthropic's tool_use block, plain and streamed", async () => {
    const team = await createTeam({ credits: 10 });
    const request = {
      model: team.groups[0],
      max_tokens: 200,
      tools: [WEATHER_TOOL],
      messages: [{ role: "user" as const, content: "Weather in Paris?" }],
    };
    const plain = await anthropic(team.key).messages.create(request);
    expect(plain.stop_reason).toBe("tool_use");
    expect(plain.content[0]).toMatchObject({ type: "tool_use", name: "get_weather", input: { city: "mock value" } });
    const final = await anthropic(team.key).messages.stream(request).finalMessage();
    expect(final.content[0]).toMatchObject({ type: "tool_use", name: "get_weather", input: { city: "mock value" } });
  });

  it("with X-Job-Id, calls go into the team's own job and are charged once at its completion", async () => {
    const team = await createTeam({ credits: 10 });
    const jobId = await createJob(team, "agent");
    for (const content of ["step one", "step two"]) {
      await anthropic(team.key).messages.create(
        { model: team.groups[0], max_tokens: 50, messages: [{ role: "user", content }] },
        { headers: { "X-Job-Id": jobId } },
      );
    }
    const summary = await json("POST", `/api/jobs/${jobId}/complete`, 200, { key: team.key, body: { status: "completed" } });
    expect(summary.costs.total_calls).toBe(2);
    expect((await balance(team)).credits_remaining).toBe(9);
  });

  it("without max_tokens LiteLLM is sent 4096 (what the hold counts), or under a hard budget the gateway's choice", async () => {
    const team = await createTeam({ credits: 10 });
    const res = await api("POST", "/v1/messages", {
      key: team.key,
      body: { model: team.groups[0], messages: [{ role: "user", content: "Hi" }] },
    });
    expect(res.status).toBe(200);
    expect((await upstreamMessages(team.teamId))[0].body.max_tokens).toBe(4096);

    const held = await createTeam({ credits: 2, extra: { budget_mode: "consumption_tokens", tokens_per_credit: 1000, overdraft: "none" } });
    const heldRes = await api("POST", "/v1/messages", {
      key: held.key,
      body: { model: held.groups[0], messages: [{ role: "user", content: "Hi" }] },
    });
    expect(heldRes.status).toBe(200);
    const chosen = Number(heldRes.headers.get("x-budget-max-tokens"));
    expect(chosen).toBeGreaterThan(0);
    expect(chosen).toBeLessThan(2000);
    expect((await upstreamMessages(held.teamId))[0].body.max_tokens).toBe(chosen);
    await expectLedgerConsistent(held);
  });

  it("errors raise the SDK's own classes: 401, 402, 404, 429, 422, and an anthropic-version that is not a version date is 400", async () => {
    const team = await createTeam({ credits: 0 });
    const request = { model: team.groups[0], max_tokens: 50, messages: [{ role: "user" as const, content: "Hi" }] };

    const unauthorized = await anthropic("sk-not-a-key")
      .messages.create(request)
      .catch((e) => e);
    expect(unauthorized).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(unauthorized.error).toMatchObject({ type: "error", error: { type: "authentication_error" } });

    const broke = await anthropic(team.key)
      .messages.create(request)
      .catch((e) => e);
    expect(broke).toBeInstanceOf(Anthropic.PaymentRequiredError);
    expect(broke.status).toBe(402);
    expect(broke.error.error.type).toBe("billing_error");

    const unknown = await anthropic(team.key)
      .messages.create({ ...request, model: "no-such-group" })
      .catch((e) => e);
    expect(unknown).toBeInstanceOf(Anthropic.NotFoundError);
    expect(unknown.error.error.type).toBe("not_found_error");

    const paused = await createTeam();
    await json("PUT", `/api/teams/${paused.teamId}/pause`, 200);
    const limited = await anthropic(paused.key)
      .messages.stream({ ...request, model: paused.groups[0] })
      .finalMessage()
      .catch((e) => e);
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
    expect(limited.headers.get("retry-after")).toMatch(/^\d+$/);

    const invalid = await anthropic(paused.key)
      .messages.create({ ...request, messages: [] })
      .catch((e) => e);
    expect(invalid).toBeInstanceOf(Anthropic.UnprocessableEntityError);
    expect(invalid.error.error).toMatchObject({ type: "invalid_request_error", message: expect.stringMatching(/^messages: /) });

    const res = await api("POST", "/v1/messages", {
      key: null,
      headers: { "x-api-key": paused.key, "anthropic-version": "latest" },
      body: request,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ type: "error", error: { type: "invalid_request_error", message: /anthropic-version/ } });
  });

  it("an upstream failure mid-stream raises in the SDK and leaves a failed call, its job closed uncharged", async () => {
    const team = await createTeam({ credits: 5, models: [["gpt-4o-mini+fail=midstream+chunks=6"]] });
    const stream = anthropic(team.key).messages.stream({
      model: team.groups[0],
      max_tokens: 100,
      messages: [{ role: "user", content: "Hi" }],
    });
    const error = await stream.finalMessage().catch((e) => e);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect(error.message).toMatch(/failed mid-stream/);
    const jobs = await eventually(async () => {
      const listing = await json("GET", `/api/teams/${team.teamId}/jobs?status=failed`, 200, { key: team.key });
      return listing.jobs.length === 1 && listing.jobs;
    });
    const job = await jobOf(team, jobs[0].job_id);
    expect(job.calls[0]).toMatchObject({ status: "failed", error: "The model failed mid-stream", stream: true });
    expect((await balance(team)).credits_remaining).toBe(5);
    await expectLedgerConsistent(team);
  });

  it("models.list answers Anthropic's list shape; the OpenAI SDK's request gets OpenAI's", async () => {
    const team = await createTeam({ models: [["gpt-4o-mini"], ["gpt-4"]] });
    const page = await anthropic(team.key).models.list();
    expect(page.data.map((model) => model.id).sort()).toEqual([...team.groups].sort());
    expect(page.data.every((model) => model.type === "model" && model.display_name === model.id)).toBe(true);
    expect(page.has_more).toBe(false);
    const openAIShape = await json("GET", "/v1/models", 200, { key: team.key });
    expect(openAIShape.object).toBe("list");
  });
});
