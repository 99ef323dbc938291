import { describe, expect, it } from "vitest";
import { api, createJob, createTeam, expectNoModelNames, json, llmCall, uid } from "./helpers";

// GET /api/jobs/{id}/costs and PATCH /api/jobs/{id}/metadata (issue 18): what a team and an
// admin see of a job's calls, and a team's metadata merge, each kept to the job's own team.

describe("GET /api/jobs/{id}/costs", () => {
  it("lists each call's purpose, tokens, cost and time; only an admin key sees the model and provider cost", async () => {
    const team = await createTeam({ credits: 100 });
    const job = await createJob(team);
    expect((await llmCall(team, job, team.groups[0], { purpose: "summarize" })).status).toBe(200);
    expect((await llmCall(team, job, team.groups[0], { purpose: "classify" })).status).toBe(200);

    const res = await api("GET", `/api/jobs/${job}/costs`, { key: team.key });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expectNoModelNames(text);
    expect(text).not.toContain("provider_cost");
    const costs = JSON.parse(text);
    expect(costs).toMatchObject({ job_id: job, team_id: team.teamId, status: "in_progress", calls_has_more: false });
    expect(costs.calls.map((c: any) => c.purpose)).toEqual(["summarize", "classify"]);
    for (const call of costs.calls) {
      expect(call.status).toBe("success");
      expect(call.total_tokens).toBe(call.prompt_tokens + call.completion_tokens);
      expect(call.total_tokens).toBeGreaterThan(0);
      expect(call.cost_usd).toBeGreaterThan(0);
      expect(typeof call.latency_ms).toBe("number");
      expect(call).not.toHaveProperty("model_used");
    }
    expect(costs.totals.total_calls).toBe(2);
    expect(costs.totals.total_tokens).toBe(costs.calls[0].total_tokens + costs.calls[1].total_tokens);
    expect(costs.totals.total_cost_usd).toBeCloseTo(costs.calls[0].cost_usd + costs.calls[1].cost_usd, 9);

    const admin = await json("GET", `/api/jobs/${job}/costs?team_id=${team.teamId}`, 200);
    expect(admin.calls.map((c: any) => c.model_used)).toEqual(["gpt-4o-mini", "gpt-4o-mini"]);
    for (const call of admin.calls) expect(typeof call.provider_cost_usd).toBe("number");
    expect(typeof admin.totals.provider_cost_usd).toBe("number");

    const page = await json("GET", `/api/jobs/${job}/costs?calls_limit=1&calls_offset=1`, 200, { key: team.key });
    expect(page.calls.map((c: any) => c.purpose)).toEqual(["classify"]);
    expect(page.calls_has_more).toBe(false);
    expect((await json("GET", `/api/jobs/${job}/costs?calls_limit=1`, 200, { key: team.key })).calls_has_more).toBe(true);
    await json("GET", `/api/jobs/${job}/costs?calls_limit=0`, 422, { key: team.key });
    await json("GET", `/api/jobs/${job}/costs`, 422);
  });

  it("another team's job is not found, to its key and to an admin key scoped to another organization", async () => {
    const team = await createTeam();
    const other = await createTeam();
    const job = await createJob(team);
    await json("GET", `/api/jobs/${job}/costs`, 404, { key: other.key });
    await json("GET", `/api/jobs/${job}/costs?team_id=${other.teamId}`, 404);
    const scoped = await json("POST", "/api/admin-keys", 201, {
      body: { name: uid("k"), role: "viewer", organization_id: other.organizationId },
    });
    await json("GET", `/api/jobs/${job}/costs?team_id=${team.teamId}`, 404, { key: scoped.admin_key });
    await json("GET", `/api/jobs/${crypto.randomUUID()}/costs`, 404, { key: team.key });
  });
});

describe("PATCH /api/jobs/{id}/metadata", () => {
  it("merges top-level keys into the job's metadata, also after completion", async () => {
    const team = await createTeam();
    const opened = await json("POST", "/api/jobs/create", 200, {
      key: team.key,
      body: { team_id: team.teamId, job_type: "t", metadata: { customer: "c-1", stage: "draft" } },
    });
    const merged = await json("PATCH", `/api/jobs/${opened.job_id}/metadata`, 200, {
      key: team.key,
      body: { metadata: { stage: "review", reviewer: "ann" } },
    });
    expect(merged.metadata).toEqual({ customer: "c-1", stage: "review", reviewer: "ann" });
    await json("POST", `/api/jobs/${opened.job_id}/complete`, 200, { key: team.key, body: { status: "completed" } });
    await json("PATCH", `/api/jobs/${opened.job_id}/metadata`, 200, { key: team.key, body: { metadata: { outcome: "accepted" } } });
    const job = await json("GET", `/api/jobs/${opened.job_id}`, 200, { key: team.key });
    expect(job.metadata).toEqual({ customer: "c-1", stage: "review", reviewer: "ann", outcome: "accepted" });
    expect(job.status).toBe("completed");
  });

  it("bounds the merged size (422, nothing changes) and validates the body", async () => {
    const team = await createTeam();
    const job = await createJob(team);
    await json("PATCH", `/api/jobs/${job}/metadata`, 200, { key: team.key, body: { metadata: { a: "x".repeat(10_000) } } });
    const refused = await json("PATCH", `/api/jobs/${job}/metadata`, 422, { key: team.key, body: { metadata: { b: "y".repeat(10_000) } } });
    expect(JSON.stringify(refused.detail)).toContain("16384");
    expect((await json("GET", `/api/jobs/${job}`, 200, { key: team.key })).metadata).toEqual({ a: "x".repeat(10_000) });
    await json("PATCH", `/api/jobs/${job}/metadata`, 422, { key: team.key, body: { metadata: "nope" } });
    await json("PATCH", `/api/jobs/${job}/metadata`, 422, { key: team.key, body: {} });
  });

  it("is the job's team's own: another team gets 404, an admin key 403", async () => {
    const team = await createTeam();
    const other = await createTeam();
    const job = await createJob(team);
    await json("PATCH", `/api/jobs/${job}/metadata`, 404, { key: other.key, body: { metadata: { x: 1 } } });
    await json("PATCH", `/api/jobs/${job}/metadata`, 403, { body: { metadata: { x: 1 } } });
    expect((await json("GET", `/api/jobs/${job}`, 200, { key: team.key })).metadata).toEqual({});
  });
});
