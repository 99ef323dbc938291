import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, inject, it, vi } from "vitest";
import type { TeamLedger } from "../src/ledger/team-ledger";
import type { CallRecord } from "../src/ledger/types";
import {
  allTransactions,
  api,
  balance,
  callBudget,
  createJob,
  createTeam,
  expectLedgerConsistent,
  json,
  llmCall,
  type TestTeam,
  uid,
  upstreamRequests,
  userMessage,
} from "./helpers";

// Holds that cover every call and heal themselves, and usage that is always paid for: each
// reproduced fault of an earlier version, as a user would see it. Time moves by a controllable
// clock (vi.setSystemTime: the team's object runs in this isolate) and the alarm is run with
// runDurableObjectAlarm; a restart of the object is evictDurableObject.

const mockUrl = inject("mockLiteLLMUrl");
const receiver = inject("webhookReceiverUrl");
const admin = { kind: "admin" } as const;

/** The test config's per-attempt deadline (vitest.config.ts) and the margin a call's record has beyond it (holds.ts HOLD_MARGIN_MS). */
const ATTEMPT_MS = 3_000;
const MARGIN_MS = 60_000;

afterEach(() => {
  vi.useRealTimers();
});

/** Freezes the clock (Date only: timers and I/O run as usual) at now; returns a function that moves it on. */
function controlledClock() {
  let nowMs = Date.now();
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(nowMs);
  return {
    start: nowMs,
    advance(ms: number) {
      nowMs += ms;
      vi.setSystemTime(nowMs);
    },
  };
}

function tokensTeam(credits: number, tokensPerCredit: number, extra: Record<string, unknown> = {}, models = [["gpt-4o-mini"]]) {
  return createTeam({ credits, models, extra: { budget_mode: "consumption_tokens", tokens_per_credit: tokensPerCredit, ...extra } });
}

function record(callId: string, group: string, overrides: Partial<CallRecord> = {}): CallRecord {
  return {
    callId,
    modelGroup: group,
    modelUsed: "gpt-4o-mini",
    attempts: [{ model: "gpt-4o-mini", outcome: "ok", status: 200, latency_ms: 5 }],
    purpose: null,
    status: "success",
    promptTokens: 100,
    completionTokens: 400,
    totalTokens: 500,
    providerCostNano: 1_000,
    costSource: "litellm",
    usageEstimated: false,
    latencyMs: 5,
    error: null,
    stream: false,
    ...overrides,
  };
}

const ledgerOf = (team: TestTeam) => env.TEAM_LEDGER.getByName(team.teamId);

async function adminJob(team: TestTeam, jobId: string) {
  return json("GET", `/api/jobs/${jobId}?team_id=${team.teamId}`, 200);
}

async function receivedEvents(path: string): Promise<any[]> {
  const res = await fetch(`${receiver}/_received?path=${encodeURIComponent(path)}`);
  return ((await res.json()) as Array<{ body: string }>).map((r) => JSON.parse(r.body));
}

/** Runs the team's alarm (delivering its webhook events) until `path` received `count` events. */
async function eventsDelivered(team: TestTeam, path: string, count: number): Promise<any[]> {
  await vi.waitFor(
    async () => {
      await runDurableObjectAlarm(ledgerOf(team));
      expect((await receivedEvents(path)).length).toBeGreaterThanOrEqual(count);
    },
    { timeout: 10_000, interval: 50 },
  );
  return receivedEvents(path);
}

describe("the hold of every call is its true worst case", () => {
  it("n is held: max_tokens 80 with n 8 holds 8 choices, so 2 credits refuse it (402) and nothing goes upstream", async () => {
    const team = await tokensTeam(2, 50);
    const job = await createJob(team);
    const res = await llmCall(team, job, team.groups[0], { max_tokens: 80, n: 8 });
    expect(res.status).toBe(402);
    expect((await res.json<any>()).detail).toMatch(/max_tokens 80 for each of its 8 choices/);
    expect(await upstreamRequests(mockUrl, team.teamId)).toEqual([]);
    await expectLedgerConsistent(team);
  });

  it("n is held: with credits enough, what the call used fits its hold, and the job is charged all of it", async () => {
    const team = await tokensTeam(30, 50);
    const job = await createJob(team);
    const res = await llmCall(team, job, team.groups[0], { max_tokens: 80, n: 8 });
    expect(res.status, await res.clone().text()).toBe(200);
    const { calls } = await json("GET", `/api/jobs/${job}`, 200, { key: team.key });
    const used = calls[0].total_tokens;
    expect(calls[0].completion_tokens).toBeGreaterThan(80); // more than one choice's worth
    const hold = (await allTransactions(team)).find((r) => r.kind === "hold");
    expect(used * 20_000).toBeLessThanOrEqual(hold.held_change_micro); // 1 token = 1/50 credit = 20,000 micro-credits
    const done = await json("POST", `/api/jobs/${job}/complete`, 200, { key: team.key, body: { status: "completed" } });
    expect(done.costs.credits_charged).toBe(Math.max(1, Math.floor(used / 50)));
    await expectLedgerConsistent(team);
  });

  it("embeddings are held on their whole input: 200,000 characters against 2 credits is 402 before anything goes upstream", async () => {
    const team = await tokensTeam(2, 50, {}, [["text-embedding-3-small"]]);
    const res = await api("POST", "/v1/embeddings", { key: team.key, body: { model: team.groups[0], input: "x".repeat(200_000) } });
    expect(res.status).toBe(402);
    expect((await res.json<any>()).error.message).toMatch(/insufficient credits/i);
    expect(await upstreamRequests(mockUrl, team.teamId)).toEqual([]);
    // Token arrays count their length: 60 token ids hold 60 tokens (1.2 credits), which fit.
    const small = await api("POST", "/v1/embeddings", { key: team.key, body: { model: team.groups[0], input: [Array(60).fill(7)] } });
    expect(small.status, await small.clone().text()).toBe(200);
    await expectLedgerConsistent(team);
  });

  it("twenty concurrent embeddings in one X-Job-Id job against 1 credit: each held at its input, at most what the credit covers is served", async () => {
    const model = `text-embedding-3-small+ttfb=${Math.floor(Math.random() * 1000) + 1}`;
    await json("PUT", "/api/pricing", 200, { body: { model_name: model, input_per_million_usd: 0.02, output_per_million_usd: 0 } });
    // 1 credit is $0.001; 100,000 characters are 25,000 tokens, $0.0005: half a credit each.
    const team = await createTeam({ credits: 1, models: [[model]], extra: { budget_mode: "consumption_usd", credits_per_dollar: 1000 } });
    const job = await createJob(team);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        api("POST", "/v1/embeddings", {
          key: team.key,
          headers: { "x-job-id": job },
          body: { model: team.groups[0], input: "y".repeat(100_000) },
        }),
      ),
    );
    const served = answers.filter((a) => a.status === 200).length;
    expect(served + answers.filter((a) => a.status === 402).length).toBe(20);
    expect(served).toBeGreaterThanOrEqual(1);
    expect(served).toBeLessThanOrEqual(2);
    expect((await upstreamRequests(mockUrl, team.teamId)).length).toBe(served);
    const done = await json("POST", `/api/jobs/${job}/complete`, 200, { key: team.key, body: { status: "completed" } });
    expect(done.costs.credits_charged).toBe(1);
    expect(done.costs.total_cost_usd).toBeCloseTo(served * 0.0005, 9);
    const b = await expectLedgerConsistent(team);
    expect(b.credits_remaining).toBe(0);
  });

  it.each([
    {
      field: "tools",
      extra: {
        tools: [{ type: "function", function: { name: "lookup", description: "d".repeat(8_000), parameters: { type: "object" } } }],
      },
    },
    {
      field: "response_format",
      extra: {
        response_format: {
          type: "json_schema",
          json_schema: { name: "answer", schema: { type: "object", description: "d".repeat(8_000) } },
        },
      },
    },
    {
      field: "an image",
      extra: {
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "What is in this picture?" },
              { type: "image_url", image_url: { url: "https://example.com/cat.png" } },
            ],
          },
        ],
      },
    },
  ])("$field counts in the prompt's worst case: a call that fits only without it is 402", async ({ extra }) => {
    // 5 credits are 500 tokens: the messages and max_tokens 50 fit; 8,000 characters (2,000 tokens) or an image (1,600) do not.
    const team = await tokensTeam(5, 100);
    const job = await createJob(team);
    const fits = await llmCall(team, job, team.groups[0], { max_tokens: 50 });
    expect(fits.status, await fits.clone().text()).toBe(200);
    const res = await llmCall(team, job, team.groups[0], { max_tokens: 50, ...extra });
    expect(res.status).toBe(402);
    expect((await res.json<any>()).detail).toMatch(/insufficient credits/i);
    expect((await upstreamRequests(mockUrl, team.teamId)).length).toBe(1);
    await expectLedgerConsistent(team);
  });
});

describe("holds heal", () => {
  it("a hold whose call is never recorded is settled by the alarm at its deadline, with no request: unrecorded, in the ledger, told by webhook", async () => {
    const clock = controlledClock();
    const team = await tokensTeam(4, 1000);
    const hook = `/hook/${uid("unrecorded")}`;
    await json("PUT", `/api/teams/${team.teamId}/webhook`, 200, { body: { url: `${receiver}${hook}`, low_balance_threshold: 1 } });
    const job = await createJob(team);
    const ledger = ledgerOf(team);
    // A Worker admitted a call (1,000 prompt tokens + max_tokens 2,000: 3 credits held) and went down with it.
    const callId = crypto.randomUUID();
    const budget = callBudget(callId, { promptTokens: 1_000, maxTokens: 2_000 });
    expect((await ledger.beginCall(admin, job, team.groups[0], "team", budget)).ok).toBe(true);
    expect(await balance(team)).toMatchObject({ credits_held: 3, credits_available: 1, credits_remaining: 4 });
    await evictDurableObject(ledger);

    // Just before its deadline nothing is settled; the team can still open no job beyond its 1 credit.
    clock.advance(ATTEMPT_MS + MARGIN_MS - 1_000);
    await runDurableObjectAlarm(ledger);
    expect((await balance(team)).credits_held).toBe(3);

    clock.advance(2_000);
    expect(await runDurableObjectAlarm(ledger)).toBe(true);
    const after = await balance(team);
    expect(after).toMatchObject({ credits_held: 0, credits_remaining: 4 });
    const { calls } = await adminJob(team, job);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ call_id: callId, status: "unrecorded", prompt_tokens: 1_000, completion_tokens: 2_000 });
    const rows = await allTransactions(team);
    const settled = rows.find((r) => r.kind === "unrecorded");
    expect(settled).toMatchObject({ job_id: job, amount: 0, held_change_micro: -3_000_000 });
    // The job is open; its call consumed its worst case: completing charges it.
    const done = await json("POST", `/api/jobs/${job}/complete`, 200, { key: team.key, body: { status: "completed" } });
    expect(done.costs).toMatchObject({ total_calls: 1, total_tokens: 3_000, credits_charged: 3 });
    expect((await createJob(team)).length).toBeGreaterThan(0);
    await expectLedgerConsistent(team);

    const events = await eventsDelivered(team, hook, 2); // call.unrecorded, then job.completed
    expect(events.find((e) => e.type === "call.unrecorded")).toMatchObject({
      type: "call.unrecorded",
      data: { team_id: team.teamId, job_id: job, call_id: callId, cause: "deadline", prompt_tokens: 1_000, completion_tokens: 2_000 },
    });
  });

  it("the issue's lock-out: a stuck hold in a job that expires is settled when it expires, and the team can open jobs again", async () => {
    const clock = controlledClock();
    const team = await tokensTeam(4, 1000, { job_ttl_seconds: 60, unfinished_jobs: "free" });
    const job = await createJob(team);
    const ledger = ledgerOf(team);
    const budget = callBudget(crypto.randomUUID(), { promptTokens: 1_000, maxTokens: 2_000 });
    expect((await ledger.beginCall(admin, job, team.groups[0], "team", budget)).ok).toBe(true);
    await evictDurableObject(ledger);
    clock.advance(61_000); // past the job's time-to-live, before the hold's own deadline
    expect(await runDurableObjectAlarm(ledger)).toBe(true);
    const view = await adminJob(team, job);
    expect(view).toMatchObject({ status: "expired", credits_charged: 0 });
    expect(view.calls.map((c: any) => c.status)).toEqual(["unrecorded"]);
    // unfinished_jobs free: nothing charged, the hold released with the job; all 4 credits available again.
    expect(await balance(team)).toMatchObject({ credits_held: 0, credits_remaining: 4, credits_available: 4 });
    const again = await api("POST", "/api/jobs/create", { key: team.key, body: { team_id: team.teamId, job_type: "t" } });
    expect(again.status).toBe(200);
    await expectLedgerConsistent(team);
  });

  it("a job's completion waits for its call in flight to be recorded, and its answer is its final charge", async () => {
    const team = await tokensTeam(20, 100);
    const job = await createJob(team);
    const ledger = ledgerOf(team);
    const callId = crypto.randomUUID();
    expect((await ledger.beginCall(admin, job, team.groups[0], "team", callBudget(callId, { maxTokens: 1_000 }))).ok).toBe(true);
    const completing = json("POST", `/api/jobs/${job}/complete`, 200, { key: team.key, body: { status: "completed" } });
    // The completion is waiting in the object for the call's record...
    await vi.waitFor(
      async () => {
        const waiting = await runInDurableObject(ledger, (instance: TeamLedger) => (instance as any).calls.recordWaits.pending());
        expect(waiting).toBe(1);
      },
      { timeout: 5_000, interval: 10 },
    );
    // ...which the stream's end now sends: 500 tokens, 5 credits.
    expect((await ledger.recordCall(job, record(callId, team.groups[0], { status: "aborted" }))).ok).toBe(true);
    const done = await completing;
    expect(done.costs).toMatchObject({ total_calls: 1, total_tokens: 500, credits_charged: 5 });
    const b = await balance(team);
    expect(b).toMatchObject({ credits_used: 5, credits_held: 0 });
    expect((await allTransactions(team)).filter((r) => r.kind === "deduction")).toHaveLength(1);
    await expectLedgerConsistent(team);
  });

  it("a call still in flight from before the object restarted is settled from its hold at completion; its late record charges nothing more", async () => {
    const team = await tokensTeam(20, 100);
    const job = await createJob(team);
    const ledger = ledgerOf(team);
    const callId = crypto.randomUUID();
    expect((await ledger.beginCall(admin, job, team.groups[0], "team", callBudget(callId, { maxTokens: 280 }))).ok).toBe(true);
    await evictDurableObject(ledger);
    const done = await json("POST", `/api/jobs/${job}/complete`, 200, { key: team.key, body: { status: "completed" } });
    // Its worst case: 20 prompt tokens + 280 = 300 tokens, 3 credits.
    expect(done.costs).toMatchObject({ total_calls: 1, total_tokens: 300, credits_charged: 3 });
    expect(done.calls[0]).toMatchObject({ call_id: callId, tokens: 300 });
    const before = await allTransactions(team);
    // The record arrives after all: the call is already settled, nothing changes.
    expect((await ledger.recordCall(job, record(callId, team.groups[0]))).ok).toBe(true);
    const rows = await allTransactions(team);
    expect(rows).toEqual(before);
    expect(rows.some((r) => /Late call/.test(r.reason))).toBe(false);
    expect(await balance(team)).toMatchObject({ credits_used: 3, credits_held: 0 });
    await expectLedgerConsistent(team);
  });
});

describe("usage that is always paid for: unfinished_jobs", () => {
  async function jobWithACall(team: TestTeam) {
    const job = await createJob(team);
    const res = await llmCall(team, job);
    expect(res.status, await res.clone().text()).toBe(200);
    const { costs } = await json("GET", `/api/jobs/${job}`, 200, { key: team.key });
    return { job, tokens: costs.total_tokens as number };
  }

  it.each(["cancelled", "failed"] as const)(
    "consumption modes charge a %s job what it consumed by default: cancel and repeat is not free",
    async (status) => {
      const team = await tokensTeam(100, 10);
      for (let round = 0; round < 2; round++) {
        const { job, tokens } = await jobWithACall(team);
        const ended = await json("POST", `/api/jobs/${job}/complete`, 200, { key: team.key, body: { status } });
        expect(ended.costs).toMatchObject({ credit_applied: true, credits_charged: Math.floor(tokens / 10) });
      }
      const b = await expectLedgerConsistent(team);
      expect(b.credits_used).toBeGreaterThan(2);
      expect(b.unfinished_jobs).toBe("charged");
    },
  );

  it("unfinished_jobs free (set with PATCH) charges a cancelled job nothing; a job that consumed nothing is never charged", async () => {
    const team = await tokensTeam(100, 10);
    const patched = await json("PATCH", `/api/teams/${team.teamId}`, 200, { body: { unfinished_jobs: "free" } });
    expect(patched.unfinished_jobs).toBe("free");
    expect((await json("GET", `/api/teams/${team.teamId}`, 200)).unfinished_jobs).toBe("free");
    const { job } = await jobWithACall(team);
    const ended = await json("POST", `/api/jobs/${job}/complete`, 200, { key: team.key, body: { status: "cancelled" } });
    expect(ended.costs).toMatchObject({ credit_applied: false, credits_charged: 0 });
    await json("PATCH", `/api/teams/${team.teamId}`, 200, { body: { unfinished_jobs: "charged" } });
    const empty = await createJob(team);
    const nothing = await json("POST", `/api/jobs/${empty}/complete`, 200, { key: team.key, body: { status: "cancelled" } });
    expect(nothing.costs.credits_charged).toBe(0);
    expect((await expectLedgerConsistent(team)).credits_used).toBe(0);
  });

  it("job_based is free by default; charged, a failed job pays its minimum charge once it made a successful call", async () => {
    const team = await createTeam({ credits: 10 });
    expect((await balance(team)).unfinished_jobs).toBe("free");
    const free = await jobWithACall(team);
    expect(
      (await json("POST", `/api/jobs/${free.job}/complete`, 200, { key: team.key, body: { status: "failed" } })).costs.credits_charged,
    ).toBe(0);
    await json("PATCH", `/api/teams/${team.teamId}`, 200, { body: { unfinished_jobs: "charged" } });
    const charged = await jobWithACall(team);
    expect(
      (await json("POST", `/api/jobs/${charged.job}/complete`, 200, { key: team.key, body: { status: "failed" } })).costs.credits_charged,
    ).toBe(1);
    const idle = await createJob(team);
    expect(
      (await json("POST", `/api/jobs/${idle}/complete`, 200, { key: team.key, body: { status: "cancelled" } })).costs.credits_charged,
    ).toBe(0);
    expect((await expectLedgerConsistent(team)).credits_used).toBe(1);
  });

  it("a team created with unfinished_jobs shows it; an expired consumption job is charged what it consumed", async () => {
    const clock = controlledClock();
    const team = await tokensTeam(100, 10, { job_ttl_seconds: 60, unfinished_jobs: "charged" });
    expect(team.created.unfinished_jobs).toBe("charged");
    const { job, tokens } = await jobWithACall(team);
    clock.advance(61_000);
    expect(await runDurableObjectAlarm(ledgerOf(team))).toBe(true);
    const view = await json("GET", `/api/jobs/${job}`, 200, { key: team.key });
    expect(view).toMatchObject({ status: "expired", credit_applied: true, credits_charged: Math.floor(tokens / 10) });
    await expectLedgerConsistent(team);
  });
});

describe("a one-request call that went down with the object", () => {
  async function sha256Hex(text: string) {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  it("does not block its Idempotency-Key for 15 minutes: after the restart a retry learns at once that it ended without an answer", async () => {
    const team = await tokensTeam(20, 100);
    const key = uid("idem");
    const body = JSON.stringify({ team_id: team.teamId, job_type: "one", model_group: team.groups[0], messages: userMessage() });
    // The first attempt, as the gateway made it before it went down: the key claimed, the job opened and its call admitted.
    const scope = `team:${team.teamId} POST /api/jobs/create-and-call`;
    const { Repository } = await import("../src/db/repository");
    const claim = await new Repository(env.DB).idempotency.claim(scope, key, await sha256Hex(body), 86_400_000, 900_000);
    expect(claim).toBe("claimed");
    const base = await sha256Hex(`${scope}\n${key}`);
    const ledger = ledgerOf(team);
    const caller = { kind: "admin" } as const;
    const job = {
      jobId: crypto.randomUUID(),
      jobType: "one",
      userId: null,
      metadata: {},
      owner: "gateway" as const,
      operation: { id: `${base}:create` },
    };
    const started = await ledger.startOneRequestJob(caller, job, team.groups[0], { id: `${base}:complete` }, callBudget());
    expect(started.ok).toBe(true);
    await evictDurableObject(ledger);

    const retry = await api("POST", "/api/jobs/create-and-call", {
      key: team.key,
      rawBody: body,
      headers: { "content-type": "application/json", "idempotency-key": key },
    });
    const answer = await retry.json<any>();
    expect(retry.status).toBe(409);
    expect(answer.detail).toMatch(/already ended without an answer/);
    expect(answer.job_id).toBe(job.jobId);
    // Nothing was called, and the abandoned call was settled from its hold.
    expect(await upstreamRequests(mockUrl, team.teamId)).toEqual([]);
    const view = await adminJob(team, job.jobId);
    expect(view.status).toBe("failed");
    expect(view.calls.map((c: any) => c.status)).toEqual(["unrecorded"]);
    expect((await balance(team)).credits_held).toBe(0);
    await expectLedgerConsistent(team);
  });
});
