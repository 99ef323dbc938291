import { describe, expect, it } from "vitest";
import { allTransactions, api, balance, createJob, createTeam, expectLedgerConsistent, json } from "./helpers";

describe("concurrent money operations", () => {
  it("50 concurrent completes of one job charge exactly once and all return the same summary", async () => {
    const team = await createTeam({ credits: 100 });
    const jobId = await createJob(team);
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => api("POST", `/api/jobs/${jobId}/complete`, { key: team.key, body: { status: "completed" } })),
    );
    const bodies = await Promise.all(responses.map((r) => r.json()));
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
    for (const body of bodies) expect(body).toEqual(bodies[0]);
    expect((bodies[0] as any).costs).toMatchObject({ credit_applied: true, credits_remaining: 99 });

    expect(await balance(team)).toMatchObject({ credits_used: 1, credits_remaining: 99, credits_reserved: 0, credits_available: 99 });
    const deductions = (await allTransactions(team)).filter((t) => t.kind === "deduction");
    expect(deductions).toHaveLength(1);
    expect(deductions[0]).toMatchObject({ job_id: jobId, amount: -1 });
    await expectLedgerConsistent(team);
  });

  it("100 concurrent job creates against 1 available credit admit exactly one", async () => {
    const team = await createTeam({ credits: 1 });
    const responses = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        api("POST", "/api/jobs/create", { key: team.key, body: { team_id: team.teamId, job_type: `race_${i}` } }),
      ),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 402)).toHaveLength(99);
    const admitted = (await responses[statuses.indexOf(200)].json()) as any;

    expect(await balance(team)).toMatchObject({ credits_remaining: 1, credits_reserved: 1, credits_available: 0 });
    const reservations = (await allTransactions(team)).filter((t) => t.kind === "reservation");
    expect(reservations.map((r) => r.job_id)).toEqual([admitted.job_id]);
    const jobs = await json("GET", `/api/teams/${team.teamId}/jobs?limit=200`, 200, { key: team.key });
    expect(jobs.jobs.map((j: any) => j.job_id)).toEqual([admitted.job_id]);
    await expectLedgerConsistent(team);

    // The one admitted job can still be completed and charged.
    const done = await json("POST", `/api/jobs/${admitted.job_id}/complete`, 200, { key: team.key, body: { status: "completed" } });
    expect(done.costs.credits_remaining).toBe(0);
    await expectLedgerConsistent(team);
  });

  it("concurrent top-ups and job completions lose nothing", async () => {
    const team = await createTeam({ credits: 20 });
    const jobs: string[] = [];
    for (let i = 0; i < 20; i++) jobs.push(await createJob(team));
    expect(await balance(team)).toMatchObject({ credits_remaining: 20, credits_reserved: 20, credits_available: 0 });

    const work: Promise<Response>[] = [];
    for (let i = 0; i < 20; i++) {
      // Half the jobs completed (charged), half cancelled (released), interleaved with top-ups.
      work.push(api("POST", `/api/jobs/${jobs[i]}/complete`, { key: team.key, body: { status: i % 2 === 0 ? "completed" : "cancelled" } }));
      work.push(api("POST", `/api/credits/teams/${team.teamId}/add`, { body: { credits: 5, reason: `top-up ${i}` } }));
    }
    const responses = await Promise.all(work);
    expect(responses.map((r) => r.status)).toEqual(Array(40).fill(200));

    // 20 + 20 × 5 allocated, 10 charged, nothing held.
    expect(await balance(team)).toMatchObject({
      credits_allocated: 120,
      credits_used: 10,
      credits_remaining: 110,
      credits_reserved: 0,
      credits_available: 110,
    });
    const rows = await allTransactions(team);
    expect(rows.filter((r) => r.kind === "allocation")).toHaveLength(21);
    expect(rows.filter((r) => r.kind === "deduction")).toHaveLength(10);
    expect(rows.filter((r) => r.kind === "release")).toHaveLength(10);
    await expectLedgerConsistent(team);
  });

  it("concurrent creates and completes never take the balance below zero", async () => {
    const team = await createTeam({ credits: 5 });
    const first = await Promise.all(
      Array.from({ length: 20 }, () =>
        api("POST", "/api/jobs/create", { key: team.key, body: { team_id: team.teamId, job_type: "burst" } }),
      ),
    );
    const admitted = await Promise.all(first.filter((r) => r.status === 200).map(async (r) => ((await r.json()) as any).job_id as string));
    expect(admitted).toHaveLength(5);
    expect(first.filter((r) => r.status === 402)).toHaveLength(15);

    // Complete them all while more creates race against the completions.
    const mixed = await Promise.all([
      ...admitted.map((id) => api("POST", `/api/jobs/${id}/complete`, { key: team.key, body: { status: "completed" } })),
      ...Array.from({ length: 10 }, () =>
        api("POST", "/api/jobs/create", { key: team.key, body: { team_id: team.teamId, job_type: "late" } }),
      ),
    ]);
    expect(mixed.slice(0, 5).map((r) => r.status)).toEqual(Array(5).fill(200));
    // Every completion charged the credit its job already held, so no late create can be admitted.
    expect(mixed.slice(5).map((r) => r.status)).toEqual(Array(10).fill(402));
    expect(await balance(team)).toMatchObject({ credits_used: 5, credits_remaining: 0, credits_reserved: 0, credits_available: 0 });
    await expectLedgerConsistent(team);
  });
});
