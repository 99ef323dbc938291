import { createScheduledController, env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { api, balance, createJob, createTeam, expectLedgerConsistent, json, llmCall, type TestTeam } from "./helpers";

// The mock LiteLLM's prices (USD per token), the same as LiteLLM's bundled cost map.
const GPT_4O_MINI = { input: 0.00000015, output: 0.0000006 };

function providerCostUsd(call: { metadata: { prompt_tokens: number; completion_tokens: number } }) {
  return call.metadata.prompt_tokens * GPT_4O_MINI.input + call.metadata.completion_tokens * GPT_4O_MINI.output;
}

async function completeJob(team: TestTeam, jobId: string, status = "completed", headers: Record<string, string> = {}) {
  return api("POST", `/api/jobs/${jobId}/complete`, { key: team.key, body: { status }, headers });
}

describe("budget modes", () => {
  it("consumption_usd charges floor(client cost × credits_per_dollar), with the markup applied", async () => {
    const team = await createTeam({
      credits: 1_000_000,
      // The mock's models are priced by LiteLLM's cost header, not the pricing table: no hold can be placed.
      extra: { budget_mode: "consumption_usd", credits_per_dollar: 1_000_000, cost_markup_percentage: 50, unpriced_calls: "allow" },
    });
    const job = await createJob(team);
    const calls = [];
    for (let i = 0; i < 3; i++) {
      const res = await llmCall(team, job, team.groups[0], {
        messages: [{ role: "user", content: `question ${i}: ${"x".repeat(i * 40)}` }],
      });
      expect(res.status).toBe(200);
      calls.push(await res.json<any>());
    }
    const clientCostUsd = calls.reduce((s, c) => s + providerCostUsd(c), 0) * 1.5;
    const res = await completeJob(team, job);
    const summary = await res.json<any>();
    expect(summary.costs.total_cost_usd).toBeCloseTo(clientCostUsd, 9);
    const expected = Math.max(1, Math.floor(clientCostUsd * 1_000_000 + 1e-9));
    expect(expected).toBeGreaterThan(1);
    expect(summary.costs.credits_charged).toBe(expected);
    expect(summary.costs.credits_remaining).toBe(1_000_000 - expected);
    await expectLedgerConsistent(team);
  });

  it("consumption_tokens charges floor(tokens / tokens_per_credit), at least 1", async () => {
    const team = await createTeam({ credits: 1000, extra: { budget_mode: "consumption_tokens", tokens_per_credit: 7 } });
    const job = await createJob(team);
    const call = await (await llmCall(team, job)).json<any>();
    const summary = await (await completeJob(team, job)).json<any>();
    expect(summary.costs.total_tokens).toBe(call.metadata.tokens_used);
    expect(summary.costs.credits_charged).toBe(Math.max(1, Math.floor(call.metadata.tokens_used / 7)));

    const empty = await createJob(team);
    const emptySummary = await (await completeJob(team, empty)).json<any>();
    expect(emptySummary.costs.credits_charged).toBe(1);
    await expectLedgerConsistent(team);
  });

  it("refuses a call with 402 once the open jobs have consumed the available credits; the overrun is bounded by the last call", async () => {
    // overdraft: bounded (a new team's default, none, would hold the call's worst case and refuse it up front).
    const team = await createTeam({
      credits: 2,
      extra: { budget_mode: "consumption_tokens", tokens_per_credit: 10, overdraft: "bounded" },
    });
    const job = await createJob(team);
    const first = await llmCall(team, job);
    expect(first.status).toBe(200);
    const tokens = (await first.json<any>()).metadata.tokens_used;
    expect(tokens).toBeGreaterThan(20); // more than the 2 credits' worth
    const refused = await llmCall(team, job);
    expect(refused.status).toBe(402);
    expect((await refused.json<any>()).detail).toMatch(/insufficient credits/i);
    const summary = await (await completeJob(team, job)).json<any>();
    expect(summary.costs.credits_charged).toBe(Math.floor(tokens / 10));
    const b = await expectLedgerConsistent(team, { allowOverrun: true });
    expect(b.credits_remaining).toBe(2 - Math.floor(tokens / 10));
    // With the balance overdrawn, no new job can start.
    expect((await api("POST", "/api/jobs/create", { key: team.key, body: { team_id: team.teamId, job_type: "t" } })).status).toBe(402);
  });

  it("PATCH budget-mode switches the mode for jobs completed afterwards", async () => {
    const team = await createTeam({ credits: 100 });
    const mode = await json("PATCH", `/api/credits/teams/${team.teamId}/budget-mode`, 200, {
      body: { budget_mode: "consumption_tokens", tokens_per_credit: 5 },
    });
    expect(mode).toMatchObject({ budget_mode: "consumption_tokens", tokens_per_credit: 5 });
    const job = await createJob(team);
    const call = await (await llmCall(team, job)).json<any>();
    const summary = await (await completeJob(team, job)).json<any>();
    expect(summary.costs.credits_charged).toBe(Math.floor(call.metadata.tokens_used / 5));
    expect((await api("PATCH", `/api/credits/teams/${team.teamId}/budget-mode`, { body: { budget_mode: "per_call" } })).status).toBe(422);
  });
});

describe("idempotency keys", () => {
  it("replays the first answer byte for byte and creates one job", async () => {
    const team = await createTeam({ credits: 10 });
    const body = { team_id: team.teamId, job_type: "idem" };
    const headers = { "idempotency-key": "create-1" };
    const first = await api("POST", "/api/jobs/create", { key: team.key, body, headers });
    const second = await api("POST", "/api/jobs/create", { key: team.key, body, headers });
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(await second.text()).toBe(await first.text());
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect((await balance(team)).credits_reserved).toBe(1);

    const reused = await api("POST", "/api/jobs/create", { key: team.key, body: { ...body, job_type: "other" }, headers });
    expect(reused.status).toBe(422);
    await expectLedgerConsistent(team);
  });

  it("runs concurrent requests with one key once", async () => {
    const team = await createTeam({ credits: 10 });
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        api("POST", `/api/credits/teams/${team.teamId}/add`, {
          body: { credits: 5, reason: "top-up" },
          headers: { "idempotency-key": "topup-1" },
        }),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.every((s) => s === 200 || s === 409)).toBe(true);
    expect(statuses).toContain(200);
    expect((await balance(team)).credits_allocated).toBe(15);
    await expectLedgerConsistent(team);
  });

  it("makes completion, refunds and top-ups safe to retry", async () => {
    const team = await createTeam({ credits: 10 });
    const job = await createJob(team);
    const headers = { "idempotency-key": "complete-1" };
    const a = await completeJob(team, job, "completed", headers);
    const b = await completeJob(team, job, "completed", headers);
    expect(await b.text()).toBe(await a.text());
    const refund = { job_id: job, reason: "customer complaint" };
    const r1 = await api("POST", `/api/credits/teams/${team.teamId}/refund`, { body: refund, headers: { "idempotency-key": "refund-1" } });
    const r2 = await api("POST", `/api/credits/teams/${team.teamId}/refund`, { body: refund, headers: { "idempotency-key": "refund-1" } });
    expect(r1.status).toBe(200);
    expect(await r2.text()).toBe(await r1.text());
    expect((await balance(team)).credits_remaining).toBe(10);
    await expectLedgerConsistent(team);
  });
});

describe("idempotency records expire", () => {
  it("the hourly cron forgets answers older than 24 h, and a key may then be used afresh", async () => {
    const team = await createTeam({ credits: 10 });
    const headers = { "idempotency-key": "old-key" };
    expect((await api("POST", "/api/jobs/create", { key: team.key, body: { team_id: team.teamId, job_type: "a" }, headers })).status).toBe(
      200,
    );
    const dayAgo = new Date(Date.now() - 25 * 60 * 60 * 1000).toISOString();
    await env.DB.prepare("UPDATE idempotency_records SET created_at = ? WHERE idempotency_key = 'old-key'").bind(dayAgo).run();
    // A day passes for the team's ledger too: the operation made under the key is as old.
    await runInDurableObject(env.TEAM_LEDGER.getByName(team.teamId), (_instance, state) => {
      state.storage.sql.exec("UPDATE operations SET created_at_ms = created_at_ms - ?", 25 * 60 * 60 * 1000);
    });
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "17 * * * *" }), env);
    const left = await env.DB.prepare("SELECT COUNT(*) AS n FROM idempotency_records WHERE idempotency_key = 'old-key'").first<{
      n: number;
    }>();
    expect(left?.n).toBe(0);
    // The same key with another body is now a new request, not a 422.
    expect((await api("POST", "/api/jobs/create", { key: team.key, body: { team_id: team.teamId, job_type: "b" }, headers })).status).toBe(
      200,
    );
    expect((await balance(team)).credits_reserved).toBe(2);
  });
});

describe("abandoned idempotency claims", () => {
  it("a claim left without an answer (the Worker stopped mid-request) frees its key after 15 minutes", async () => {
    const team = await createTeam({ credits: 10 });
    const headers = { "idempotency-key": "abandoned-1" };
    const body = { team_id: team.teamId, job_type: "a" };
    // The first request's claim, as a stopped Worker leaves it: no status, no body.
    const scope = `team:${team.teamId} POST /api/jobs/create`;
    const claimAt = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString();
    await env.DB.prepare("INSERT INTO idempotency_records (scope, idempotency_key, request_hash, created_at) VALUES (?, ?, 'x', ?)")
      .bind(scope, "abandoned-1", claimAt(1))
      .run();
    const hashOf = async (text: string) =>
      Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))), (b) =>
        b.toString(16).padStart(2, "0"),
      ).join("");
    await env.DB.prepare("UPDATE idempotency_records SET request_hash = ? WHERE idempotency_key = 'abandoned-1'")
      .bind(await hashOf(JSON.stringify(body)))
      .run();
    expect((await api("POST", "/api/jobs/create", { key: team.key, body, headers })).status).toBe(409);
    await env.DB.prepare("UPDATE idempotency_records SET created_at = ? WHERE idempotency_key = 'abandoned-1'").bind(claimAt(16)).run();
    const retried = await api("POST", "/api/jobs/create", { key: team.key, body, headers });
    expect(retried.status).toBe(200);
    expect((await balance(team)).credits_reserved).toBe(1);
  });
});

describe("refunds", () => {
  it("reverses a completed job's charge once", async () => {
    const team = await createTeam({ credits: 10 });
    const job = await createJob(team);
    await completeJob(team, job);
    expect((await balance(team)).credits_remaining).toBe(9);
    const refunded = await json("POST", `/api/credits/teams/${team.teamId}/refund`, 200, { body: { job_id: job, reason: "bad answer" } });
    expect(refunded.credits_refunded).toBe(1);
    expect(refunded.transaction).toMatchObject({ kind: "refund", amount: 1, job_id: job, reason: "bad answer" });
    const again = await api("POST", `/api/credits/teams/${team.teamId}/refund`, { body: { job_id: job, reason: "bad answer" } });
    expect(again.status).toBe(409);
    expect((await balance(team)).credits_remaining).toBe(10);
    // A team cannot refund itself, and an uncharged job has nothing to refund.
    expect(
      (await api("POST", `/api/credits/teams/${team.teamId}/refund`, { key: team.key, body: { job_id: job, reason: "x" } })).status,
    ).toBe(403);
    const failed = await createJob(team);
    await completeJob(team, failed, "failed");
    expect((await api("POST", `/api/credits/teams/${team.teamId}/refund`, { body: { job_id: failed, reason: "x" } })).status).toBe(400);
    await expectLedgerConsistent(team);
  });
});

describe("job time-to-live", () => {
  it("the alarm expires a stale open job: released, never charged, closed to calls", async () => {
    const team = await createTeam({ credits: 5 });
    const job = await createJob(team);
    expect((await balance(team)).credits_available).toBe(4);
    const stub = env.TEAM_LEDGER.getByName(team.teamId);
    // Move the job's deadline into the past instead of waiting 24 hours.
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec("UPDATE jobs SET expires_at_ms = ? WHERE job_id = ?", Date.now() - 1000, job);
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const view = await json("GET", `/api/jobs/${job}`, 200, { key: team.key });
    expect(view.status).toBe("expired");
    expect(view.credit_applied).toBe(false);
    const b = await expectLedgerConsistent(team);
    expect([b.credits_remaining, b.credits_reserved, b.credits_available]).toEqual([5, 0, 5]);
    expect((await llmCall(team, job)).status).toBe(409);
    expect((await completeJob(team, job)).status).toBe(409);
    // Running the alarm again changes nothing.
    await runDurableObjectAlarm(stub);
    expect((await allRows(team)).filter((r) => r.kind === "release")).toHaveLength(1);
  });
});

async function allRows(team: TestTeam) {
  return (await json("GET", `/api/credits/teams/${team.teamId}/transactions?limit=200`, 200)).transactions as any[];
}

describe("team status", () => {
  it("a paused team gets 429 with Retry-After on new jobs and calls, and can still read", async () => {
    const team = await createTeam({ credits: 5 });
    const job = await createJob(team);
    await json("PUT", `/api/teams/${team.teamId}/pause`, 200);
    const refused = await api("POST", "/api/jobs/create", { key: team.key, body: { team_id: team.teamId, job_type: "t" } });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBeTruthy();
    expect((await llmCall(team, job)).status).toBe(429);
    expect((await api("GET", `/api/jobs/${job}`, { key: team.key })).status).toBe(200);
    expect((await balance(team)).status).toBe("paused");
    // An open job can still be completed.
    expect((await completeJob(team, job)).status).toBe(200);
    await json("PUT", `/api/teams/${team.teamId}/resume`, 200);
    expect((await api("POST", "/api/jobs/create", { key: team.key, body: { team_id: team.teamId, job_type: "t" } })).status).toBe(200);
  });

  it("a suspended team gets 403 on every team route; the admin still reads", async () => {
    const team = await createTeam({ credits: 5 });
    const job = await createJob(team);
    await json("PUT", `/api/teams/${team.teamId}/suspend`, 200);
    for (const [method, path, body] of [
      ["GET", `/api/credits/teams/${team.teamId}/balance`],
      ["GET", `/api/credits/teams/${team.teamId}/transactions`],
      ["GET", `/api/jobs/${job}`],
      ["GET", `/api/teams/${team.teamId}/jobs`],
      ["GET", `/api/teams/${team.teamId}/usage`],
      ["POST", "/api/jobs/create", { team_id: team.teamId, job_type: "t" }],
      ["POST", `/api/jobs/${job}/complete`, { status: "completed" }],
    ] as const) {
      const res = await api(method, path, { key: team.key, body });
      expect(res.status, `${method} ${path}`).toBe(403);
    }
    expect((await llmCall(team, job)).status).toBe(403);
    expect((await json("GET", `/api/credits/teams/${team.teamId}/balance`, 200)).status).toBe("suspended");
    await expectLedgerConsistent(team);
  });
});

describe("rate limit", () => {
  it("a team's new jobs and calls beyond its per-minute rate get 429 with Retry-After; reads and completion still work", async () => {
    const team = await createTeam({ credits: 20, extra: { rate_limit_per_minute: 3 } });
    expect(team.created.rate_limit_per_minute).toBe(3);
    const job = await createJob(team); // 1
    expect((await llmCall(team, job)).status).toBe(200); // 2
    expect((await llmCall(team, job)).status).toBe(200); // 3
    const limited = await llmCall(team, job);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect((await limited.json<any>()).detail).toMatch(/rate limit of 3/i);
    const create = await api("POST", "/api/jobs/create", { key: team.key, body: { team_id: team.teamId, job_type: "t" } });
    expect(create.status).toBe(429);
    expect((await balance(team)).rate_limit_per_minute).toBe(3);
    expect((await completeJob(team, job)).status).toBe(200);
    // The admin lifts the limit: the team goes on at once.
    await json("PATCH", `/api/teams/${team.teamId}`, 200, { body: { rate_limit_per_minute: null } });
    expect((await api("POST", "/api/jobs/create", { key: team.key, body: { team_id: team.teamId, job_type: "t" } })).status).toBe(200);
    await expectLedgerConsistent(team);
  });
});

describe("usage", () => {
  it("reports the month's jobs, outcomes, credits, tokens and cost per job type", async () => {
    const team = await createTeam({ credits: 20 });
    const tokens: number[] = [];
    for (const [type, status] of [
      ["support", "completed"],
      ["support", "failed"],
      ["triage", "completed"],
    ] as const) {
      const job = await createJob(team, type);
      tokens.push((await (await llmCall(team, job)).json<any>()).metadata.tokens_used);
      await completeJob(team, job, status);
    }
    await createJob(team, "triage"); // still open
    const period = new Date().toISOString().slice(0, 7);
    const usage = await json("GET", `/api/teams/${team.teamId}/usage?period=${period}`, 200, { key: team.key });
    expect(usage.summary).toMatchObject({
      jobs: 4,
      completed: 2,
      failed: 1,
      calls: 3,
      credits_charged: 2,
      total_tokens: tokens.reduce((a, b) => a + b, 0),
    });
    expect(usage.summary.client_cost_usd).toBeGreaterThan(0);
    expect(usage.job_types.support).toMatchObject({ jobs: 2, completed: 1, failed: 1, credits_charged: 1 });
    expect(usage.job_types.triage).toMatchObject({ jobs: 2, completed: 1, credits_charged: 1 });
    expect((await api("GET", `/api/teams/${team.teamId}/usage?period=2026-13`, { key: team.key })).status).toBe(422);
    const empty = await json("GET", `/api/teams/${team.teamId}/usage?period=2020-01`, 200, { key: team.key });
    expect(empty.summary.jobs).toBe(0);
  });
});
