import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import worker from "../src/index";
import {
  balance,
  createJob,
  createTeam,
  expectLedgerConsistent,
  expectNoModelNames,
  jobView,
  json,
  llmCall,
  type TestTeam,
  upstreamRequests,
  userMessage,
} from "./helpers";

// Every way the mock LiteLLM can fail a non-streamed call: the client gets the status SPEC §6
// names (fallback on 429, 5xx, timeout, connection failure; 502, or 504 for timeouts, when the
// whole group fails), the call is recorded on the job, and the money stays consistent.

const mockUrl = inject("mockLiteLLMUrl");

/** Completes the job as `completed` and checks it was charged its one credit, exactly once. */
async function completeAndCheck(team: TestTeam, jobId: string, expected: { successful: number; failed: number }) {
  const before = await balance(team);
  const done = await json("POST", `/api/jobs/${jobId}/complete`, 200, { key: team.key, body: { status: "completed" } });
  expect(done.costs).toMatchObject({
    total_calls: expected.successful + expected.failed,
    successful_calls: expected.successful,
    failed_calls: expected.failed,
    credit_applied: true,
    credits_charged: 1,
    credits_remaining: before.credits_remaining - 1,
  });
  const again = await json("POST", `/api/jobs/${jobId}/complete`, 200, { key: team.key, body: { status: "completed" } });
  expect(again.costs.credits_remaining).toBe(done.costs.credits_remaining);
  const after = await expectLedgerConsistent(team);
  expect(after.credits_reserved).toBe(0);
  expect(after.credits_remaining).toBe(before.credits_remaining - 1);
}

// Faults the next model may not have: each is followed by a fallback.
const RETRYABLE = [
  { fault: "500", what: "a 500" },
  { fault: "503", what: "a 503" },
  { fault: "429", what: "a 429 rate limit" },
  { fault: "408", what: "a 408 timeout" },
  { fault: "reset", what: "a connection reset" },
  { fault: "html", what: "an HTML error page (502 from a load balancer)" },
  { fault: "midstream", what: "a 500 (what `midstream` is without a stream)" },
] as const;

describe("the primary fails, the next model answers", () => {
  for (const { fault, what } of RETRYABLE) {
    it(`${what}: 200 from the fallback, recorded as one successful call`, async () => {
      const team = await createTeam({ credits: 5, models: [[`gpt-4o-mini+fail=${fault}`, "gpt-3.5-turbo"]] });
      const jobId = await createJob(team);
      const res = await llmCall(team, jobId);
      const text = await res.text();
      expect(res.status, text).toBe(200);
      const call = JSON.parse(text);
      expect(call.response.content).toMatch(/^Mock answer from gpt-3\.5-turbo: /);
      expect((await upstreamRequests(mockUrl, team.teamId)).map((r) => r.body.model)).toEqual([
        `gpt-4o-mini+fail=${fault}`,
        "gpt-3.5-turbo",
      ]);

      const { job, text: jobText } = await jobView(team, jobId);
      expect(job.status).toBe("in_progress");
      expect(job.calls).toHaveLength(1);
      expect(job.calls[0]).toMatchObject({
        call_id: call.call_id,
        status: "success",
        error: null,
        total_tokens: call.metadata.tokens_used,
      });
      expectNoModelNames(jobText);
      await completeAndCheck(team, jobId, { successful: 1, failed: 0 });
    });
  }

  it("a primary that never answers (deadline) falls back, and the deadline bounds the wait", async () => {
    const team = await createTeam({ credits: 5, models: [["gpt-4o-mini+fail=timeout", "gpt-3.5-turbo"]] });
    const jobId = await createJob(team);
    const started = Date.now();
    const res = await llmCall(team, jobId);
    const elapsed = Date.now() - started;
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(JSON.parse(text).response.content).toMatch(/^Mock answer from gpt-3\.5-turbo: /);
    // LITELLM_TIMEOUT_MS is 3000 in the tests: the fallback is asked 3 s after the primary (a
    // little over, for the timer and the next request), and the call ends soon after.
    const [primary, fallback] = await upstreamRequests(mockUrl, team.teamId);
    expect([primary.body.model, fallback.body.model]).toEqual(["gpt-4o-mini+fail=timeout", "gpt-3.5-turbo"]);
    const gap = Date.parse(fallback.received_at) - Date.parse(primary.received_at);
    expect(gap).toBeGreaterThanOrEqual(2_950);
    expect(gap).toBeLessThan(3_750);
    expect(elapsed).toBeGreaterThanOrEqual(3_000);
    expect(elapsed).toBeLessThan(4_500);
    const { job } = await jobView(team, jobId);
    expect(job.calls.map((c: any) => c.status)).toEqual(["success"]);
    await completeAndCheck(team, jobId, { successful: 1, failed: 0 });
  });
});

describe("every model in the group fails", () => {
  const ALL_FAIL = [
    { models: ["gpt-4o-mini+fail=500", "gpt-3.5-turbo+fail=500"], status: 502 },
    { models: ["gpt-4o-mini+fail=429", "gpt-3.5-turbo+fail=429"], status: 502 },
    { models: ["gpt-4o-mini+fail=reset", "gpt-3.5-turbo+fail=reset"], status: 502 },
    { models: ["gpt-4o-mini+fail=html", "gpt-3.5-turbo+fail=html"], status: 502 },
    { models: ["gpt-4o-mini+fail=500", "gpt-3.5-turbo+fail=reset", "gpt-4+fail=html"], status: 502 },
    // LiteLLM's 408 is its provider timing out: an upstream timeout, like our own deadline.
    { models: ["gpt-4o-mini+fail=408", "gpt-3.5-turbo+fail=408"], status: 504 },
    { models: ["gpt-4o-mini+fail=408", "gpt-3.5-turbo+fail=timeout"], status: 504 },
    { models: ["gpt-4o-mini+fail=timeout", "gpt-3.5-turbo+fail=timeout"], status: 504 },
    // A timeout and an outage: not a timeout overall, the group failed.
    { models: ["gpt-4o-mini+fail=timeout", "gpt-3.5-turbo+fail=503"], status: 502 },
  ];
  for (const { models, status } of ALL_FAIL) {
    it(`${models.join(" → ")}: ${status}, every model tried, one failed call recorded, nothing charged for it`, async () => {
      const team = await createTeam({ credits: 5, models: [models] });
      const jobId = await createJob(team);
      const res = await llmCall(team, jobId, team.groups[0], { purpose: "doomed" });
      const text = await res.text();
      expect(res.status, text).toBe(status);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      const body = JSON.parse(text);
      expect(Object.keys(body)).toEqual(["detail"]);
      expect(typeof body.detail).toBe("string");
      expect(body.detail).toContain(team.groups[0]);
      expectNoModelNames(text);
      expect((await upstreamRequests(mockUrl, team.teamId)).map((r) => r.body.model)).toEqual(models);

      const { job, text: jobText } = await jobView(team, jobId);
      expect(job.calls).toHaveLength(1);
      expect(job.calls[0]).toMatchObject({ purpose: "doomed", status: "failed", total_tokens: 0, cost_usd: 0 });
      expect(typeof job.calls[0].error).toBe("string");
      expectNoModelNames(jobText);
      expect((await balance(team)).credits_reserved).toBe(1);
      // The job is still usable after the failure: a completed job is charged its one credit, once.
      await completeAndCheck(team, jobId, { successful: 0, failed: 1 });
    });
  }
});

describe("answers that are not usable", () => {
  it("a 200 whose body is not JSON is 502, recorded as a failed call (the model answered, so no fallback)", async () => {
    const team = await createTeam({ credits: 5, models: [["gpt-4o-mini+fail=badjson", "gpt-3.5-turbo"]] });
    const jobId = await createJob(team);
    const res = await llmCall(team, jobId);
    const text = await res.text();
    expect(res.status, text).toBe(502);
    expect(JSON.parse(text).detail).toMatch(/invalid response/);
    expectNoModelNames(text);
    expect((await upstreamRequests(mockUrl, team.teamId)).map((r) => r.body.model)).toEqual(["gpt-4o-mini+fail=badjson"]);
    const { job } = await jobView(team, jobId);
    expect(job.calls).toMatchObject([{ status: "failed", total_tokens: 0, error: expect.stringMatching(/invalid response/) }]);
    await completeAndCheck(team, jobId, { successful: 0, failed: 1 });
  });

  it("an upstream 401 (the gateway's LiteLLM key refused) is 502 naming the operator's problem, never the key", async () => {
    const team = await createTeam({ credits: 5, models: [["gpt-4o-mini+fail=401", "gpt-3.5-turbo"]] });
    const jobId = await createJob(team);
    const res = await llmCall(team, jobId);
    const text = await res.text();
    expect(res.status, text).toBe(502);
    expect(JSON.parse(text).detail).toMatch(/LITELLM_API_KEY/);
    expect(text).not.toContain(env.LITELLM_API_KEY!);
    const { job } = await jobView(team, jobId);
    expect(job.calls.map((c: any) => c.status)).toEqual(["failed"]);
    await completeAndCheck(team, jobId, { successful: 0, failed: 1 });
  });

  it("failed calls and successful calls in one job are all counted, and a cancelled job is not charged", async () => {
    const team = await createTeam({ credits: 5, models: [["gpt-4o-mini+fail=500"], ["gpt-4o-mini"]] });
    const jobId = await createJob(team);
    expect((await llmCall(team, jobId, team.groups[0])).status).toBe(502);
    expect((await llmCall(team, jobId, team.groups[1])).status).toBe(200);
    expect((await llmCall(team, jobId, team.groups[0])).status).toBe(502);
    const { job } = await jobView(team, jobId);
    expect(job.costs).toMatchObject({ total_calls: 3, successful_calls: 1, failed_calls: 2 });
    const done = await json("POST", `/api/jobs/${jobId}/complete`, 200, { key: team.key, body: { status: "cancelled" } });
    expect(done.costs).toMatchObject({ total_calls: 3, successful_calls: 1, failed_calls: 2, credit_applied: false, credits_remaining: 5 });
    const b = await expectLedgerConsistent(team);
    expect([b.credits_remaining, b.credits_reserved]).toEqual([5, 0]);
  });
});

describe("LiteLLM unreachable", () => {
  /** The worker with LITELLM_BASE_URL pointing at a port nobody listens on. */
  async function callWithUpstreamDown(team: TestTeam, jobId: string) {
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(`http://gateway.test/api/jobs/${jobId}/llm-call`, {
        method: "POST",
        headers: { authorization: `Bearer ${team.key}`, "content-type": "application/json" },
        body: JSON.stringify({ model_group: team.groups[0], messages: userMessage() }),
      }),
      { ...env, LITELLM_BASE_URL: "http://127.0.0.1:9" } as Env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    return res;
  }

  it("connection refused for every model is 502, recorded as a failed call; the job still completes", async () => {
    const team = await createTeam({ credits: 5, models: [["gpt-4o-mini", "gpt-3.5-turbo"]] });
    const jobId = await createJob(team);
    const res = await callWithUpstreamDown(team, jobId);
    const text = await res.text();
    expect(res.status, text).toBe(502);
    expect(typeof JSON.parse(text).detail).toBe("string");
    expectNoModelNames(text);
    expect(text).not.toContain("127.0.0.1");
    const { job } = await jobView(team, jobId);
    expect(job.calls).toMatchObject([{ status: "failed", total_tokens: 0 }]);
    // With LiteLLM back, the same job goes on.
    expect((await llmCall(team, jobId)).status).toBe(200);
    await completeAndCheck(team, jobId, { successful: 1, failed: 1 });
  });
});
