import { describe, expect, it } from "vitest";
import { api, createJob, createTeam, expectLedgerConsistent, json, llmCall, sseEventsOf, type TestTeam, userMessage } from "./helpers";

// Teams never see provider cost, markup, provider identity or upstream error text: not in a
// streamed chunk, not in a body. Admins (the admin key on the same routes) may.

function chunksOf(events: Array<{ event: string | null; data: string }>): any[] {
  return events.filter((e) => e.event === null && e.data !== "" && e.data !== "[DONE]").map((e) => JSON.parse(e.data));
}

function expectOnlyKeys(value: unknown, allowed: string[], where: string) {
  expect(value, where).toBeTypeOf("object");
  const extra = Object.keys(value as object).filter((k) => !allowed.includes(k));
  expect(extra, `${where} has keys outside OpenAI's chunk fields`).toEqual([]);
}

/** Every key of a chat.completion.chunk as the gateway sends it to a team: OpenAI's fields and nothing else. */
function expectTeamChunk(chunk: any, where: string) {
  expectOnlyKeys(chunk, ["id", "object", "created", "model", "choices", "usage"], where);
  expect(chunk.object).toBe("chat.completion.chunk");
  for (const choice of chunk.choices) {
    expectOnlyKeys(choice, ["index", "delta", "finish_reason", "logprobs"], `${where} choice`);
    expectOnlyKeys(choice.delta, ["role", "content", "tool_calls", "refusal"], `${where} delta`);
    for (const call of choice.delta.tool_calls ?? []) {
      expectOnlyKeys(call, ["index", "id", "type", "function"], `${where} tool call`);
      if (call.function) expectOnlyKeys(call.function, ["name", "arguments"], `${where} tool call function`);
    }
  }
  if (chunk.usage !== undefined && chunk.usage !== null) {
    expectOnlyKeys(chunk.usage, ["prompt_tokens", "completion_tokens", "total_tokens"], `${where} usage`);
  }
}

function streamCall(team: TestTeam, jobId: string, extra: Record<string, unknown> = {}) {
  return api("POST", `/api/jobs/${jobId}/llm-call-stream`, {
    key: team.key,
    body: { model_group: team.groups[0], messages: userMessage(), ...extra },
  });
}

const WEATHER_TOOL = {
  type: "function",
  function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } },
};

describe("streamed chunks a team receives", () => {
  it("carry only OpenAI's chunk fields: no provider cost, no fingerprint, the gateway's id for every chunk of a call", async () => {
    const team = await createTeam();
    const jobId = await createJob(team);
    for (const extra of [{}, { tools: [WEATHER_TOOL] }]) {
      const res = await streamCall(team, jobId, extra);
      expect(res.status).toBe(200);
      const callId = res.headers.get("x-call-id");
      const chunks = chunksOf(await sseEventsOf(res));
      expect(chunks.length).toBeGreaterThan(2);
      for (const [i, chunk] of chunks.entries()) expectTeamChunk(chunk, `chunk ${i}`);
      // One gateway id per call, made from the call id: the upstream's id never reaches the team.
      expect(new Set(chunks.map((c) => c.id))).toEqual(new Set([`chatcmpl-${callId}`]));
      expect(chunks.every((c) => c.model === team.groups[0])).toBe(true);
      const usage = chunks.find((c) => c.usage)?.usage;
      expect(usage, "the usage chunk is still forwarded").toBeDefined();
      expect(usage).not.toHaveProperty("cost");
      expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
    }
    const job = await json("GET", `/api/jobs/${jobId}`, 200, { key: team.key });
    expect(job.calls.map((c: any) => c.status)).toEqual(["success", "success"]);
    expect(job.calls[0].cost_usd, "the call is still metered with the provider's cost").toBeGreaterThan(0);
  });

  it("of create-and-call-stream carry only OpenAI's chunk fields, then the gateway's job_summary", async () => {
    const team = await createTeam({ extra: { cost_markup_percentage: 25 } });
    const res = await api("POST", "/api/jobs/create-and-call-stream", {
      key: team.key,
      body: { team_id: team.teamId, job_type: "streamed", model_group: team.groups[0], messages: userMessage() },
    });
    const events = await sseEventsOf(res);
    for (const [i, chunk] of chunksOf(events).entries()) expectTeamChunk(chunk, `chunk ${i}`);
    const summary = events.find((e) => e.event === "job_summary")!.data;
    expect(summary).not.toMatch(/markup|provider/i);
  });
});

describe("bodies a team reads", () => {
  it("the balance shows no markup to the team; the admin key sees it on the same route and on the team", async () => {
    const team = await createTeam({ extra: { cost_markup_percentage: 40 } });
    const path = `/api/credits/teams/${team.teamId}/balance`;
    const asTeam = await json("GET", path, 200, { key: team.key });
    expect(asTeam).not.toHaveProperty("cost_markup_percentage");
    expect(asTeam).toMatchObject({ credits_allocated: 100, credits_remaining: 100, budget_mode: "job_based" });
    expect((await json("GET", path, 200)).cost_markup_percentage).toBe(40);
    expect((await json("GET", `/api/teams/${team.teamId}`, 200)).cost_markup_percentage).toBe(40);
  });

  it("no team-facing answer of a job's life names the markup or a provider cost", async () => {
    const team = await createTeam({ extra: { cost_markup_percentage: 40 } });
    const jobId = await createJob(team);
    const bodies: string[] = [];
    const call = await llmCall(team, jobId);
    expect(call.status).toBe(200);
    bodies.push(await call.text());
    bodies.push(JSON.stringify(await json("GET", `/api/jobs/${jobId}`, 200, { key: team.key })));
    bodies.push(JSON.stringify(await json("POST", `/api/jobs/${jobId}/complete`, 200, { key: team.key, body: { status: "completed" } })));
    bodies.push(
      JSON.stringify(
        await json("POST", "/api/jobs/create-and-call", 200, {
          key: team.key,
          body: { team_id: team.teamId, job_type: "one", model_group: team.groups[0], messages: userMessage() },
        }),
      ),
    );
    bodies.push(JSON.stringify(await json("GET", `/api/teams/${team.teamId}/usage`, 200, { key: team.key })));
    bodies.push(JSON.stringify(await json("GET", `/api/credits/teams/${team.teamId}/balance`, 200, { key: team.key })));
    for (const body of bodies) expect(body).not.toMatch(/markup|provider|upstream_error|model_used/);
    await expectLedgerConsistent(team);
  });
});

describe("a call's error as the team sees it later", () => {
  it("is the gateway's message; LiteLLM's text is kept for the admin key only", async () => {
    const team = await createTeam({ models: [["gpt-4o-mini+fail=400"]] });
    const jobId = await createJob(team);
    const rejected = await llmCall(team, jobId);
    expect(rejected.status).toBe(400);
    // The immediate answer may say why (sanitized), so the client can fix its request.
    expect((await rejected.json<any>()).detail).toMatch(/^The model rejected the request \(HTTP 400\): .*context length/);

    const asTeam = await json("GET", `/api/jobs/${jobId}`, 200, { key: team.key });
    expect(asTeam.calls[0]).toMatchObject({ status: "failed", error: "The model rejected the request (HTTP 400)" });
    expect(asTeam.calls[0]).not.toHaveProperty("upstream_error");
    const asAdmin = await json("GET", `/api/jobs/${jobId}?team_id=${team.teamId}`, 200);
    expect(asAdmin.calls[0].error).toBe("The model rejected the request (HTTP 400)");
    expect(asAdmin.calls[0].upstream_error).toMatch(/ContextWindowExceededError/);

    const done = await json("POST", `/api/jobs/${jobId}/complete`, 200, { key: team.key, body: { status: "failed" } });
    expect(done.calls[0].error).toBe("The model rejected the request (HTTP 400)");
    expect(JSON.stringify(done)).not.toMatch(/litellm|ContextWindow/i);
  });

  it("of a one-request job rejected by the model is the gateway's message, in the call and in the job", async () => {
    const team = await createTeam({ models: [["gpt-4o-mini+fail=400"]] });
    const res = await api("POST", "/api/jobs/create-and-call", {
      key: team.key,
      body: { team_id: team.teamId, job_type: "one", model_group: team.groups[0], messages: userMessage() },
    });
    expect(res.status).toBe(400);
    const { job_id } = await res.json<any>();
    const job = await json("GET", `/api/jobs/${job_id}`, 200, { key: team.key });
    expect(job).toMatchObject({ status: "failed", error_message: "The model rejected the request (HTTP 400)" });
    expect(job.calls[0].error).toBe("The model rejected the request (HTTP 400)");
    expect(JSON.stringify(job)).not.toMatch(/litellm|ContextWindow/i);
  });

  it("of a stream that failed mid-way is the gateway's message, in the error event and in the job", async () => {
    const team = await createTeam({ models: [["gpt-4o-mini+fail=midstream+chunks=6"]] });
    const jobId = await createJob(team);
    const events = await sseEventsOf(await streamCall(team, jobId));
    expect(events.at(-1)!.data).toBe("[DONE]");
    const errorEvent = JSON.parse(events.at(-2)!.data);
    expect(errorEvent).toEqual({
      error: { message: "The model failed mid-stream", type: "upstream_error", param: null, code: "500" },
    });
    const asTeam = await json("GET", `/api/jobs/${jobId}`, 200, { key: team.key });
    expect(asTeam.calls[0]).toMatchObject({ status: "failed", error: "The model failed mid-stream" });
    const asAdmin = await json("GET", `/api/jobs/${jobId}?team_id=${team.teamId}`, 200);
    expect(asAdmin.calls[0].upstream_error).toMatch(/APIConnectionError/);
    await expectLedgerConsistent(team);
  });
});
