import { describe, expect, inject, it } from "vitest";
import {
  allTransactions,
  api,
  balance,
  createJob,
  createTeam,
  expectLedgerConsistent,
  json,
  type TestTeam,
  upstreamRequests,
  userMessage,
} from "./helpers";

// Many concurrent calls while LiteLLM fails a share of them: every call sent is either answered
// and recorded as a success, or refused and recorded as a failure (or, racing a completion,
// refused before it reached LiteLLM), and the money adds up: each completed job charged once, calls
// recorded after their job's completion (a stream stalled across it makes one for sure) included.

const mockUrl = inject("mockLiteLLMUrl");

/** Groups by how they fail; `attempts` is how many upstream requests one call makes. */
const GROUPS = [
  { name: "healthy", models: ["gpt-4o-mini+ttfb=40"], status: 200, attempts: 1 },
  { name: "primary 500", models: ["gpt-4o-mini+fail=500+ttfb=20", "gpt-3.5-turbo+ttfb=20"], status: 200, attempts: 2 },
  { name: "429 then reset", models: ["gpt-4o-mini+fail=429", "gpt-3.5-turbo+fail=reset", "gpt-4+ttfb=20"], status: 200, attempts: 3 },
  { name: "all down", models: ["gpt-4o-mini+fail=503+ttfb=20", "gpt-3.5-turbo+fail=html"], status: 502, attempts: 2 },
  { name: "reset only", models: ["gpt-4o-mini+fail=reset"], status: 502, attempts: 1 },
] as const;

interface Sent {
  job: string;
  group: (typeof GROUPS)[number];
  status: number;
  body: any;
}

async function callAt(team: TestTeam, job: string, g: number): Promise<Sent> {
  const res = await api("POST", `/api/jobs/${job}/llm-call`, {
    key: team.key,
    body: { model_group: team.groups[g], messages: userMessage(`question ${crypto.randomUUID()}`), purpose: GROUPS[g].name },
  });
  return { job, group: GROUPS[g], status: res.status, body: await res.json() };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A stream the mock stalls after 2 content chunks until the client leaves. */
const STALLED_STREAM = "gpt-4o-mini+hang=2";

/** Waits (up to 10 s: a stalled stream ends at the 3 s deadline) until every call of the team is recorded and nothing is held; fails otherwise. */
async function untilNothingHeld(team: TestTeam): Promise<void> {
  let held = -1;
  for (let i = 0; i < 500 && held !== 0; i++) {
    if (i > 0) await sleep(20);
    held = (await balance(team)).credits_held;
  }
  expect(held, "credits still held 10 s after the last call was sent").toBe(0);
}

async function jobView(team: TestTeam, job: string) {
  return json("GET", `/api/jobs/${job}`, 200, { key: team.key });
}

describe("load with upstream faults", () => {
  it("60 concurrent calls over 4 jobs with failing groups: every call accounted for, each completed job charged once", async () => {
    const team = await createTeam({ credits: 10, models: GROUPS.map((g) => [...g.models]) });
    const jobs: string[] = [];
    for (let i = 0; i < 4; i++) jobs.push(await createJob(team, "load"));

    // 4 jobs × 5 groups are coprime: each job gets each group 3 times.
    const sent = await Promise.all(Array.from({ length: 60 }, (_, i) => callAt(team, jobs[i % 4], i % 5)));

    // Each call got what its group gives, and the 200s carry real answers.
    for (const s of sent) {
      expect(s.status, `${s.group.name}: ${JSON.stringify(s.body)}`).toBe(s.group.status);
      if (s.status === 200) expect(s.body.response.content).toMatch(/^Mock answer from /);
      else expect(typeof s.body.detail).toBe("string");
    }
    const ok = sent.filter((s) => s.status === 200);
    expect(ok).toHaveLength(36);
    expect(new Set(ok.map((s) => s.body.call_id)).size).toBe(36);

    // Every call is on its job: successful + failed = sent, 200s = successful, same call ids.
    let recorded = 0;
    for (const job of jobs) {
      const view = await jobView(team, job);
      const mine = sent.filter((s) => s.job === job);
      const mineOk = mine.filter((s) => s.status === 200);
      expect(view.status).toBe("in_progress");
      expect(view.calls).toHaveLength(mine.length);
      expect(view.costs).toMatchObject({
        total_calls: mine.length,
        successful_calls: mineOk.length,
        failed_calls: mine.length - mineOk.length,
      });
      expect(
        view.calls
          .filter((c: any) => c.status === "success")
          .map((c: any) => c.call_id)
          .sort(),
      ).toEqual(mineOk.map((s) => s.body.call_id).sort());
      expect(view.costs.total_tokens).toBe(mineOk.reduce((n, s) => n + s.body.metadata.tokens_used, 0));
      for (const c of view.calls.filter((c: any) => c.status === "failed")) expect(c.total_tokens).toBe(0);
      recorded += view.calls.length;
    }
    expect(recorded).toBe(60);

    // LiteLLM saw exactly the attempts the groups call for: no call lost, none retried twice.
    const upstream = await upstreamRequests(mockUrl, team.teamId);
    expect(upstream).toHaveLength(sent.reduce((n, s) => n + s.group.attempts, 0));
    expect(new Set(upstream.map((r) => r.headers["x-litellm-call-id"])).size).toBe(60);
    for (const s of ok) expect(upstream.filter((r) => r.headers["x-litellm-call-id"] === s.body.call_id)).toHaveLength(s.group.attempts);

    // Calls cost nothing by themselves in job_based mode: only the 4 reservations are held.
    expect(await balance(team)).toMatchObject({ credits_remaining: 10, credits_reserved: 4 });

    // Completions, each sent 3 times at once: 2 completed (charged once), 1 failed, 1 cancelled.
    const endings = ["completed", "completed", "failed", "cancelled"] as const;
    const completions = await Promise.all(
      jobs.flatMap((job, i) =>
        Array.from({ length: 3 }, () =>
          api("POST", `/api/jobs/${job}/complete`, { key: team.key, body: { status: endings[i] } }).then(async (r) => ({
            job,
            status: r.status,
            body: (await r.json()) as any,
          })),
        ),
      ),
    );
    for (const c of completions) expect(c.status, JSON.stringify(c.body)).toBe(200);
    for (const [i, job] of jobs.entries()) {
      const summaries = completions.filter((c) => c.job === job).map((c) => c.body);
      for (const s of summaries) expect(s).toEqual(summaries[0]);
      expect(summaries[0].costs).toMatchObject({
        total_calls: 15,
        successful_calls: 9,
        failed_calls: 6,
        credit_applied: endings[i] === "completed",
      });
      expect(summaries[0].calls).toHaveLength(15);
    }

    const b = await expectLedgerConsistent(team);
    expect(b).toMatchObject({ credits_allocated: 10, credits_used: 2, credits_remaining: 8, credits_reserved: 0 });
    const rows = await allTransactions(team);
    for (const [i, job] of jobs.entries()) {
      const kinds = rows
        .filter((r) => r.job_id === job)
        .map((r) => r.kind)
        .sort();
      expect(kinds, endings[i]).toEqual(endings[i] === "completed" ? ["deduction", "reservation"] : ["release", "reservation"]);
    }
    const usage = await json("GET", `/api/teams/${team.teamId}/usage`, 200, { key: team.key });
    expect(usage.summary).toMatchObject({ jobs: 4, completed: 2, failed: 1, cancelled: 1, calls: 60, credits_charged: 2 });
  });

  it("calls racing their job's completion: each is recorded or refused before LiteLLM, and the completion's answer is the final charge", async () => {
    // The groups above, and one whose stream the mock stalls after 2 chunks until the client leaves.
    const team = await createTeam({
      credits: 100_000,
      models: [...GROUPS.map((g) => [...g.models]), [STALLED_STREAM]],
      extra: { budget_mode: "consumption_tokens", tokens_per_credit: 10 },
    });
    const jobs = [await createJob(team, "race"), await createJob(team, "race")];

    // 40 calls started over ~160 ms; both jobs completed ~60 ms in, with calls in flight and more to come.
    const calls = Array.from({ length: 40 }, (_, i) => sleep(i * 4).then(() => callAt(team, jobs[i % 2], i % 5)));
    // And a late call in each job for sure: a stream that has begun (admitted, held, LiteLLM
    // answering) when its job is completed. The mock stalls it, the gateway ends it at its upstream
    // deadline (LITELLM_TIMEOUT_MS, 3 s here) and records it as failed, with estimated usage; the
    // completion waits for that record (up to 5 s), or settles the call from its hold.
    const late = jobs.map(async (job) => {
      const res = await api("POST", `/api/jobs/${job}/llm-call-stream`, {
        key: team.key,
        body: { model_group: team.groups[GROUPS.length], messages: userMessage(`late ${crypto.randomUUID()}`), purpose: "late" },
      });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      expect((await reader.read()).done).toBe(false);
      return reader;
    });
    await Promise.all([sleep(60), ...late]);
    const completes = jobs.map((job) => api("POST", `/api/jobs/${job}/complete`, { key: team.key, body: { status: "completed" } }));
    const sent = await Promise.all(calls);
    const atCompletion: any[] = [];
    for (const res of await Promise.all(completes)) {
      expect(res.status).toBe(200);
      atCompletion.push(await res.json());
    }
    // Once the job is completed, a call is refused before it reaches LiteLLM.
    const after = await Promise.all(jobs.map((job) => callAt(team, job, 0)));
    for (const s of after) expect(s.status, JSON.stringify(s.body)).toBe(409);
    // The late streams were settled by their job's completion.
    await untilNothingHeld(team);
    for (const reader of await Promise.all(late)) await reader.cancel();

    for (const s of sent) {
      // Answered as the group answers, or refused because the job had already ended.
      expect([s.group.status, 409], `${s.group.name}: ${JSON.stringify(s.body)}`).toContain(s.status);
    }
    const admitted = sent.filter((s) => s.status !== 409);
    const upstream = await upstreamRequests(mockUrl, team.teamId);
    expect(upstream).toHaveLength(admitted.reduce((n, s) => n + s.group.attempts, 0) + late.length);

    let charged = 0;
    const rows = await allTransactions(team);
    for (const [i, job] of jobs.entries()) {
      const view = await jobView(team, job);
      const mine = admitted.filter((s) => s.job === job);
      const mineOk = mine.filter((s) => s.status === 200);
      const lateCall = view.calls.find((c: any) => c.purpose === "late");
      expect(view.status).toBe("completed");
      // Recorded when its stream ended at the deadline, or settled from its hold if that took longer than the completion waits.
      expect(["failed", "unrecorded"]).toContain(lateCall.status);
      expect(lateCall).toMatchObject({ stream: true, usage_estimated: true });
      expect(lateCall.total_tokens).toBeGreaterThanOrEqual(10);
      expect(view.costs).toMatchObject({
        total_calls: mine.length + 1,
        successful_calls: mineOk.length,
        failed_calls: mine.length - mineOk.length + 1,
      });
      expect(view.costs.total_tokens).toBe(mineOk.reduce((n, s) => n + s.body.metadata.tokens_used, 0) + lateCall.total_tokens);
      // The race happened: the late call was in flight when the job was completed, and the
      // completion's answer already counts it. Its charge is the job's final charge: nothing is
      // deducted after it.
      expect(atCompletion[i].calls.map((c: any) => c.call_id)).toContain(lateCall.call_id);
      expect(atCompletion[i].costs.total_tokens).toBe(view.costs.total_tokens);
      expect(view.credits_charged).toBe(Math.max(1, Math.floor(view.costs.total_tokens / 10)));
      expect(atCompletion[i].costs.credits_charged).toBe(view.credits_charged);
      const deductions = rows.filter((r) => r.job_id === job && r.kind === "deduction");
      expect(deductions.some((r) => /Late call/.test(r.reason))).toBe(false);
      expect(deductions.reduce((n, r) => n - r.amount, 0)).toBe(view.credits_charged);
      charged += view.credits_charged;
    }
    const b = await expectLedgerConsistent(team, { callsEnded: true });
    expect(b).toMatchObject({ credits_used: charged, credits_remaining: 100_000 - charged, credits_reserved: 0 });
  });
});
