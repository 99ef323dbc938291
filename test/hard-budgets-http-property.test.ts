import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { api, createJob, createTeam, expectLedgerConsistent, json, type TestTeam, userMessage } from "./helpers";

// Random sequences of the real routes under overdraft none (the smaller, end-to-end sibling of
// hard-budgets-property.test.ts, which drives the ledger object's methods directly): create a
// job, call, stream, stream and leave mid-way, calls at once, complete, top up, change the budget mode. After
// every sequence, and once every call has been recorded, the balance is not negative and the
// ledger explains every counter (expectLedgerConsistent), holds included.

// A priced model of its own, paced so a stream can be left half-read: the team's object reads
// its price to hold each call's worst case.
const MODEL = "gpt-4o-mini+chunks=6+delay=5+ttfb=7";
const MODES = ["consumption_usd", "consumption_tokens", "job_based"] as const;
const STATUSES = ["completed", "failed", "cancelled"] as const;

const action = fc.oneof(
  fc.record({ kind: fc.constant("create" as const) }),
  fc.record({
    kind: fc.constantFrom("call" as const, "stream" as const, "abort" as const),
    job: fc.nat(3),
    maxTokens: fc.option(fc.constantFrom(16, 300, 5_000, 100_000)),
  }),
  // Calls at once in one job: what would overrun the balance without holds.
  fc.record({
    kind: fc.constant("burst" as const),
    job: fc.nat(3),
    n: fc.integer({ min: 2, max: 8 }),
    maxTokens: fc.option(fc.constantFrom(16, 300)),
  }),
  fc.record({ kind: fc.constant("complete" as const), job: fc.nat(3), status: fc.constantFrom(...STATUSES) }),
  fc.record({ kind: fc.constant("topUp" as const), credits: fc.integer({ min: 1, max: 2 }) }),
  fc.record({ kind: fc.constant("mode" as const), mode: fc.constantFrom(...MODES) }),
);
type Action = typeof action extends fc.Arbitrary<infer A> ? A : never;

/** What a call route may answer here: served, refused for credits, its job closed, or the team paused for a negative balance (never under none). */
const CALL_STATUSES = [200, 402, 409];

function callBody(team: TestTeam, maxTokens: number | null) {
  return { model_group: team.groups[0], messages: userMessage(), ...(maxTokens === null ? {} : { max_tokens: maxTokens }) };
}

/** What the runs exercised, by action and answer ("stream 402"): the test checks it covered the interesting paths. */
const seen = new Set<string>();

async function step(team: TestTeam, jobs: string[], a: Action): Promise<void> {
  if (a.kind === "create") {
    const res = await api("POST", "/api/jobs/create", { key: team.key, body: { team_id: team.teamId, job_type: "prop" } });
    expect([200, 402], await res.clone().text()).toContain(res.status);
    if (res.status === 200) jobs.push((await res.json<{ job_id: string }>()).job_id);
  } else if (a.kind === "complete") {
    if (jobs.length === 0) return;
    const res = await api("POST", `/api/jobs/${jobs[a.job % jobs.length]}/complete`, { key: team.key, body: { status: a.status } });
    expect([200, 409], await res.clone().text()).toContain(res.status);
  } else if (a.kind === "topUp") {
    await json("POST", `/api/credits/teams/${team.teamId}/add`, 200, { body: { credits: a.credits } });
  } else if (a.kind === "mode") {
    await json("PATCH", `/api/credits/teams/${team.teamId}/budget-mode`, 200, { body: { budget_mode: a.mode } });
  } else if (a.kind === "burst") {
    const kinds = ["call", "stream"] as const;
    await Promise.all(Array.from({ length: a.n }, (_, i) => step(team, jobs, { ...a, kind: kinds[i % 2] })));
  } else {
    if (jobs.length === 0) return;
    const jobId = jobs[a.job % jobs.length];
    const route = a.kind === "call" ? "llm-call" : "llm-call-stream";
    const res = await api("POST", `/api/jobs/${jobId}/${route}`, { key: team.key, body: callBody(team, a.maxTokens) });
    const refused = res.status !== 200;
    seen.add(`${a.kind} ${res.status}`);
    expect(CALL_STATUSES, refused ? await res.clone().text() : route).toContain(res.status);
    if (a.kind === "abort" && !refused) {
      // Read the first chunk, then leave: the gateway records the call as aborted, in the background.
      const reader = res.body!.getReader();
      await reader.read();
      await reader.cancel();
    } else {
      await res.text();
    }
  }
}

/**
 * Waits until every call the team made is recorded (an abandoned stream is recorded in the
 * background) and its hold released; fails when something is still held after 5 s.
 */
async function settled(team: TestTeam): Promise<void> {
  let held = -1;
  for (let i = 0; i < 250; i++) {
    held = (await json("GET", `/api/credits/teams/${team.teamId}/balance`, 200)).credits_held;
    if (held === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expect(held, "credits still held 5 s after every call ended").toBe(0);
}

describe("hard budgets over HTTP, property", () => {
  it("any sequence of job, call, stream, abort, complete, top-up and mode change keeps the balance at or above zero and the ledger consistent", async () => {
    await json("PUT", "/api/pricing", 200, { body: { model_name: MODEL, input_per_million_usd: 0.15, output_per_million_usd: 0.6 } });
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 4, maxLength: 14 }), async (actions) => {
        // 1 credit is $0.001 (or 50 tokens): a few calls fit, a large max_tokens does not.
        const team = await createTeam({
          credits: 2,
          models: [[MODEL]],
          extra: { budget_mode: "consumption_usd", credits_per_dollar: 1000, tokens_per_credit: 50 },
        });
        const jobs = [await createJob(team)];
        for (const a of actions) {
          await step(team, jobs, a);
          const b = await json("GET", `/api/credits/teams/${team.teamId}/balance`, 200);
          expect(b.credits_remaining).toBeGreaterThanOrEqual(0);
        }
        for (const jobId of jobs) await api("POST", `/api/jobs/${jobId}/complete`, { key: team.key, body: { status: "completed" } });
        await settled(team);
        const b = await expectLedgerConsistent(team, { callsEnded: true });
        expect(b.overdraft).toBe("none");
      }),
      {
        numRuns: 25,
        // Run first, so every run covers the paths checked below whatever the random ones draw.
        examples: [
          [
            [
              { kind: "call", job: 0, maxTokens: 300 },
              { kind: "stream", job: 0, maxTokens: 300 },
              { kind: "abort", job: 0, maxTokens: 16 },
              { kind: "call", job: 0, maxTokens: 100_000 },
              { kind: "stream", job: 0, maxTokens: 100_000 },
            ],
          ],
        ],
      },
    );
    // The runs served calls, streams and abandoned streams, and refused calls for credits.
    for (const path of ["call 200", "stream 200", "abort 200", "call 402", "stream 402"]) expect([...seen]).toContain(path);
  }, 90_000);
});
