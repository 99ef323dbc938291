import { exports } from "cloudflare:workers";
import OpenAI from "openai";
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

// POST /v1/responses driven by the official `openai` package with only its base URL and key
// changed: OpenAI's Responses API on the one call pipeline (a one-request job, or X-Job-Id),
// stateless, metered from its usage, with nothing of the provider in what the team reads.

const BASE_URL = "http://gateway.test/v1";
const gatewayFetch = (url: RequestInfo | URL, init?: RequestInit) => exports.default.fetch(new Request(url, init));

function openai(key: string) {
  return new OpenAI({ baseURL: BASE_URL, apiKey: key, fetch: gatewayFetch as typeof fetch, maxRetries: 0 });
}

async function jobOf(team: TestTeam, jobId: string) {
  return json("GET", `/api/jobs/${jobId}`, 200, { key: team.key });
}

/** What the mock LiteLLM was sent for this team's calls on /responses. */
async function upstreamResponsesRequests(teamId: string): Promise<any[]> {
  const res = await fetch(`${inject("mockLiteLLMUrl")}/__mock/requests?user=${encodeURIComponent(teamId)}`);
  return ((await res.json()) as { requests: any[] }).requests.filter((r) => r.path === "/responses");
}

/** Nothing of LiteLLM or the provider outside the model's own text: not its encoded response id, not a cost, not a model name. */
function expectNothingOfTheProvider(answer: unknown) {
  expect(withoutText(answer)).not.toMatch(/bGl0ZWxsbT|litellm|"cost"|gpt-4|mock-/);
}

describe("responses.create through /v1/responses", () => {
  it("a plain response is a one-request job: OpenAI's shape, the group as model, token usage, charged once", async () => {
    const team = await createTeam({ credits: 10 });
    const group = team.groups[0];
    const { data: response, response: raw } = await openai(team.key)
      .responses.create({ model: group, input: "How do I reset my password?", max_output_tokens: 200 })
      .withResponse();
    expect(response.object).toBe("response");
    expect(response.id).toMatch(/^resp_[0-9a-f-]{36}$/);
    expect(response.model).toBe(group);
    expect(response.status).toBe("completed");
    expect(response).toMatchObject({ store: false });
    expect(response.output_text.startsWith("Mock answer from")).toBe(true);
    expect(Object.keys(response.usage!).sort()).toEqual([
      "input_tokens",
      "input_tokens_details",
      "output_tokens",
      "output_tokens_details",
      "total_tokens",
    ]);
    expectNothingOfTheProvider(response);

    const jobId = raw.headers.get("x-job-id")!;
    const job = await jobOf(team, jobId);
    expect(job.status).toBe("completed");
    expect(job.job_type).toBe("api");
    expect(job.calls).toHaveLength(1);
    expect(job.calls[0]).toMatchObject({
      prompt_tokens: response.usage!.input_tokens,
      completion_tokens: response.usage!.output_tokens,
      total_tokens: response.usage!.total_tokens,
      usage_estimated: false,
      stream: false,
    });
    // The mock's cost header: 10 prompt tokens and the answer's tokens at gpt-4o-mini's prices.
    const usd = response.usage!.input_tokens * 0.00000015 + response.usage!.output_tokens * 0.0000006;
    expect(job.calls[0].cost_usd).toBeCloseTo(usd, 12);
    expect((await balance(team)).credits_remaining).toBe(9);

    const [sent] = await upstreamResponsesRequests(team.teamId);
    expect(sent.body).toMatchObject({ model: "gpt-4o-mini", input: "How do I reset my password?", store: false, user: team.teamId });
    expect(sent.body.litellm_metadata).toMatchObject({ team_id: team.teamId, job_id: jobId, job_type: "api" });
    expect(sent.body.metadata).toBeUndefined();
    await expectLedgerConsistent(team);
  });

  it("a streamed response sends OpenAI's events, ends with response.completed and is metered as the plain one", async () => {
    const team = await createTeam({ credits: 10 });
    const group = team.groups[0];
    const request = { model: group, input: "Summarise the ticket", max_output_tokens: 200 };
    const plain = await openai(team.key).responses.create(request);

    const stream = await openai(team.key).responses.create({ ...request, stream: true });
    const events: any[] = [];
    for await (const event of stream) events.push(event);
    expect(events[0].type).toBe("response.created");
    expect(events.at(-1).type).toBe("response.completed");
    const completed = events.at(-1).response;
    expect(completed.id).toMatch(/^resp_[0-9a-f-]{36}$/);
    expect(completed.model).toBe(group);
    expect(completed.usage).toEqual(plain.usage);
    const text = events.filter((e) => e.type === "response.output_text.delta").map((e) => e.delta);
    expect(text.length).toBeGreaterThan(1);
    expect(text.join("")).toBe(plain.output_text);
    expectNothingOfTheProvider(events);

    const listing = await json("GET", `/api/teams/${team.teamId}/jobs?limit=10`, 200, { key: team.key });
    expect(listing.jobs.map((j: any) => j.status)).toEqual(["completed", "completed"]);
    const calls = (await Promise.all(listing.jobs.map((j: any) => jobOf(team, j.job_id)))).flatMap((j: any) => j.calls);
    const streamCall = calls.find((c: any) => c.stream);
    const plainCall = calls.find((c: any) => !c.stream);
    expect(streamCall).toMatchObject({ prompt_tokens: plainCall.prompt_tokens, completion_tokens: plainCall.completion_tokens });
    expect(streamCall.usage_estimated).toBe(false);
    expect(streamCall.cost_usd).toBeCloseTo(plainCall.cost_usd, 12);
    expect((await balance(team)).credits_remaining).toBe(8);
    await expectLedgerConsistent(team);
  });

  it("the stream helper's final response carries the text, and the raw stream has named events and no [DONE]", async () => {
    const team = await createTeam({ credits: 10 });
    const final = await openai(team.key)
      .responses.stream({ model: team.groups[0], input: "Write a haiku", max_output_tokens: 100 })
      .finalResponse();
    expect(final.output_text.length).toBeGreaterThan(0);
    expect(final.usage?.total_tokens).toBeGreaterThan(0);

    const res = await api("POST", "/v1/responses", {
      key: team.key,
      body: { model: team.groups[0], input: "Write a haiku", stream: true },
    });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const events = await sseEventsOf(res);
    expect(events.every((e) => e.event !== null && JSON.parse(e.data).type === e.event)).toBe(true);
    expect(events.map((e) => e.data)).not.toContain("[DONE]");
    const numbers = events.map((e) => JSON.parse(e.data).sequence_number);
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
  });

  it("with X-Job-Id, calls go into the team's own job and are charged once at its completion", async () => {
    const team = await createTeam({ credits: 10 });
    const jobId = await createJob(team, "agent");
    for (const input of ["step one", "step two"]) {
      await openai(team.key).responses.create({ model: team.groups[0], input }, { headers: { "X-Job-Id": jobId } });
    }
    const summary = await json("POST", `/api/jobs/${jobId}/complete`, 200, { key: team.key, body: { status: "completed" } });
    expect(summary.costs.total_calls).toBe(2);
    expect(summary.costs.credit_applied).toBe(true);
    expect((await balance(team)).credits_remaining).toBe(9);
    await expectLedgerConsistent(team);
  });

  it("is stateless: previous_response_id, store: true, conversation and background are 400 and reach nothing", async () => {
    const team = await createTeam({ credits: 10 });
    const client = openai(team.key);
    const refusals = [{ previous_response_id: "resp_abc" }, { store: true }, { conversation: "conv_123" }, { background: true }];
    for (const extra of refusals) {
      const error = await client.responses.create({ model: team.groups[0], input: "Hi", ...extra } as any).catch((e) => e);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect(error.message).toMatch(/stateless/);
    }
    const explicit = await client.responses.create({ model: team.groups[0], input: "Hi", store: false });
    expect(explicit).toMatchObject({ store: false });
    expect(await upstreamResponsesRequests(team.teamId)).toHaveLength(1);
    expect((await balance(team)).credits_remaining).toBe(9);
  });

  it("max_output_tokens below OpenAI's minimum of 16 is refused (422) before anything is held", async () => {
    const team = await createTeam();
    const error = await openai(team.key)
      .responses.create({ model: team.groups[0], input: "Hi", max_output_tokens: 5 })
      .catch((e) => e);
    expect(error.status).toBe(422);
    expect(error.param).toBe("max_output_tokens");
  });

  it("a held response without max_output_tokens gets the largest the credits pay for, sent upstream", async () => {
    const team = await createTeam({ credits: 2, extra: { budget_mode: "consumption_tokens", tokens_per_credit: 1000, overdraft: "none" } });
    const { response } = await openai(team.key).responses.create({ model: team.groups[0], input: "Hi" }).withResponse();
    const chosen = Number(response.headers.get("x-budget-max-tokens"));
    expect(chosen).toBeGreaterThanOrEqual(16);
    expect(chosen).toBeLessThan(2000);
    const [sent] = await upstreamResponsesRequests(team.teamId);
    expect(sent.body.max_output_tokens).toBe(chosen);
    expect(await balance(team)).toMatchObject({ credits_held: 0 });
    await expectLedgerConsistent(team);
  });

  it("errors raise the SDK's own classes: 401, 402, 404 model_not_found, 429 with Retry-After", async () => {
    const team = await createTeam({ credits: 0 });
    const request = { model: team.groups[0], input: "Hi" };
    const unauthorized = await openai("sk-not-a-key")
      .responses.create(request)
      .catch((e) => e);
    expect(unauthorized).toBeInstanceOf(OpenAI.AuthenticationError);

    const broke = await openai(team.key)
      .responses.create(request)
      .catch((e) => e);
    expect(broke).toBeInstanceOf(OpenAI.APIError);
    expect(broke.status).toBe(402);
    expect(broke.code).toBe("insufficient_quota");

    const unknown = await openai(team.key)
      .responses.create({ ...request, model: "no-such-group" })
      .catch((e) => e);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect(unknown.code).toBe("model_not_found");

    const paused = await createTeam();
    await json("PUT", `/api/teams/${paused.teamId}/pause`, 200);
    const limited = await openai(paused.key)
      .responses.create({ model: paused.groups[0], input: "Hi", stream: true })
      .catch((e) => e);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect(limited.headers.get("retry-after")).toMatch(/^\d+$/);
  });

  it("falls back to the group's next model when the first fails, before anything is sent", async () => {
    const team = await createTeam({ models: [["gpt-4o-mini+fail=500", "gpt-4"]] });
    const response = await openai(team.key).responses.create({ model: team.groups[0], input: "Hi", stream: false });
    expect(response.output_text).toMatch(/^Mock answer from gpt-4:/);
    expect(response.model).toBe(team.groups[0]);
  });

  it("an upstream failure mid-stream raises in the SDK and leaves a failed call, its job closed uncharged", async () => {
    const team = await createTeam({ credits: 5, models: [["gpt-4o-mini+fail=midstream+chunks=6"]] });
    const { data: stream, response } = await openai(team.key)
      .responses.create({ model: team.groups[0], input: "Hi", stream: true })
      .withResponse();
    const seen: string[] = [];
    const error = await (async () => {
      for await (const event of stream) seen.push(event.type);
    })().catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error.message).toMatch(/failed mid-stream/);
    expect(seen).toContain("response.output_text.delta");
    expect(seen).not.toContain("response.completed");
    const job = await eventually(async () => {
      const j = await jobOf(team, response.headers.get("x-job-id")!);
      return j.status === "failed" && j;
    });
    expect(job.calls[0]).toMatchObject({ status: "failed", error: "The model failed mid-stream", stream: true });
    expect((await balance(team)).credits_remaining).toBe(5);
    await expectLedgerConsistent(team);
  });
});
