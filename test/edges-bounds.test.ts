import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import { chatStreamFormat } from "../src/calls/dialects/chat-completions";
import { MAX_SSE_EVENT_CHARS, meterStream } from "../src/calls/stream/meter-stream";
import type { TeamLedger } from "../src/ledger/team-ledger";
import type { CallRecord } from "../src/ledger/types";

import {
  api,
  balance,
  callBudget,
  createJob,
  createTeam,
  expectLedgerConsistent,
  json,
  type TestTeam,
  upstreamRequests,
  userMessage,
} from "./helpers";

// Memory per request and calls per job are bounded: what a team sees past each bound.

/** Prices a mock model variant (USD per 1M tokens), so an estimated call has a cost. */
async function priceModel(model: string) {
  await json("PUT", "/api/pricing", 200, { body: { model_name: model, input_per_million_usd: 0.15, output_per_million_usd: 0.6 } });
}

/** The `data:` payloads of a whole SSE answer, in order. */
async function sseData(res: Response): Promise<string[]> {
  const text = await res.text();
  return text
    .split("\n\n")
    .filter((block) => block.startsWith("data:"))
    .map((block) => block.slice(5).trimStart());
}

function getJob(team: TestTeam, jobId: string) {
  return json("GET", `/api/jobs/${jobId}`, 200, { key: team.key });
}

describe("bounded memory per request", () => {
  it("a streamed event over 1 MiB ends the stream with an error event and [DONE], and the call is failed with what was delivered", async () => {
    const model = "gpt-4o-mini+hugeevent=2000000";
    const team = await createTeam({ models: [[model]] });
    await priceModel(model);
    const jobId = await createJob(team);
    const res = await api("POST", `/api/jobs/${jobId}/llm-call-stream`, {
      key: team.key,
      body: { model_group: team.groups[0], messages: userMessage() },
    });
    expect(res.status).toBe(200);
    const data = await sseData(res);
    expect(data.at(-1)).toBe("[DONE]");
    const error = JSON.parse(data.at(-2)!).error;
    expect(error.message).toMatch(/larger than 1 MiB/);
    const chunks = data.slice(0, -2).map((d) => JSON.parse(d));
    expect(chunks).toHaveLength(1); // the first chunk; nothing of the huge one, no usage chunk
    const delivered: string = chunks[0].choices[0].delta.content;
    expect(data.join("").length).toBeLessThan(10_000);

    const call = (await getJob(team, jobId)).calls[0];
    expect(call).toMatchObject({ status: "failed", stream: true, usage_estimated: true });
    expect(call.error).toMatch(/larger than 1 MiB/);
    expect(call.completion_tokens).toBe(Math.ceil(delivered.length / 4));
    expect(call.prompt_tokens).toBeGreaterThan(0);
    expect(call.cost_usd).toBeGreaterThan(0);
    await expectLedgerConsistent(team);
  });

  it("a non-streamed answer over 16 MiB is a 502 with a clear detail, and the call is failed with the prompt estimated", async () => {
    const model = "gpt-4o-mini+hugebody=17000000";
    const team = await createTeam({ models: [[model]] });
    await priceModel(model);
    const jobId = await createJob(team);
    const res = await api("POST", `/api/jobs/${jobId}/llm-call`, {
      key: team.key,
      body: { model_group: team.groups[0], messages: userMessage() },
    });
    expect(res.status).toBe(502);
    const body = await res.json<any>();
    expect(body.detail).toBe(`The model group '${team.groups[0]}' answered with more than 16 MiB; the answer was not delivered`);

    const call = (await getJob(team, jobId)).calls[0];
    expect(call).toMatchObject({ status: "failed", stream: false, usage_estimated: true, completion_tokens: 0 });
    expect(call.prompt_tokens).toBeGreaterThan(0);
    expect(call.error).toMatch(/more than 16 MiB/);
    await expectLedgerConsistent(team);
  });

  it("the meter holds no more than one event's cap when the upstream never sends a line end", async () => {
    const encoder = new TextEncoder();
    const meter = meterStream({ format: chatStreamFormat({ modelGroup: "g", callId: "call-1" }), cleanMessage: (s) => s });
    const first = `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: "Hello" } }] })}\n\n`;
    let sent = 0;
    let cancelled = false;
    const endless = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode(`${first}data: "`));
      },
      pull(controller) {
        sent += 64 * 1024;
        controller.enqueue(encoder.encode("x".repeat(64 * 1024))); // an event that never ends
      },
      cancel() {
        cancelled = true;
      },
    });
    const out = await new Response(endless.pipeThrough(meter)).text();
    const events = out.split("\n\n").filter(Boolean);
    expect(events).toHaveLength(3);
    expect(events[0]).toContain("Hello");
    expect(JSON.parse(events[1].slice(6)).error.message).toMatch(/larger than 1 MiB/);
    expect(events[2]).toBe("data: [DONE]");
    expect(cancelled).toBe(true);
    expect(sent).toBeLessThanOrEqual(MAX_SSE_EVENT_CHARS + 64 * 1024);
    expect(await meter.outcome).toMatchObject({ status: "failed", deliveredChars: 5 });
  });
});

/** Records `count` calls in a job directly inside the team's object (admitted, then recorded), as fast as SQLite allows. */
async function recordCalls(team: TestTeam, jobId: string, count: number) {
  const stub = env.TEAM_LEDGER.getByName(team.teamId);
  await runInDurableObject(stub, async (ledger: TeamLedger) => {
    for (let i = 0; i < count; i++) {
      const callId = crypto.randomUUID();
      const admitted = await ledger.beginCall({ kind: "admin" }, jobId, team.groups[0], "team", callBudget(callId));
      if (!admitted.ok) throw new Error(`call ${i} refused: ${admitted.detail}`);
      const call: CallRecord = {
        callId,
        modelGroup: team.groups[0],
        modelUsed: "gpt-4o-mini",
        attempts: [{ model: "gpt-4o-mini", outcome: "ok", status: 200, latency_ms: 10 }],
        purpose: `step ${i}`,
        status: "success",
        promptTokens: 2,
        completionTokens: 1,
        totalTokens: 3,
        providerCostNano: 1_000,
        costSource: "litellm",
        usageEstimated: false,
        latencyMs: 10,
        error: null,
        stream: false,
      };
      const recorded = await ledger.recordCall(jobId, call);
      if (!recorded.ok) throw new Error(`call ${i} not recorded: ${recorded.detail}`);
    }
  });
}

describe("bounded jobs", () => {
  it("a job with 15,000 calls completes, is charged once, and its calls come in pages", async () => {
    const team = await createTeam({ credits: 5 });
    const jobId = await createJob(team);
    await recordCalls(team, jobId, 15_000);

    const done = await json("POST", `/api/jobs/${jobId}/complete`, 200, { key: team.key, body: { status: "completed" } });
    expect(done.costs).toMatchObject({ total_calls: 15_000, successful_calls: 15_000, total_tokens: 45_000, credit_applied: true });
    expect(done.calls).toHaveLength(100);
    expect(done.calls[0].purpose).toBe("step 0");
    expect(done.calls_has_more).toBe(true);
    const again = await json("POST", `/api/jobs/${jobId}/complete`, 200, { key: team.key, body: { status: "completed" } });
    expect(again).toEqual(done);
    const b = await expectLedgerConsistent(team);
    expect([b.credits_used, b.credits_reserved]).toEqual([1, 0]);

    const first = await json("GET", `/api/jobs/${jobId}`, 200, { key: team.key });
    expect(first.calls).toHaveLength(100);
    expect(first).toMatchObject({ calls_limit: 100, calls_offset: 0, calls_has_more: true });
    expect(first.costs.total_calls).toBe(15_000);
    const last = await json("GET", `/api/jobs/${jobId}?calls_limit=1000&calls_offset=14500`, 200, { key: team.key });
    expect(last.calls).toHaveLength(500);
    expect(last.calls[0].purpose).toBe("step 14500");
    expect(last.calls.at(-1).purpose).toBe("step 14999");
    expect(last).toMatchObject({ calls_limit: 1000, calls_offset: 14_500, calls_has_more: false });
    const tooMany = await json("GET", `/api/jobs/${jobId}?calls_limit=1001`, 422, { key: team.key });
    expect(tooMany.detail[0]).toMatchObject({ loc: ["query", "calls_limit"], msg: "field 'calls_limit' must be at most 1000" });
  });

  it("a job takes at most 20,000 calls: the next one is refused with 409 before reaching LiteLLM", async () => {
    const team = await createTeam({ credits: 5 });
    const jobId = await createJob(team);
    await recordCalls(team, jobId, 20_000);
    const refused = await api("POST", `/api/jobs/${jobId}/llm-call`, {
      key: team.key,
      body: { model_group: team.groups[0], messages: userMessage() },
    });
    expect(refused.status).toBe(409);
    expect(await refused.json()).toEqual({
      detail: `Job '${jobId}' already has 20000 calls, the most one job can hold; open a new job for more calls`,
    });
    expect(await upstreamRequests(inject("mockLiteLLMUrl"), team.teamId)).toHaveLength(0);
    const done = await json("POST", `/api/jobs/${jobId}/complete`, 200, { key: team.key, body: { status: "completed" } });
    expect(done.costs.total_calls).toBe(20_000);
    expect((await balance(team)).credits_used).toBe(1);
  });
});
