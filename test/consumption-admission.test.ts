import { describe, expect, it } from "vitest";
import { api, balance, createJob, createTeam, expectLedgerConsistent, json, type TestTeam } from "./helpers";

// The mock counts prompt tokens as 3 + ceil(chars/4) + 4 per message and, with max_tokens = 1,
// answers with exactly 1 completion token: a call of `total` tokens is a message of 4*(total-8) chars.
function callOfTokens(team: TestTeam, jobId: string, total: number) {
  return api("POST", `/api/jobs/${jobId}/llm-call`, {
    key: team.key,
    body: { model_group: team.groups[0], max_tokens: 1, messages: [{ role: "user", content: "a".repeat(4 * (total - 8)) }] },
  });
}

describe("consumption admission and job holds", () => {
  it("fractional holds leave no residue: once a job is charged, the last available credit still opens a job", async () => {
    // tokens_per_credit = 3 and calls of 62, 108 and 62 tokens: the job's hold goes 1 → 20.67 → 56.67 → 77.33
    // credits; added and removed again, the team's total of holds must come back to exactly 0.
    const tokens = [62, 108, 62];
    const charge = Math.floor(tokens.reduce((a, b) => a + b, 0) / 3); // 77
    const team = await createTeam({ credits: charge + 1, extra: { budget_mode: "consumption_tokens", tokens_per_credit: 3 } });
    const job = await createJob(team);
    for (const t of tokens) {
      const res = await callOfTokens(team, job, t);
      expect(res.status).toBe(200);
      expect((await res.json<any>()).metadata.tokens_used).toBe(t);
    }
    const summary = await json("POST", `/api/jobs/${job}/complete`, 200, { key: team.key, body: { status: "completed" } });
    expect(summary.costs.credits_charged).toBe(charge);

    const b = await balance(team);
    expect(b.credits_remaining).toBe(1);
    expect(b.credits_available).toBe(1);
    // One credit is available and no job is open: opening a job must succeed (it reserves 1).
    const res = await api("POST", "/api/jobs/create", { key: team.key, body: { team_id: team.teamId, job_type: "next" } });
    expect(res.status, await res.clone().text()).toBe(200);
    await expectLedgerConsistent(team);
  });

  it("once the open jobs have consumed every credit, calls in the other open jobs are refused with 402", async () => {
    // 3 credits, 10 tokens per credit; every call below costs 100 tokens = 10 credits.
    // overdraft: bounded, the rule this test is about (a new team's default, none, holds each call's worst case instead).
    const team = await createTeam({
      credits: 3,
      extra: { budget_mode: "consumption_tokens", tokens_per_credit: 10, overdraft: "bounded" },
    });
    const jobs = [await createJob(team), await createJob(team), await createJob(team)];
    // The first job's call uses up far more than the team has: the documented overrun of the "last" job.
    expect((await callOfTokens(team, jobs[0], 100)).status).toBe(200);
    // Now available credits less what open jobs hold is 3 - 10 - 1 - 1 < 0: the next call is 402 (SPEC §5);
    // only calls already in flight may overrun, and nothing is in flight here.
    const second = await callOfTokens(team, jobs[1], 100);
    expect(second.status, await second.clone().text()).toBe(402);
    const third = await callOfTokens(team, jobs[2], 100);
    expect(third.status).toBe(402);
    await expectLedgerConsistent(team);
  });

  it("switching to job_based recomputes what open jobs hold: every credit the balance shows as available opens a job", async () => {
    const team = await createTeam({ credits: 20, extra: { budget_mode: "consumption_tokens", tokens_per_credit: 10 } });
    const open = await createJob(team);
    expect((await callOfTokens(team, open, 100)).status).toBe(200); // the job now holds 10 credits
    await json("PATCH", `/api/credits/teams/${team.teamId}/budget-mode`, 200, { body: { budget_mode: "job_based" } });
    const b = await balance(team);
    expect(b.credits_available).toBe(19); // job_based: the open job holds its 1-credit reservation
    for (let i = 0; i < 11; i++) {
      const res = await api("POST", "/api/jobs/create", { key: team.key, body: { team_id: team.teamId, job_type: "after_switch" } });
      expect(res.status, `job ${i + 1} with ${19 - i} credits available: ${await res.clone().text()}`).toBe(200);
    }
    await expectLedgerConsistent(team);
  });
});
