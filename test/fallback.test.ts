import { describe, expect, inject, it } from "vitest";
import {
  api,
  balance,
  createJob,
  createTeam,
  expectLedgerConsistent,
  expectNoModelNames,
  jobView,
  json,
  llmCall,
  upstreamRequests,
  userMessage,
} from "./helpers";

const mockUrl = inject("mockLiteLLMUrl");

describe("fallback down the model group", () => {
  for (const [label, primary] of [
    ["a 500", "gpt-4o-mini+fail=500"],
    ["a 429", "gpt-4o-mini+fail=429"],
    ["a 503", "gpt-4o-mini+fail=503"],
    ["an unknown model", "no-such-model"],
  ] as const) {
    it(`when the primary answers ${label}, the next model answers and the call is recorded as a success`, async () => {
      const team = await createTeam({ models: [[primary, "gpt-3.5-turbo"]] });
      const jobId = await createJob(team, "customer_support");
      const res = await llmCall(team, jobId, team.groups[0], { purpose: "initial_response" });
      const call = (await res.json()) as any;
      expect(res.status, JSON.stringify(call)).toBe(200);
      expect(call.response.content).toMatch(/^Mock answer from gpt-3\.5-turbo/);
      expect(call.metadata.model_group).toBe(team.groups[0]);

      const sent = await upstreamRequests(mockUrl, team.teamId);
      expect(sent.map((r) => r.body.model)).toEqual([primary, "gpt-3.5-turbo"]);
      for (const r of sent) {
        expect(r.path).toBe("/chat/completions");
        expect(r.body.user).toBe(team.teamId);
        expect(r.body.metadata).toMatchObject({
          team_id: team.teamId,
          job_id: jobId,
          job_type: "customer_support",
          purpose: "initial_response",
        });
        // The mock redacts credentials in its log; it answered the second attempt, which it
        // only does for its master key (TEST_SECRETS.LITELLM_API_KEY).
        expect(r.headers.authorization).toBe("present");
        expect(r.body.messages).toEqual(userMessage());
      }

      const { job, text } = await jobView(team, jobId);
      expect(job.calls).toHaveLength(1);
      expect(job.calls[0]).toMatchObject({
        call_id: call.call_id,
        status: "success",
        error: null,
        total_tokens: call.metadata.tokens_used,
      });
      expect(job.costs).toMatchObject({ total_calls: 1, successful_calls: 1, failed_calls: 0 });
      expectNoModelNames(text);
      expect(text).not.toContain("no-such-model");
    });
  }

  it("a primary that times out falls back to the next model", async () => {
    const team = await createTeam({ models: [["gpt-4o-mini+fail=timeout", "gpt-4o-mini"]] });
    const jobId = await createJob(team);
    const started = Date.now();
    const res = await llmCall(team, jobId);
    const call = (await res.json()) as any;
    expect(res.status, JSON.stringify(call)).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
    const sent = await upstreamRequests(mockUrl, team.teamId);
    expect(sent.map((r) => r.body.model)).toEqual(["gpt-4o-mini+fail=timeout", "gpt-4o-mini"]);
    const { job } = await jobView(team, jobId);
    expect(job.calls.map((c: any) => c.status)).toEqual(["success"]);
  });

  it("the upstream request carries user, LiteLLM metadata and the LiteLLM key", async () => {
    const team = await createTeam({ models: [["gpt-4o-mini"]] });
    const jobId = await createJob(team, "analysis");
    const call = await json("POST", `/api/jobs/${jobId}/llm-call`, 200, {
      key: team.key,
      body: { model_group: team.groups[0], messages: userMessage(), purpose: "summary", temperature: 0.3, max_tokens: 50, seed: 7 },
    });
    const [sent] = await upstreamRequests(mockUrl, team.teamId);
    expect(sent.body).toMatchObject({ model: "gpt-4o-mini", user: team.teamId, temperature: 0.3, max_tokens: 50, seed: 7 });
    expect(sent.body.metadata).toMatchObject({ team_id: team.teamId, job_id: jobId, job_type: "analysis", purpose: "summary" });
    expect(sent.headers.authorization).toBe("present");
    expect(sent.headers["x-litellm-call-id"]).toBe(call.call_id);
  });
});

describe("when no model can answer", () => {
  it("every model failing is 502 and a recorded failed call; complete counts it", async () => {
    const team = await createTeam({ models: [["gpt-4o-mini+fail=500", "gpt-3.5-turbo+fail=503"]] });
    const jobId = await createJob(team);
    const res = await llmCall(team, jobId, team.groups[0], { purpose: "doomed" });
    const text = await res.text();
    expect(res.status, text).toBe(502);
    expect(typeof JSON.parse(text).detail).toBe("string");
    expectNoModelNames(text);
    expect((await upstreamRequests(mockUrl, team.teamId)).map((r) => r.body.model)).toEqual([
      "gpt-4o-mini+fail=500",
      "gpt-3.5-turbo+fail=503",
    ]);

    const { job, text: jobText } = await jobView(team, jobId);
    expect(job.calls).toHaveLength(1);
    expect(job.calls[0]).toMatchObject({ purpose: "doomed", status: "failed", total_tokens: 0 });
    expect(typeof job.calls[0].error).toBe("string");
    expectNoModelNames(jobText);

    const done = await json("POST", `/api/jobs/${jobId}/complete`, 200, {
      key: team.key,
      body: { status: "failed", error_message: "no model answered" },
    });
    expect(done.costs).toMatchObject({
      total_calls: 1,
      successful_calls: 0,
      failed_calls: 1,
      total_tokens: 0,
      credit_applied: false,
      credits_remaining: 100,
    });
    expect(done.calls).toHaveLength(1);
    expect(typeof done.calls[0].error).toBe("string");
    expect((await balance(team)).credits_reserved).toBe(0);
    await expectLedgerConsistent(team);
  });

  it("a failed call's recorded error does not name the models that failed (rate limit wording)", async () => {
    const team = await createTeam({ models: [["gpt-4o-mini+fail=500", "gpt-3.5-turbo+fail=429"]] });
    const jobId = await createJob(team);
    expect((await llmCall(team, jobId)).status).toBe(502);
    const { job, text } = await jobView(team, jobId);
    expect(job.calls.map((c: any) => c.status)).toEqual(["failed"]);
    expectNoModelNames(text);
    const done = await api("POST", `/api/jobs/${jobId}/complete`, { key: team.key, body: { status: "failed" } });
    expectNoModelNames(await done.text());
  });

  it("every model timing out is 504, recorded as a failed call", async () => {
    const team = await createTeam({ models: [["gpt-4o-mini+fail=timeout", "gpt-3.5-turbo+fail=timeout"]] });
    const jobId = await createJob(team);
    const res = await llmCall(team, jobId);
    const text = await res.text();
    expect(res.status, text).toBe(504);
    expect(typeof JSON.parse(text).detail).toBe("string");
    expect((await upstreamRequests(mockUrl, team.teamId)).map((r) => r.body.model)).toEqual([
      "gpt-4o-mini+fail=timeout",
      "gpt-3.5-turbo+fail=timeout",
    ]);
    const { job } = await jobView(team, jobId);
    expect(job.calls.map((c: any) => c.status)).toEqual(["failed"]);
    expect(job.costs.failed_calls).toBe(1);
  });

  it("a non-retryable upstream 400 comes back as 400 without trying the next model", async () => {
    const team = await createTeam({ models: [["gpt-4o-mini+fail=400", "gpt-3.5-turbo"]] });
    const jobId = await createJob(team);
    const res = await llmCall(team, jobId);
    const text = await res.text();
    expect(res.status, text).toBe(400);
    const detail = JSON.parse(text).detail;
    expect(typeof detail).toBe("string");
    expect(detail).toMatch(/context length/i);
    expectNoModelNames(text);
    expect(text).not.toContain("sk-");
    expect((await upstreamRequests(mockUrl, team.teamId)).map((r) => r.body.model)).toEqual(["gpt-4o-mini+fail=400"]);
    const { job } = await jobView(team, jobId);
    expect(job.calls.map((c: any) => c.status)).toEqual(["failed"]);
    // The job stays usable after a rejected call.
    expect(
      (await json("POST", `/api/jobs/${jobId}/complete`, 200, { key: team.key, body: { status: "completed" } })).costs.credit_applied,
    ).toBe(true);
    await expectLedgerConsistent(team);
  });
});

describe("parameter whitelisting", () => {
  it("nothing that could redirect the upstream or carry credentials reaches LiteLLM", async () => {
    const team = await createTeam({ models: [["gpt-4o-mini"]] });
    const jobId = await createJob(team);
    const res = await api("POST", `/api/jobs/${jobId}/llm-call`, {
      key: team.key,
      body: {
        model_group: team.groups[0],
        messages: userMessage(),
        temperature: 0.5,
        api_base: "http://attacker.example",
        base_url: "http://attacker.example/v1",
        api_key: "sk-stolen-0000000000",
        extra_headers: { authorization: "Bearer sk-other" },
        mock_response: "free answer",
        user: "someone-else",
        metadata: { team_id: "someone-else" },
        litellm_params: { api_base: "http://attacker.example" },
        stream: true,
      },
    });
    const call = (await res.json()) as any;
    expect(res.status, JSON.stringify(call)).toBe(200);
    expect(call.response.content).not.toBe("free answer");

    const sent = await upstreamRequests(mockUrl, team.teamId);
    expect(sent).toHaveLength(1);
    const body = sent[0].body;
    for (const field of ["api_base", "base_url", "api_key", "extra_headers", "mock_response", "litellm_params", "stream"]) {
      expect(body, field).not.toHaveProperty(field);
    }
    expect(body.user).toBe(team.teamId);
    expect(body.metadata.team_id).toBe(team.teamId);
    expect(body.temperature).toBe(0.5);
    expect(JSON.stringify(sent[0])).not.toContain("attacker.example");
    expect(JSON.stringify(sent[0])).not.toContain("sk-stolen");
    // Nobody else's name was used for attribution.
    expect(await upstreamRequests(mockUrl, "someone-else")).toEqual([]);
  });
});
