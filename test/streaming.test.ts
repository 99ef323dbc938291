import { describe, expect, it } from "vitest";
import { chatStreamFormat } from "../src/calls/dialects/chat-completions";
import { meterStream, type StreamOutcome } from "../src/calls/stream/meter-stream";
import { api, balance, createJob, createTeam, expectLedgerConsistent, json, parseSseBlock, type TestTeam, userMessage } from "./helpers";

interface SseEvent {
  event: string | null;
  data: string;
  /** ms since the request was sent */
  at: number;
}

/** Reads a response's SSE events one by one, as they arrive. */
async function* sseEvents(res: Response, sentAt: number): AsyncGenerator<SseEvent> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        yield { ...parseSseBlock(block), at: Date.now() - sentAt };
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

async function collect(res: Response, sentAt: number): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  for await (const e of sseEvents(res, sentAt)) events.push(e);
  return events;
}

function streamCall(team: TestTeam, jobId: string, group = team.groups[0], extra: Record<string, unknown> = {}) {
  return api("POST", `/api/jobs/${jobId}/llm-call-stream`, {
    key: team.key,
    body: { model_group: group, messages: userMessage(), ...extra },
  });
}

function chunksOf(events: SseEvent[]): any[] {
  return events.filter((e) => e.event === null && e.data !== "[DONE]").map((e) => JSON.parse(e.data));
}

function contentOf(chunks: any[]): string {
  return chunks.map((c) => c.choices?.[0]?.delta?.content ?? "").join("");
}

function getJob(team: TestTeam, jobId: string) {
  return json("GET", `/api/jobs/${jobId}`, 200, { key: team.key });
}

/** Polls until `check` returns a value: for work the gateway finishes after the response (waitUntil). */
async function eventually<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Prices gpt-4o-mini's mock variants as LiteLLM does (USD per 1M tokens), for calls whose usage is estimated. */
async function priceModel(model: string) {
  await json("PUT", "/api/pricing", 200, { body: { model_name: model, input_per_million_usd: 0.15, output_per_million_usd: 0.6 } });
}

function expectClose(actual: number, expected: number, relative = 0.001) {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(Math.abs(expected) * relative);
}

describe("llm-call-stream passes the upstream through as it arrives", () => {
  it("delivers the first chunk while the mock still holds back the rest, every data line is a chunk, and it ends with [DONE]", async () => {
    const team = await createTeam({ models: [["gpt-4o-mini+delay=300+chunks=5"]] });
    const jobId = await createJob(team);
    const sentAt = Date.now();
    const res = await streamCall(team, jobId);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    expect(res.headers.get("x-accel-buffering")).toBe("no");
    expect(res.headers.get("x-request-id")).toBeTruthy();
    expect(res.headers.get("x-litellm-model-id")).toBeNull();

    const events = await collect(res, sentAt);
    const contentEvents = events.filter((e) => e.data.includes('"content"'));
    expect(contentEvents).toHaveLength(5);
    // Four 300 ms pauses separate the first content chunk from the last: a buffering gateway
    // would hand them over together.
    expect(contentEvents[4].at - contentEvents[0].at).toBeGreaterThanOrEqual(1_000);
    expect(events.at(-1)!.data).toBe("[DONE]");
    expect(events.filter((e) => e.data === "[DONE]")).toHaveLength(1);
    for (const chunk of chunksOf(events)) {
      expect(chunk.object).toBe("chat.completion.chunk");
      expect(Array.isArray(chunk.choices)).toBe(true);
      expect(chunk.model, "the model that served stays hidden").toBe(team.groups[0]);
    }
    const usageChunk = chunksOf(events).find((c) => c.usage);
    expect(usageChunk.usage.total_tokens).toBeGreaterThan(0);

    // Recorded before [DONE] was sent: no polling needed.
    const job = await getJob(team, jobId);
    expect(job.calls).toHaveLength(1);
    expect(job.calls[0]).toMatchObject({
      status: "success",
      stream: true,
      usage_estimated: false,
      total_tokens: usageChunk.usage.total_tokens,
    });
    expect(job.calls[0].latency_ms).toBeGreaterThanOrEqual(1_000);
  });

  it("records the same tokens and cost as the same call made without streaming", async () => {
    for (const model of ["gpt-4o-mini", "gpt-4o-mini+usagechoices=empty"]) {
      const team = await createTeam({ models: [[model]] });
      const jobId = await createJob(team);
      const plain = await json("POST", `/api/jobs/${jobId}/llm-call`, 200, {
        key: team.key,
        body: { model_group: team.groups[0], messages: userMessage() },
      });
      const events = await collect(await streamCall(team, jobId), Date.now());
      expect(contentOf(chunksOf(events))).toBe(plain.response.content);

      const job = await getJob(team, jobId);
      const [unstreamed, streamed] = job.calls;
      expect(streamed.stream).toBe(true);
      expect(unstreamed.stream).toBe(false);
      expect(streamed.usage_estimated).toBe(false);
      expect([streamed.prompt_tokens, streamed.completion_tokens, streamed.total_tokens]).toEqual([
        unstreamed.prompt_tokens,
        unstreamed.completion_tokens,
        unstreamed.total_tokens,
      ]);
      expect(streamed.cost_usd).toBeGreaterThan(0);
      expectClose(streamed.cost_usd, unstreamed.cost_usd);
    }
  });

  it("a call streamed mid-job counts in the summary of a job completed right after [DONE] (the seed's chain with a stream)", async () => {
    const team = await createTeam({ models: [["gpt-4o-mini"], ["gpt-3.5-turbo+delay=20"]] });
    const jobId = await createJob(team, "customer_support");
    const first = await json("POST", `/api/jobs/${jobId}/llm-call`, 200, {
      key: team.key,
      body: { model_group: team.groups[0], messages: userMessage("hello"), purpose: "initial_response" },
    });
    const events = await collect(await streamCall(team, jobId, team.groups[1], { purpose: "streamed_follow_up" }), Date.now());
    const usage = chunksOf(events).find((c) => c.usage).usage;
    const done = await json("POST", `/api/jobs/${jobId}/complete`, 200, {
      key: team.key,
      body: { status: "completed", error_message: null },
    });
    expect(done.costs).toMatchObject({
      total_calls: 2,
      successful_calls: 2,
      failed_calls: 0,
      total_tokens: first.metadata.tokens_used + usage.total_tokens,
      credit_applied: true,
      credits_remaining: 99,
    });
    expect(done.calls.map((c: any) => c.purpose)).toEqual(["initial_response", "streamed_follow_up"]);
    await expectLedgerConsistent(team);
  });
});

describe("llm-call-stream when things go wrong", () => {
  it("a client that disconnects after the first chunk cancels the upstream and still leaves an aborted, estimated call", async () => {
    // hang=2: the mock sends two chunks and then waits for the client to leave.
    const team = await createTeam({ models: [["gpt-4o-mini+hang=2"]] });
    await priceModel("gpt-4o-mini+hang=2");
    const jobId = await createJob(team);
    const res = await streamCall(team, jobId);
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toContain("chat.completion.chunk");
    await reader.cancel();

    const call = await eventually(async () => (await getJob(team, jobId)).calls[0]);
    expect(call).toMatchObject({ status: "aborted", stream: true, usage_estimated: true, error: "Client disconnected mid-stream" });
    expect(call.prompt_tokens).toBeGreaterThan(0);
    expect(call.completion_tokens).toBeGreaterThan(0);
    expectClose(call.cost_usd, (call.prompt_tokens * 0.15 + call.completion_tokens * 0.6) / 1e6, 0.000_01);
    // Recorded on the disconnect, well before the 3 s stall limit would have ended it as failed.
    expect(call.latency_ms).toBeLessThan(2_500);

    const done = await json("POST", `/api/jobs/${jobId}/complete`, 200, { key: team.key, body: { status: "completed" } });
    expect(done.costs).toMatchObject({ total_calls: 1, failed_calls: 1, total_tokens: call.total_tokens, credit_applied: true });
    await expectLedgerConsistent(team);
  });

  it("an upstream failure mid-stream becomes an error event, then [DONE], and a failed call with what was delivered", async () => {
    const team = await createTeam({ models: [["gpt-4o-mini+fail=midstream+chunks=6"]] });
    await priceModel("gpt-4o-mini+fail=midstream+chunks=6");
    const jobId = await createJob(team);
    const res = await streamCall(team, jobId);
    expect(res.status).toBe(200);
    const events = await collect(res, Date.now());
    expect(events.at(-1)!.data).toBe("[DONE]");
    const errorEvent = JSON.parse(events.at(-2)!.data);
    // The team gets the gateway's words; LiteLLM's text is kept for the admin key.
    expect(errorEvent.error.message).toBe("The model failed mid-stream");
    const delivered = contentOf(chunksOf(events).filter((c) => !c.error));
    expect(delivered.length).toBeGreaterThan(0);

    const job = await getJob(team, jobId);
    expect(job.calls[0]).toMatchObject({ status: "failed", stream: true, usage_estimated: true });
    expect(job.calls[0].error).toBe("The model failed mid-stream");
    const asAdmin = await json("GET", `/api/jobs/${jobId}?team_id=${team.teamId}`, 200);
    expect(asAdmin.calls[0].upstream_error).toMatch(/APIConnectionError/);
    expect(job.calls[0].completion_tokens).toBe(Math.ceil(delivered.length / 4));
    expect(job.calls[0].cost_usd).toBeGreaterThan(0);
    await expectLedgerConsistent(team);
  });

  it("an upstream that stalls mid-stream is ended after the deadline with an error event and [DONE]", async () => {
    const team = await createTeam({ models: [["gpt-4o-mini+hang=2"]] });
    const jobId = await createJob(team);
    const events = await collect(await streamCall(team, jobId), Date.now());
    expect(events.at(-1)!.data).toBe("[DONE]");
    expect(JSON.parse(events.at(-2)!.data).error.message).toMatch(/sent nothing for 3000 ms/);
    expect((await getJob(team, jobId)).calls[0]).toMatchObject({ status: "failed", usage_estimated: true });
  });

  it("falls back to the next model before the first byte, and records one successful call", async () => {
    const team = await createTeam({ models: [["gpt-4o-mini+fail=503", "gpt-4o-mini+fail=reset", "gpt-4o-mini"]] });
    const jobId = await createJob(team);
    const events = await collect(await streamCall(team, jobId), Date.now());
    expect(events.at(-1)!.data).toBe("[DONE]");
    expect(contentOf(chunksOf(events))).toMatch(/^Mock answer from gpt-4o-mini: /);
    const job = await getJob(team, jobId);
    expect(job.calls).toHaveLength(1);
    expect(job.calls[0]).toMatchObject({ status: "success", usage_estimated: false });
  });

  it("errors before the stream starts are ordinary JSON answers", async () => {
    const team = await createTeam({ models: [["gpt-4o-mini+fail=500"], ["gpt-4o-mini+fail=400"]] });
    const jobId = await createJob(team);

    const allFailed = await streamCall(team, jobId);
    expect(allFailed.status).toBe(502);
    expect(allFailed.headers.get("content-type")).toMatch(/application\/json/);
    expect((await allFailed.json<any>()).detail).toMatch(/failed/);

    const rejected = await streamCall(team, jobId, team.groups[1]);
    expect(rejected.status).toBe(400);
    expect((await rejected.json<any>()).detail).not.toContain("gpt-4o-mini");

    const notAssigned = await streamCall(team, jobId, "some-other-group");
    expect(notAssigned.status).toBe(403);
    await notAssigned.text();

    const calls = (await getJob(team, jobId)).calls;
    expect(calls.map((c: any) => c.status)).toEqual(["failed", "failed"]);

    await json("POST", `/api/jobs/${jobId}/complete`, 200, { key: team.key, body: { status: "cancelled" } });
    const finished = await streamCall(team, jobId);
    expect(finished.status).toBe(409);
    expect(await finished.json<any>()).toHaveProperty("detail");

    const invalid = await api("POST", `/api/jobs/${jobId}/llm-call-stream`, { key: team.key, body: { messages: [] } });
    expect(invalid.status).toBe(422);
    await invalid.text();
    await expectLedgerConsistent(team);
  });
});

describe("create-and-call: one job, one call, one charge", () => {
  it("answers the call with the completed job's costs, charged exactly once, matching GET /api/jobs/{id}", async () => {
    const team = await createTeam();
    const answer = await json("POST", "/api/jobs/create-and-call", 200, {
      key: team.key,
      body: { team_id: team.teamId, job_type: "quick_answer", model_group: team.groups[0], messages: userMessage(), purpose: "one_shot" },
    });
    expect(answer.response.content.length).toBeGreaterThan(0);
    expect(answer.metadata.tokens_used).toBeGreaterThan(0);
    expect(answer.status).toBe("completed");
    expect(answer.costs).toMatchObject({
      total_calls: 1,
      successful_calls: 1,
      total_tokens: answer.metadata.tokens_used,
      credit_applied: true,
      credits_charged: 1,
      credits_remaining: 99,
    });

    const job = await getJob(team, answer.job_id);
    expect(job).toMatchObject({ status: "completed", job_type: "quick_answer", credit_applied: true, credits_charged: 1 });
    expect(job.costs).toEqual({
      total_calls: answer.costs.total_calls,
      successful_calls: answer.costs.successful_calls,
      failed_calls: answer.costs.failed_calls,
      total_tokens: answer.costs.total_tokens,
      total_cost_usd: answer.costs.total_cost_usd,
      avg_latency_ms: answer.costs.avg_latency_ms,
      cache_hits: answer.costs.cache_hits,
      cache_saved_usd: answer.costs.cache_saved_usd,
    });
    expect(job.calls[0].call_id).toBe(answer.call_id);
    const b = await expectLedgerConsistent(team);
    expect([b.credits_used, b.credits_reserved]).toEqual([1, 0]);
  });

  it("a failed call fails the job, charges nothing and tells the client the job id", async () => {
    const team = await createTeam({ models: [["gpt-4o-mini+fail=500"]] });
    const res = await api("POST", "/api/jobs/create-and-call", {
      key: team.key,
      body: { team_id: team.teamId, job_type: "quick_answer", model_group: team.groups[0], messages: userMessage() },
    });
    expect(res.status).toBe(502);
    const body = await res.json<any>();
    expect(body.detail).toMatch(/failed/);
    const job = await getJob(team, body.job_id);
    expect(job).toMatchObject({ status: "failed", credit_applied: false, credits_charged: 0 });
    const b = await expectLedgerConsistent(team);
    expect([b.credits_used, b.credits_reserved]).toEqual([0, 0]);
  });

  it("refuses another team's id and unassigned groups before creating anything", async () => {
    const team = await createTeam();
    const body = { team_id: "someone-else", job_type: "x", model_group: team.groups[0], messages: userMessage() };
    await json("POST", "/api/jobs/create-and-call", 403, { key: team.key, body });
    await json("POST", "/api/jobs/create-and-call-stream", 403, {
      key: team.key,
      body: { ...body, team_id: team.teamId, model_group: "not-ours" },
    });
    const jobs = await json("GET", `/api/teams/${team.teamId}/jobs`, 200, { key: team.key });
    expect(jobs.jobs).toHaveLength(0);
  });

  it("the stream variant sends the chunks, then a job_summary event equal to GET /api/jobs/{id}, then [DONE]", async () => {
    const team = await createTeam({ models: [["gpt-4o-mini+delay=20"]] });
    const res = await api("POST", "/api/jobs/create-and-call-stream", {
      key: team.key,
      body: { team_id: team.teamId, job_type: "streamed_answer", model_group: team.groups[0], messages: userMessage() },
    });
    expect(res.status).toBe(200);
    const jobId = res.headers.get("x-job-id")!;
    const events = await collect(res, Date.now());
    expect(events.at(-1)!.data).toBe("[DONE]");
    const summaryEvent = events.at(-2)!;
    expect(summaryEvent.event).toBe("job_summary");
    expect(events.filter((e) => e.event !== null)).toHaveLength(1);
    const summary = JSON.parse(summaryEvent.data);
    expect(summary).toMatchObject({ job_id: jobId, status: "completed" });
    const usage = chunksOf(events).find((c) => c.usage).usage;
    expect(summary.costs).toMatchObject({
      total_calls: 1,
      successful_calls: 1,
      total_tokens: usage.total_tokens,
      credit_applied: true,
      credits_charged: 1,
      credits_remaining: 99,
    });

    const job = await getJob(team, jobId);
    expect(job).toMatchObject({ status: "completed", credit_applied: true, credits_charged: 1 });
    expect(job.costs).toEqual({
      total_calls: summary.costs.total_calls,
      successful_calls: summary.costs.successful_calls,
      failed_calls: summary.costs.failed_calls,
      total_tokens: summary.costs.total_tokens,
      total_cost_usd: summary.costs.total_cost_usd,
      avg_latency_ms: summary.costs.avg_latency_ms,
      cache_hits: summary.costs.cache_hits,
      cache_saved_usd: summary.costs.cache_saved_usd,
    });
    expectClose(job.costs.total_cost_usd, job.calls[0].cost_usd, 0);
    const b = await expectLedgerConsistent(team);
    expect([b.credits_used, b.credits_reserved]).toEqual([1, 0]);
  });

  it("the stream variant with a mid-stream failure ends failed and uncharged", async () => {
    const team = await createTeam({ models: [["gpt-4o-mini+fail=midstream"]] });
    const res = await api("POST", "/api/jobs/create-and-call-stream", {
      key: team.key,
      body: { team_id: team.teamId, job_type: "streamed_answer", model_group: team.groups[0], messages: userMessage() },
    });
    const events = await collect(res, Date.now());
    expect(
      events.map((e) => e.event ?? (e.data.startsWith('{"error"') ? "error" : e.data === "[DONE]" ? "done" : "chunk")).slice(-3),
    ).toEqual(["error", "job_summary", "done"]);
    const summary = JSON.parse(events.at(-2)!.data);
    expect(summary).toMatchObject({
      status: "failed",
      costs: { total_calls: 1, failed_calls: 1, credit_applied: false, credits_charged: 0 },
    });
    expect((await getJob(team, summary.job_id)).status).toBe("failed");
    const b = await expectLedgerConsistent(team);
    expect([b.credits_used, b.credits_reserved]).toEqual([0, 0]);
  });

  it("the stream variant abandoned by its client after output is completed and charged once, in the background", async () => {
    const team = await createTeam({ models: [["gpt-4o-mini+hang=2"]] });
    const res = await api("POST", "/api/jobs/create-and-call-stream", {
      key: team.key,
      body: { team_id: team.teamId, job_type: "streamed_answer", model_group: team.groups[0], messages: userMessage() },
    });
    const jobId = res.headers.get("x-job-id")!;
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    const job = await eventually(async () => {
      const j = await getJob(team, jobId);
      return j.status === "completed" ? j : null;
    });
    expect(job).toMatchObject({ credit_applied: true, credits_charged: 1 });
    expect(job.calls[0]).toMatchObject({ status: "aborted", usage_estimated: true });
    const b = await expectLedgerConsistent(team);
    expect([b.credits_used, b.credits_reserved]).toEqual([1, 0]);
  });

  it("the stream variant whose call cannot start answers JSON with the job id, and the job is failed", async () => {
    const team = await createTeam({ models: [["gpt-4o-mini+fail=503"]] });
    const res = await api("POST", "/api/jobs/create-and-call-stream", {
      key: team.key,
      body: { team_id: team.teamId, job_type: "streamed_answer", model_group: team.groups[0], messages: userMessage() },
    });
    expect(res.status).toBe(502);
    const body = await res.json<any>();
    expect((await getJob(team, body.job_id)).status).toBe("failed");
    expect((await balance(team)).credits_used).toBe(0);
  });
});

describe("meterStream, on its own", () => {
  const encoder = new TextEncoder();

  async function meter(pieces: string[], options: { cancelAfter?: number } = {}) {
    const m = meterStream({
      format: chatStreamFormat({ modelGroup: "support-fast", callId: "call-1" }),
      cleanMessage: (s) => s.replaceAll("secret-model", "<model>"),
    });
    const source = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const p of pieces) controller.enqueue(encoder.encode(p));
        controller.close();
      },
    });
    const reader = source.pipeThrough(m).getReader();
    let out = "";
    const decoder = new TextDecoder();
    for (let i = 0; ; i++) {
      if (options.cancelAfter !== undefined && i === options.cancelAfter) {
        await reader.cancel();
        break;
      }
      const { done, value } = await reader.read();
      if (done) break;
      out += decoder.decode(value, { stream: true });
    }
    return { out, outcome: await m.outcome };
  }

  const chunk = (content: string, extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", model: "secret-model", choices: [{ index: 0, delta: { content } }], ...extra })}\n\n`;

  it("meters events split anywhere, even inside a character or a CRLF, and takes usage from the chunk that has it", async () => {
    const usage = `data: ${JSON.stringify({ object: "chat.completion.chunk", model: "secret-model", choices: [{ index: 0, delta: {} }], usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10, cost: 0.00042 } })}\r\n\r\n`;
    const whole =
      chunk("Grüß ") +
      chunk("dich", { usage: null }) +
      `data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] })}\n\n` +
      usage +
      "data: [DONE]\n\n";
    const bytes = encoder.encode(whole);
    // One byte at a time: every boundary is exercised, including inside "ü" and "\r\n".
    const { out, outcome } = await (async () => {
      const m = meterStream({ format: chatStreamFormat({ modelGroup: "support-fast", callId: "call-1" }), cleanMessage: (s) => s });
      const source = new ReadableStream<Uint8Array>({
        start(controller) {
          for (const b of bytes) controller.enqueue(new Uint8Array([b]));
          controller.close();
        },
      });
      const text = await new Response(source.pipeThrough(m)).text();
      return { out: text, outcome: await m.outcome };
    })();
    expect(outcome).toMatchObject<Partial<StreamOutcome>>({
      status: "completed",
      usage: { promptTokens: 7, completionTokens: 3, totalTokens: 10 },
      reportedCostUsd: 0.00042,
      deliveredChars: "Grüß dich".length,
      finishReason: "stop",
      error: null,
    });
    expect(out).not.toContain("secret-model");
    // Every chunk carries the group, also the one the upstream sent without a model.
    expect(out.match(/"model":"support-fast"/g)).toHaveLength(4);
    expect(out.endsWith("data: [DONE]\n\n")).toBe(true);
  });

  it("drops data lines that are not JSON, keeps comments, and still finds the usage", async () => {
    const { out, outcome } = await meter([
      chunk("a"),
      ": keep-alive\n\n",
      "this line is not an SSE field\n\n",
      'data: {"id": "chatcmpl-broken", "choices": [\n\n',
      chunk("b", { choices: [{ index: 0, delta: { content: "b" }, finish_reason: "stop" }] }),
      `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } })}\n\n`,
      "data: [DONE]\n\n",
    ]);
    expect(outcome).toMatchObject({ status: "completed", usage: { totalTokens: 3 }, reportedCostUsd: null, deliveredChars: 2 });
    expect(out).toContain(": keep-alive\n\n");
    expect(out).not.toContain("chatcmpl-broken");
    expect(out).not.toContain("not an SSE field");
  });

  it("an error event becomes the gateway's own and ends the call as failed; the upstream's text is kept cleaned; [DONE] still closes the stream", async () => {
    const { out, outcome } = await meter([chunk("partial"), 'data: {"error": {"message": "boom on secret-model", "code": "500"}}\n\n']);
    expect(outcome).toMatchObject({
      status: "failed",
      error: "The model failed mid-stream",
      upstreamError: "boom on <model>",
      deliveredChars: "partial".length,
    });
    const events = out.split("\n\n").filter(Boolean);
    expect(JSON.parse(events.at(-2)!.slice(6))).toEqual({
      error: { message: "The model failed mid-stream", type: "upstream_error", param: null, code: "500" },
    });
    expect(out).not.toContain("boom");
    expect(events.at(-1)).toBe("data: [DONE]");
  });

  it("a stream that just stops, without a finish or [DONE], is a failure", async () => {
    const { outcome } = await meter([chunk("cut")]);
    expect(outcome).toMatchObject({ status: "failed", deliveredChars: 3 });
  });

  it("a reader that cancels makes the outcome aborted, decided once", async () => {
    const { outcome } = await meter([chunk("one"), chunk("two"), chunk("three")], { cancelAfter: 1 });
    expect(outcome.status).toBe("aborted");
  });
});
