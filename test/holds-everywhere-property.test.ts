import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { endCharge, usdToNano } from "../src/ledger/rules/money";
import type { BudgetSettings } from "../src/ledger/types";
import type { BudgetMode, UnfinishedJobs } from "../src/schemas/budget";
import { api, callBudget, createTeam, expectLedgerConsistent, json, type TestTeam, userMessage } from "./helpers";

// Random mixes of every call kind under `overdraft: none`, through the real routes: chat (with
// n and tools), streams (read to the end or left after their first chunk), embeddings, calls
// whose Worker goes down after admission (admitted, never recorded), restarts of the team's
// object, time passing (a controllable clock and the object's alarm), job ends of every kind,
// top-ups and changes of `unfinished_jobs`. After every step the balance is not negative; after
// every alarm no hold is past its deadline; every job that ended was charged what it consumed by
// the team's `unfinished_jobs`; and at the end the ledger explains every counter.

const CHAT_MODEL = "gpt-4o-mini+chunks=5+delay=2+ttfb=11";
const EMBEDDING_MODEL = "text-embedding-3-small+ttfb=11";
const MODES = ["consumption_tokens", "consumption_usd", "job_based"] as const;
const ENDS = ["completed", "failed", "cancelled"] as const;
/** The test config's per-attempt deadline (vitest.config.ts); a stream may run 10 minutes more (LITELLM_STREAM_MAX_MS). */
const ATTEMPT_MS = 3_000;
const LONGEST_HOLD_MS = ATTEMPT_MS + 600_000 + 60_000;

const job = fc.nat(3);
const action = fc.oneof(
  fc.record({ kind: fc.constant("create" as const) }),
  fc.record({
    kind: fc.constant("chat" as const),
    job,
    n: fc.integer({ min: 1, max: 3 }),
    tools: fc.boolean(),
    maxTokens: fc.option(fc.constantFrom(16, 60, 300, 50_000)),
  }),
  fc.record({ kind: fc.constant("stream" as const), job, abort: fc.boolean(), maxTokens: fc.option(fc.constantFrom(16, 60, 50_000)) }),
  fc.record({ kind: fc.constant("embeddings" as const), job, chars: fc.constantFrom(40, 4_000, 40_000) }),
  // A Worker that admitted a call and went down: the call's record never comes.
  fc.record({ kind: fc.constant("lost" as const), job, maxTokens: fc.constantFrom(16, 300) }),
  fc.record({ kind: fc.constant("restart" as const) }),
  fc.record({ kind: fc.constant("time" as const), ms: fc.constantFrom(1_000, 20_000, 64_000, 130_000, LONGEST_HOLD_MS) }),
  fc.record({ kind: fc.constant("end" as const), job, status: fc.constantFrom(...ENDS) }),
  fc.record({ kind: fc.constant("topUp" as const), credits: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant("policy" as const), unfinished: fc.constantFrom("free" as const, "charged" as const) }),
);
type Action = typeof action extends fc.Arbitrary<infer A> ? A : never;

const TOOLS = [{ type: "function", function: { name: "lookup", description: "Look a word up", parameters: { type: "object" } } }];

interface Run {
  team: TestTeam;
  mode: BudgetMode;
  settings: BudgetSettings;
  unfinished: UnfinishedJobs;
  jobs: string[];
  /** Jobs whose end has been checked against the rule in force when they ended. */
  checked: Set<string>;
  clockMs: number;
}

/** What the runs exercised ("chat 402", "unrecorded", "cancelled charged"): the test checks it covered the paths that matter. */
const seen = new Set<string>();

const ledgerOf = (run: Run) => env.TEAM_LEDGER.getByName(run.team.teamId);

function pick(run: Run, n: number): string | null {
  return run.jobs.length === 0 ? null : run.jobs[n % run.jobs.length];
}

/** Holds past their deadline at the object's clock. */
function overdueHolds(run: Run): Promise<number> {
  return runInDurableObject(
    ledgerOf(run),
    (_instance, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM call_holds WHERE deadline_ms <= ?", Date.now()).one().n,
  );
}

/** A job that just ended was charged, by the team's rule at that moment, what it consumed (as its own view shows it). */
async function expectChargedByRule(run: Run, jobId: string, unfinished: UnfinishedJobs) {
  if (run.checked.has(jobId)) return;
  const view = await json("GET", `/api/jobs/${jobId}?team_id=${run.team.teamId}`, 200);
  if (view.status === "pending" || view.status === "in_progress") return;
  run.checked.add(jobId);
  seen.add(`${view.status}${view.credits_charged > 0 ? " charged" : ""}`);
  if (view.calls.some((c: { status: string }) => c.status === "unrecorded")) seen.add("unrecorded");
  const usage = {
    clientCostNano: usdToNano(view.costs.total_cost_usd),
    totalTokens: view.costs.total_tokens,
    successfulCalls: view.costs.successful_calls,
  };
  expect(view.credits_charged, `${view.status} job ${jobId}`).toBe(endCharge(run.settings, unfinished, view.status, usage));
  // Every call of an ended job is settled: recorded, or settled from its hold.
  expect(
    await runInDurableObject(ledgerOf(run), (_i, state) =>
      state.storage.sql.exec("SELECT 1 FROM call_holds WHERE job_id = ?", jobId).toArray(),
    ),
  ).toEqual([]);
}

async function step(run: Run, a: Action): Promise<void> {
  const { team } = run;
  if (a.kind === "create") {
    const res = await api("POST", "/api/jobs/create", { key: team.key, body: { team_id: team.teamId, job_type: "prop" } });
    expect([200, 402], await res.clone().text()).toContain(res.status);
    if (res.status === 200) run.jobs.push((await res.json<{ job_id: string }>()).job_id);
  } else if (a.kind === "chat") {
    const jobId = pick(run, a.job);
    if (!jobId) return;
    const body = {
      model_group: team.groups[0],
      messages: userMessage(),
      ...(a.n > 1 ? { n: a.n } : {}),
      ...(a.tools ? { tools: TOOLS } : {}),
      ...(a.maxTokens === null ? {} : { max_tokens: a.maxTokens }),
    };
    const res = await api("POST", `/api/jobs/${jobId}/llm-call`, { key: team.key, body });
    expect([200, 402, 409], await res.clone().text()).toContain(res.status);
    seen.add(`chat ${res.status}`);
    await res.text();
  } else if (a.kind === "stream") {
    const jobId = pick(run, a.job);
    if (!jobId) return;
    const body = { model_group: team.groups[0], messages: userMessage(), ...(a.maxTokens === null ? {} : { max_tokens: a.maxTokens }) };
    const res = await api("POST", `/api/jobs/${jobId}/llm-call-stream`, { key: team.key, body });
    expect([200, 402, 409], await res.clone().text()).toContain(res.status);
    seen.add(`stream ${res.status}`);
    if (res.status === 200 && a.abort) {
      const reader = res.body!.getReader();
      await reader.read();
      await reader.cancel();
    } else {
      await res.text();
    }
  } else if (a.kind === "embeddings") {
    const jobId = pick(run, a.job);
    if (!jobId) return;
    const res = await api("POST", "/v1/embeddings", {
      key: team.key,
      headers: { "x-job-id": jobId },
      body: { model: team.groups[1], input: ["z".repeat(a.chars), "a short one"] },
    });
    expect([200, 402, 409], await res.clone().text()).toContain(res.status);
    seen.add(`embeddings ${res.status}`);
    await res.text();
  } else if (a.kind === "lost") {
    const jobId = pick(run, a.job);
    if (!jobId) return;
    const budget = callBudget(crypto.randomUUID(), { maxTokens: a.maxTokens });
    if ((await ledgerOf(run).beginCall({ kind: "admin" }, jobId, team.groups[0], "team", budget)).ok) seen.add("lost admitted");
  } else if (a.kind === "restart") {
    await evictDurableObject(ledgerOf(run)).catch(() => {}); // not running: nothing to restart
  } else if (a.kind === "time") {
    run.clockMs += a.ms;
    vi.setSystemTime(run.clockMs);
    await runDurableObjectAlarm(ledgerOf(run));
    // The alarm settled every hold past its deadline, and ended every job past its time-to-live.
    expect(await overdueHolds(run)).toBe(0);
    for (const id of run.jobs) await expectChargedByRule(run, id, run.unfinished);
  } else if (a.kind === "end") {
    const jobId = pick(run, a.job);
    if (!jobId) return;
    const res = await api("POST", `/api/jobs/${jobId}/complete`, { key: team.key, body: { status: a.status } });
    expect([200, 409], await res.clone().text()).toContain(res.status);
    if (res.status === 200) {
      const summary = await res.json<any>();
      await expectChargedByRule(run, jobId, run.unfinished);
      // The answer is the final charge: what the job shows now is what its completion said.
      const view = await json("GET", `/api/jobs/${jobId}`, 200, { key: team.key });
      expect(view.credits_charged).toBe(summary.costs.credits_charged);
      expect(view.costs.total_tokens).toBe(summary.costs.total_tokens);
    }
  } else if (a.kind === "topUp") {
    await json("POST", `/api/credits/teams/${team.teamId}/add`, 200, { body: { credits: a.credits } });
  } else if (a.kind === "policy") {
    await json("PATCH", `/api/teams/${team.teamId}`, 200, { body: { unfinished_jobs: a.unfinished } });
    run.unfinished = a.unfinished;
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe("holds everywhere, property", () => {
  it("any mix of chat (n, tools), streams, embeddings, lost calls, restarts, time, job ends and top-ups under overdraft none: never below zero, every hold settled by its deadline, every job charged per unfinished_jobs", async () => {
    for (const [model, input, output] of [
      [CHAT_MODEL, 0.15, 0.6],
      [EMBEDDING_MODEL, 0.02, 0],
    ] as const) {
      await json("PUT", "/api/pricing", 200, { body: { model_name: model, input_per_million_usd: input, output_per_million_usd: output } });
    }
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...MODES), fc.array(action, { minLength: 6, maxLength: 18 }), async (mode, actions) => {
        vi.useFakeTimers({ toFake: ["Date"] });
        const start = Date.now();
        vi.setSystemTime(start);
        // 1 credit is $0.001, or 50 tokens: a few calls fit, a large max_tokens or n does not.
        const settings: BudgetSettings = { budgetMode: mode, creditsPerDollar: 1000, tokensPerCredit: 50, costMarkupPercentage: 0 };
        const team = await createTeam({
          credits: 3,
          models: [[CHAT_MODEL], [EMBEDDING_MODEL]],
          extra: { budget_mode: mode, credits_per_dollar: 1000, tokens_per_credit: 50, job_ttl_seconds: 120 },
        });
        const unfinished = mode === "job_based" ? "free" : "charged";
        const run: Run = { team, mode, settings, unfinished, jobs: [], checked: new Set(), clockMs: start };
        for (const a of actions) {
          await step(run, a);
          const b = await json("GET", `/api/credits/teams/${team.teamId}/balance`, 200);
          expect(b.credits_remaining, JSON.stringify(a)).toBeGreaterThanOrEqual(0);
          expect(b.unfinished_jobs).toBe(run.unfinished);
        }
        // Past every deadline and time-to-live: every hold is settled, every job ended and charged by the rule.
        await step(run, { kind: "time", ms: LONGEST_HOLD_MS });
        expect(run.checked.size).toBe(run.jobs.length);
        const b = await expectLedgerConsistent(team);
        expect(b.credits_held).toBe(0);
        expect(b.credits_available).toBe(b.credits_remaining);
        vi.useRealTimers();
      }),
      {
        numRuns: 12,
        examples: [
          [
            "consumption_tokens",
            [
              { kind: "create" },
              { kind: "chat", job: 0, n: 3, tools: true, maxTokens: 60 },
              { kind: "stream", job: 0, abort: true, maxTokens: 60 },
              { kind: "embeddings", job: 0, chars: 40 },
              { kind: "lost", job: 0, maxTokens: 16 },
              { kind: "restart" },
              { kind: "end", job: 0, status: "cancelled" },
              { kind: "create" },
              { kind: "lost", job: 1, maxTokens: 16 },
              { kind: "time", ms: 64_000 },
              { kind: "topUp", credits: 2 },
              { kind: "policy", unfinished: "free" },
              { kind: "end", job: 1, status: "failed" },
            ],
          ],
          // The plain paths, so the coverage check below never depends on what the random runs drew.
          [
            "job_based",
            [
              { kind: "create" },
              { kind: "chat", job: 0, n: 1, tools: false, maxTokens: 16 },
              { kind: "stream", job: 0, abort: false, maxTokens: 16 },
              { kind: "embeddings", job: 0, chars: 40 },
              { kind: "end", job: 0, status: "completed" },
              { kind: "time", ms: 1_000 },
            ],
          ],
        ],
      },
    );
    for (const path of [
      "chat 200",
      "chat 402",
      "stream 200",
      "embeddings 200",
      "lost admitted",
      "unrecorded",
      "expired",
      "cancelled charged",
    ]) {
      expect([...seen]).toContain(path);
    }
  }, 240_000);
});
