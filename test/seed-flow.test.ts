import { describe, expect, it } from "vitest";
import { api, createGroup, createOrg, json, uid } from "./helpers";

describe("the seed's full chain, in-process", () => {
  it("creates org, groups and team, runs a job with three calls and charges one credit", async () => {
    const org = await createOrg();
    const fast = await createGroup(["gpt-3.5-turbo", "gpt-4o-mini"]);
    const advanced = await createGroup(["gpt-4", "gpt-4-turbo"]);
    const teamId = uid("engineering");
    const team = await json("POST", "/api/teams/create", 200, {
      body: { organization_id: org, team_id: teamId, team_alias: "Engineering", model_groups: [fast, advanced], credits_allocated: 100 },
    });
    expect(team.virtual_key).toMatch(/^sk-[0-9a-f]{64}$/);
    expect(team.model_groups).toEqual([fast, advanced].sort());
    expect(team.credits_allocated).toBe(100);
    const key = team.virtual_key;

    const before = await json("GET", `/api/credits/teams/${teamId}/balance`, 200, { key });
    expect([before.credits_remaining, before.credits_allocated]).toEqual([100, 100]);

    const job = await json("POST", "/api/jobs/create", 200, {
      key,
      body: { team_id: teamId, job_type: "customer_support", metadata: { priority: "high" } },
    });
    expect(job.status).toBe("pending");

    let tokens = 0;
    for (const [group, purpose] of [
      [fast, "initial_response"],
      [fast, "follow_up"],
      [advanced, "analysis"],
    ]) {
      const call = await json("POST", `/api/jobs/${job.job_id}/llm-call`, 200, {
        key,
        body: { model_group: group, messages: [{ role: "user", content: `question for ${purpose}` }], temperature: 0.7, purpose },
      });
      expect(typeof call.response.content).toBe("string");
      expect(call.response.content.length).toBeGreaterThan(0);
      expect(call.metadata.tokens_used).toBeGreaterThan(0);
      expect(typeof call.metadata.latency_ms).toBe("number");
      tokens += call.metadata.tokens_used;
    }

    const done = await json("POST", `/api/jobs/${job.job_id}/complete`, 200, { key, body: { status: "completed", error_message: null } });
    expect(done.costs).toMatchObject({
      total_calls: 3,
      successful_calls: 3,
      failed_calls: 0,
      total_tokens: tokens,
      credit_applied: true,
      credits_remaining: 99,
    });
    expect(done.costs.total_cost_usd).toBeGreaterThan(0);

    const after = await json("GET", `/api/credits/teams/${teamId}/balance`, 200, { key });
    expect([after.credits_remaining, after.credits_allocated, after.credits_used]).toEqual([99, 100, 1]);
    const res = await api("GET", "/health", { key: null });
    expect(res.headers.get("x-request-id")).toBeTruthy();
  });
});
