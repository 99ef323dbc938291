import { env, evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { expectGrantsConsistent, grantsOf } from "./grants-helpers";
import { api, createTeam, json, type TestTeam, userMessage } from "./helpers";

// Random mixes of grants (every source, priority and expiry), voids, a plan allowance, jobs with
// calls held under `overdraft: none`, opened through the team's key or a named key with a period
// budget, completions of every kind, refunds, restarts of the team's object, and time passing on
// a controllable clock, with and without the alarm. After every step: the balance is the grants'
// remaining credits (no overdraft: never below zero), no grant is below zero, the budgeted key
// has spent and holds no more than its budget in its window; at the end: no grant that ended paid anything after its end but what
// open jobs held of it then, and the allowance renewed exactly once per period, without a gap.

const HOUR = 3_600_000;
const START = Date.parse("2028-01-10T09:00:00Z");

const action = fc.oneof(
  fc.record({
    kind: fc.constant("grant" as const),
    credits: fc.integer({ min: 1, max: 60 }),
    source: fc.constantFrom("paid" as const, "promotional" as const, "plan" as const),
    expiresInHours: fc.option(fc.constantFrom(1, 5, 30, 200)),
    priority: fc.option(fc.constantFrom(0, 50, 90)),
  }),
  fc.record({ kind: fc.constant("void" as const), grant: fc.nat(20) }),
  fc.record({ kind: fc.constant("open" as const), viaKey: fc.boolean() }),
  fc.record({ kind: fc.constant("call" as const), job: fc.nat(5), maxTokens: fc.constantFrom(5, 20, 60) }),
  fc.record({ kind: fc.constant("end" as const), job: fc.nat(5), status: fc.constantFrom("completed", "failed", "cancelled") }),
  fc.record({ kind: fc.constant("refund" as const), job: fc.nat(5) }),
  fc.record({ kind: fc.constant("restart" as const) }),
  fc.record({ kind: fc.constant("time" as const), hours: fc.constantFrom(1, 6, 25, 24 * 9), alarm: fc.boolean() }),
);
type Action = typeof action extends fc.Arbitrary<infer A> ? A : never;

const allowanceTerms = fc.record({
  credits: fc.integer({ min: 5, max: 40 }),
  period: fc.constantFrom("day" as const, "week" as const, "month" as const),
  rollover: fc.constantFrom("none" as const, { max: 7 }),
});

const keyBudget = fc.record({
  credits: fc.integer({ min: 2, max: 30 }),
  period: fc.constantFrom("day" as const, "week" as const, "month" as const, "total" as const),
});

interface Run {
  team: TestTeam;
  clockMs: number;
  jobs: string[];
  completed: string[];
  /** The named key with a budget, and the key each job was opened with. */
  budgetedKey: string;
  keyOf: Map<string, string>;
}

const seen = new Set<string>();
const ledgerOf = (run: Run) => env.TEAM_LEDGER.getByName(run.team.teamId);

function pick<T>(list: T[], n: number): T | null {
  return list.length === 0 ? null : list[n % list.length];
}

async function step(run: Run, a: Action): Promise<void> {
  const { team } = run;
  const base = `/api/credits/teams/${team.teamId}`;
  if (a.kind === "grant") {
    const body: Record<string, unknown> = { credits: a.credits, source: a.source };
    if (a.expiresInHours !== null) body.expires_at = new Date(run.clockMs + a.expiresInHours * HOUR).toISOString();
    if (a.priority !== null) body.priority = a.priority;
    await json("POST", `${base}/grants`, 200, { body });
  } else if (a.kind === "void") {
    const grant = pick(await grantsOf(team, "&status=live"), a.grant);
    if (grant) {
      await json("DELETE", `${base}/grants/${grant.grant_id}`, 200);
      seen.add("void");
    }
  } else if (a.kind === "open") {
    const key = a.viaKey ? run.budgetedKey : team.key;
    const res = await api("POST", "/api/jobs/create", { key, body: { team_id: team.teamId, job_type: "prop" } });
    expect([200, 402], await res.clone().text()).toContain(res.status);
    if (a.viaKey) seen.add(`key open ${res.status}`);
    if (res.status === 200) {
      const { job_id } = await res.json<{ job_id: string }>();
      run.jobs.push(job_id);
      run.keyOf.set(job_id, key);
    }
  } else if (a.kind === "call") {
    const jobId = pick(run.jobs, a.job);
    if (!jobId) return;
    const key = run.keyOf.get(jobId)!;
    const res = await api("POST", `/api/jobs/${jobId}/llm-call`, {
      key,
      body: { model_group: team.groups[0], messages: userMessage(), max_tokens: a.maxTokens },
    });
    expect([200, 402, 409], await res.clone().text()).toContain(res.status);
    seen.add(`${key === run.budgetedKey ? "key " : ""}call ${res.status}`);
    await res.text();
  } else if (a.kind === "end") {
    const jobId = pick(run.jobs, a.job);
    if (!jobId) return;
    const res = await api("POST", `/api/jobs/${jobId}/complete`, { key: run.keyOf.get(jobId)!, body: { status: a.status } });
    expect([200, 409], await res.clone().text()).toContain(res.status);
    if (res.status === 200 && a.status === "completed") {
      run.completed.push(jobId);
      // Its holds kept it funded whatever ended meanwhile: it is charged all it consumed (4 tokens a credit, at least 1).
      const { costs } = await res.json<any>();
      expect(costs.credits_charged, jobId).toBe(Math.max(1, Math.floor(costs.total_tokens / 4)));
    }
  } else if (a.kind === "refund") {
    const jobId = pick(run.completed, a.job);
    if (!jobId) return;
    const res = await api("POST", `${base}/refund`, { body: { job_id: jobId, reason: "property" } });
    expect([200, 400, 409], await res.clone().text()).toContain(res.status);
    if (res.status === 200) seen.add("refund");
  } else if (a.kind === "restart") {
    await evictDurableObject(ledgerOf(run)).catch(() => {});
  } else if (a.kind === "time") {
    run.clockMs += a.hours * HOUR;
    vi.setSystemTime(run.clockMs);
    // Without the alarm, the next request settles what fell due (at the moment it fell due).
    if (a.alarm) await runDurableObjectAlarm(ledgerOf(run));
  }
}

/** After every step: the balance is the grants', and no grant is below zero. */
async function expectBalanceIsGrants(run: Run, label: string) {
  const b = await json("GET", `/api/credits/teams/${run.team.teamId}/balance`, 200);
  const grants = await grantsOf(run.team);
  const sum = grants.reduce((s, g) => s + g.remaining, 0);
  expect(b.credits_remaining, label).toBe(sum);
  expect(b.grants.overdrawn, label).toBe(0);
  expect(b.credits_remaining, label).toBeGreaterThanOrEqual(0);
  for (const g of grants) expect(g.remaining, `${label}: ${g.grant_id}`).toBeGreaterThanOrEqual(0);
  // The budgeted key's jobs draw on the same grants, and never past the key's budget in its window.
  const { keys } = await json("GET", `/api/teams/${run.team.teamId}/keys`, 200);
  const { budget } = keys.find((k: any) => k.name === "budgeted");
  expect(budget.spent_credits + budget.held_credits, `${label}: ${JSON.stringify(budget)}`).toBeLessThanOrEqual(budget.credits);
  if (budget.spent_credits > 0) seen.add("key spent");
}

/**
 * No grant that ended paid anything after its end but what open jobs held of it then: the
 * charges on it after its end row come from jobs opened before its end, and add up to at most
 * what it still had once the end row was written; what is refunded to it leaves again at once.
 */
function expectNothingSpentAfterEnd(rows: any[], grants: any[]) {
  const chronological = [...rows].reverse();
  // When each job opened, as the position of its reservation row in the ledger (the frozen test clock can give a job
  // and a grant's end the same millisecond; the ledger's order is the order they happened in).
  const opened = new Map<string, number>();
  chronological.forEach((r, at) => {
    if (r.kind === "reservation" && r.job_id) opened.set(r.job_id, at);
  });
  for (const g of grants.filter((g) => g.ended_at !== null)) {
    let remaining = 0;
    let ended = false;
    let endedAt = -1;
    let heldAtEnd = 0;
    let chargedAfter = 0;
    for (const [at, r] of chronological.entries()) {
      for (const s of r.grants.filter((s: any) => s.grant_id === g.grant_id)) {
        remaining += s.credits;
        if (ended && s.kind === "charge") {
          chargedAfter -= s.credits;
          expect(opened.get(r.job_id)! < endedAt, `${g.grant_id} paid job ${r.job_id} opened after it ended`).toBe(true);
          seen.add("held credits charged after end");
        }
        if (ended && s.kind === "refund") seen.add("refund to an ended grant");
      }
      if (!ended && r.grants.some((s: any) => s.grant_id === g.grant_id && (s.kind === "expiry" || s.kind === "void"))) {
        ended = true;
        endedAt = at;
        heldAtEnd = remaining;
        if (heldAtEnd > 0) seen.add("held at end");
      }
    }
    expect(chargedAfter, g.grant_id).toBeLessThanOrEqual(heldAtEnd);
  }
}

/** Each period of the allowance got its plan grant once, each beginning where the last one expired, up to the period under way. */
function expectRenewedOncePerPeriod(grants: any[], nowMs: number) {
  const own = grants.filter((g) => g.plan && !g.plan.rollover).reverse();
  const starts = own.map((g) => g.plan.period_start);
  expect(new Set(starts).size).toBe(starts.length);
  for (let i = 1; i < own.length; i++) expect(own[i].plan.period_start).toBe(own[i - 1].expires_at);
  const last = own.at(-1);
  expect(Date.parse(last.plan.period_start)).toBeLessThanOrEqual(nowMs);
  expect(Date.parse(last.expires_at)).toBeGreaterThan(nowMs);
  if (own.length > 1) seen.add("renewed");
  for (const g of grants.filter((g) => g.plan?.rollover)) {
    expect(starts).toContain(g.plan.period_start);
    seen.add("rolled over");
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe("grants, property", () => {
  it("any mix of grants, voids, jobs with held calls, completions, refunds, restarts and time: the balance is the grants', none below zero, none spent after it ended beyond what was held, each period renewed once", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(0, 10),
        allowanceTerms,
        keyBudget,
        fc.array(action, { minLength: 8, maxLength: 24 }),
        async (opening, terms, budget, actions) => {
          vi.useFakeTimers({ toFake: ["Date"] });
          vi.setSystemTime(START);
          const team = await createTeam({
            credits: opening,
            extra: { budget_mode: "consumption_tokens", tokens_per_credit: 4, job_ttl_seconds: 2 * 86_400 },
          });
          await json("PUT", `/api/credits/teams/${team.teamId}/allowance`, 200, { body: terms });
          const budgeted = await json("POST", `/api/teams/${team.teamId}/keys`, 200, { body: { name: "budgeted", budget } });
          const run: Run = { team, clockMs: START, jobs: [], completed: [], budgetedKey: budgeted.virtual_key, keyOf: new Map() };
          for (const a of actions) {
            await step(run, a);
            await expectBalanceIsGrants(run, JSON.stringify(a));
          }
          // Past every job's time-to-live: every job has ended, every hold is settled.
          await step(run, { kind: "time", hours: 24 * 3, alarm: true });
          const { grants, rows, balance } = await expectGrantsConsistent(team);
          expect(balance.credits_reserved).toBe(0);
          expect(grants.filter((g) => g.held_for_jobs > 0)).toEqual([]);
          expectNothingSpentAfterEnd(rows, grants);
          expectRenewedOncePerPeriod(grants, run.clockMs);
          vi.useRealTimers();
        },
      ),
      {
        numRuns: 14,
        examples: [
          [
            0,
            { credits: 5, period: "day", rollover: { max: 7 } },
            { credits: 12, period: "day" },
            [
              { kind: "grant", credits: 30, source: "promotional", expiresInHours: 5, priority: null },
              { kind: "open", viaKey: false },
              { kind: "call", job: 0, maxTokens: 60 },
              { kind: "open", viaKey: true },
              { kind: "call", job: 1, maxTokens: 5 },
              { kind: "call", job: 1, maxTokens: 60 },
              { kind: "end", job: 1, status: "completed" },
              { kind: "open", viaKey: true },
              { kind: "time", hours: 6, alarm: true },
              { kind: "end", job: 0, status: "completed" },
              { kind: "refund", job: 0 },
              { kind: "end", job: 2, status: "cancelled" },
              { kind: "restart" },
              { kind: "grant", credits: 20, source: "paid", expiresInHours: null, priority: 0 },
              { kind: "void", grant: 0 },
              { kind: "time", hours: 24 * 9, alarm: false },
              { kind: "open", viaKey: true },
              { kind: "open", viaKey: false },
            ],
          ],
        ],
      },
    );
    for (const path of [
      "call 200",
      "key call 200",
      "key spent",
      "key call 402",
      "held at end",
      "held credits charged after end",
      "refund",
      "refund to an ended grant",
      "void",
      "renewed",
      "rolled over",
    ]) {
      expect([...seen], JSON.stringify([...seen])).toContain(path);
    }
  }, 300_000);
});
