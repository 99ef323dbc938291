import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { TeamLedger } from "../src/ledger/team-ledger";
import type { AccountInit, CallRecord, JobView } from "../src/ledger/types";
import { callBudget, uid } from "./helpers";

// The TeamLedger object through its RPC methods, with no HTTP in front: each test owns a fresh team.

function account(teamId: string, creditsAllocated: number): AccountInit {
  return {
    teamId,
    organizationId: "org-ledger-object",
    creditsAllocated,
    budgetMode: "job_based",
    creditsPerDollar: 10,
    tokensPerCredit: 10_000,
    costMarkupPercentage: 0,
    jobTtlSeconds: 3600,
    rateLimitPerMinute: null,
    key: { keyId: crypto.randomUUID(), keyHash: KEY_HASH, prefix: "sk-test", name: "default" },
    modelGroups: [{ name: "fast", models: ["gpt-4o-mini", "gpt-4"] }],
  };
}

/** The keyed hash of the team's key, as the Worker hands it over; and the callers the object tells apart. */
const KEY_HASH = "a".repeat(64);
const team = { kind: "team", keyHash: KEY_HASH } as const;
const admin = { kind: "admin" } as const;

function call(modelGroup: string, overrides: Partial<CallRecord> = {}): CallRecord {
  return {
    callId: crypto.randomUUID(),
    modelGroup,
    modelUsed: "gpt-4o-mini",
    attempts: [{ model: "gpt-4o-mini", outcome: "ok", status: 200, latency_ms: 12 }],
    purpose: "test",
    status: "success",
    promptTokens: 10,
    completionTokens: 5,
    totalTokens: 15,
    providerCostNano: 1_000_000,
    costSource: "litellm",
    usageEstimated: false,
    latencyMs: 12,
    error: null,
    stream: false,
    ...overrides,
  };
}

/** A fresh operation id: each change below is its own request unless a test says otherwise. */
const op = () => ({ id: crypto.randomUUID() });

/** A fresh team's ledger, opened with `credits`. */
async function openLedger(credits = 5) {
  const teamId = uid("ledger-team");
  const ledger = env.TEAM_LEDGER.getByName(teamId);
  const opened = await ledger.openAccount(account(teamId, credits), op());
  expect(opened).toMatchObject({ ok: true, value: { credits_remaining: credits, credits_reserved: 0 } });
  return { teamId, ledger };
}

function accepted<T>(result: { ok: true; value: T } | { ok: false; code: string; detail: string }): T {
  if (!result.ok) throw new Error(`${result.code}: ${result.detail}`);
  return result.value;
}

async function newJob(ledger: Awaited<ReturnType<typeof openLedger>>["ledger"]) {
  const jobId = crypto.randomUUID();
  accepted(await ledger.createJob(team, { jobId, jobType: "summarize", userId: null, metadata: { source: "test" }, operation: op() }));
  return jobId;
}

describe("the TeamLedger object", () => {
  it("opens an account once", async () => {
    const { teamId, ledger } = await openLedger();
    expect(await ledger.openAccount(account(teamId, 1), op())).toMatchObject({ ok: false, code: "ACCOUNT_EXISTS" });
  });

  it("a new job reserves one credit, recorded in the ledger", async () => {
    const { ledger } = await openLedger(3);
    const jobId = await newJob(ledger);
    expect(accepted(await ledger.getBalance(team))).toMatchObject({ credits_remaining: 3, credits_reserved: 1, credits_available: 2 });
    const page = accepted(await ledger.listTransactions(admin, 10, 0));
    expect(page.items.map((t) => [t.kind, t.job_id])).toEqual([
      ["reservation", jobId],
      ["allocation", null],
    ]);
  });

  it("with nothing available, no job opens", async () => {
    const { ledger } = await openLedger(0);
    const refused = await ledger.createJob(team, { jobId: crypto.randomUUID(), jobType: "t", userId: null, metadata: {}, operation: op() });
    expect(refused).toMatchObject({ ok: false, code: "INSUFFICIENT_CREDITS" });
  });

  it("admits a call in an open job and records it in the job", async () => {
    const { ledger } = await openLedger();
    const jobId = await newJob(ledger);
    const record = call("fast");
    expect(accepted(await ledger.beginCall(team, jobId, "fast", "team", callBudget(record.callId)))).toEqual({
      jobType: "summarize",
      userId: null,
      endUser: null,
      markupPercentage: 0,
      models: ["gpt-4o-mini", "gpt-4"],
      budgetMaxTokens: null,
      cache: null,
      // What the Worker may expect of the next admission: job_based holds carry no credit; 5 credits less this job's 1 are free.
      // No budget is over the job: no key budget, no end user.
      outlook: {
        speculative: true,
        freeMicro: 4_000_000,
        // No grant of the team expires or renews.
        freeUntilMs: null,
        holds: null,
        budgets: { keyRoomMicro: null, endUserRoomMicro: null, endUsersBudgeted: false },
      },
    });
    const recorded = accepted(await ledger.recordCall(jobId, record));
    expect(recorded.client_cost_usd).toBe(0.001);
    const job = accepted(await ledger.getJob(team, jobId)) as JobView;
    expect(job).toMatchObject({ status: "in_progress", model_groups_used: ["fast"], costs: { total_calls: 1, total_tokens: 15 } });
    expect(job.calls.map((c) => c.call_id)).toEqual([recorded.call_id]);
  });

  it("a second complete returns the same summary and charges nothing", async () => {
    const { ledger } = await openLedger(5);
    const jobId = await newJob(ledger);
    const record = call("fast");
    accepted(await ledger.beginCall(team, jobId, "fast", "team", callBudget(record.callId)));
    accepted(await ledger.recordCall(jobId, record));
    const complete = { jobId, status: "completed" as const, errorMessage: null, metadata: null };
    const first = accepted(await ledger.completeJob(team, { ...complete, operation: op() }));
    const second = accepted(await ledger.completeJob(team, { ...complete, operation: op() }));
    expect(second).toEqual(first);
    expect(first.costs).toMatchObject({ credits_charged: 1, credit_applied: true, credits_remaining: 4 });
    expect(accepted(await ledger.getBalance(admin))).toMatchObject({ credits_used: 1, credits_reserved: 0 });
    const kinds = accepted(await ledger.listTransactions(admin, 10, 0)).items.map((t) => t.kind);
    expect(kinds.filter((k) => k === "deduction")).toHaveLength(1);
    expect(await ledger.completeJob(team, { ...complete, status: "failed", operation: op() })).toMatchObject({
      ok: false,
      code: "JOB_STATUS_CONFLICT",
    });
  });

  it("no call is admitted in a completed job", async () => {
    const { ledger } = await openLedger();
    const jobId = await newJob(ledger);
    accepted(await ledger.completeJob(team, { jobId, status: "completed", errorMessage: null, metadata: null, operation: op() }));
    expect(await ledger.beginCall(team, jobId, "fast", "team", callBudget())).toMatchObject({ ok: false, code: "JOB_FINISHED" });
  });

  it("a refund gives back the charge once", async () => {
    const { ledger } = await openLedger(5);
    const jobId = await newJob(ledger);
    accepted(await ledger.completeJob(team, { jobId, status: "completed", errorMessage: null, metadata: null, operation: op() }));
    const refund = accepted(await ledger.refundJob(jobId, "customer complaint", op()));
    expect(refund.transaction).toMatchObject({ kind: "refund", amount: 1, job_id: jobId });
    expect(refund.balance).toMatchObject({ credits_used: 0, credits_remaining: 5 });
    expect(await ledger.refundJob(jobId, "again", op())).toMatchObject({ ok: false, code: "ALREADY_REFUNDED" });
  });

  it("a failed job is released, never charged, and cannot be refunded", async () => {
    const { ledger } = await openLedger(2);
    const jobId = await newJob(ledger);
    const summary = accepted(
      await ledger.completeJob(team, { jobId, status: "failed", errorMessage: "boom", metadata: null, operation: op() }),
    );
    expect(summary.costs).toMatchObject({ credits_charged: 0, credit_applied: false, credits_remaining: 2 });
    expect(await ledger.refundJob(jobId, "nothing to give", op())).toMatchObject({ ok: false, code: "JOB_NOT_CHARGED" });
  });

  it("a job the gateway opened admits calls and completion from the gateway only", async () => {
    const { ledger } = await openLedger(3);
    const jobId = crypto.randomUUID();
    accepted(
      await ledger.createJob(team, { jobId, jobType: "one_request", userId: null, metadata: {}, owner: "gateway", operation: op() }),
    );
    const record = call("fast");
    accepted(await ledger.beginCall(team, jobId, "fast", "gateway", callBudget(record.callId)));
    expect(await ledger.beginCall(team, jobId, "fast", "team", callBudget())).toMatchObject({ ok: false, code: "JOB_OWNED_BY_GATEWAY" });
    accepted(await ledger.recordCall(jobId, record));
    const byTeam = { jobId, status: "cancelled" as const, errorMessage: null, metadata: null };
    expect(await ledger.completeJob(team, { ...byTeam, operation: op() })).toMatchObject({ ok: false, code: "JOB_OWNED_BY_GATEWAY" });
    expect(await ledger.completeJob(team, { ...byTeam, closedBy: "team", operation: op() })).toMatchObject({
      ok: false,
      code: "JOB_OWNED_BY_GATEWAY",
    });
    const done = accepted(await ledger.completeJob(team, { ...byTeam, status: "completed", closedBy: "gateway", operation: op() }));
    expect(done.costs).toMatchObject({ credit_applied: true, credits_charged: 1, credits_remaining: 2 });
  });

  it("the alarm expires jobs past their time-to-live and releases them", async () => {
    const { ledger } = await openLedger(2);
    const jobId = await newJob(ledger);
    await runInDurableObject(ledger, async (instance: TeamLedger, state) => {
      state.storage.sql.exec("UPDATE jobs SET expires_at_ms = 0 WHERE job_id = ?", jobId);
      await instance.alarm();
    });
    expect(accepted(await ledger.getJob(admin, jobId))).toMatchObject({ status: "expired", credits_charged: 0 });
    expect(accepted(await ledger.getBalance(admin))).toMatchObject({ credits_reserved: 0, credits_used: 0 });
  });
});

describe("the TeamLedger object applies each operation once", () => {
  it("a repeated operation answers its first result and changes nothing", async () => {
    const { ledger } = await openLedger(5);
    const topUp = op();
    const first = accepted(await ledger.addCredits(3, "top-up", topUp));
    const again = accepted(await ledger.addCredits(3, "top-up", topUp));
    expect(again).toEqual(first);
    expect(accepted(await ledger.getBalance(admin))).toMatchObject({ credits_allocated: 8 });
    const opening = op();
    const jobId = crypto.randomUUID();
    const job = accepted(await ledger.createJob(team, { jobId, jobType: "t", userId: null, metadata: {}, operation: opening }));
    // A retry makes a new job id, and still gets the first job.
    const retried = { jobId: crypto.randomUUID(), jobType: "t", userId: null, metadata: {}, operation: opening };
    expect(accepted(await ledger.createJob(team, retried))).toEqual(job);
    expect(accepted(await ledger.getBalance(admin))).toMatchObject({ credits_reserved: 1 });
    expect(accepted(await ledger.listTransactions(admin, 10, 0)).items.map((t) => t.kind)).toEqual([
      "reservation",
      "allocation",
      "allocation",
    ]);
  });

  it("an operation id used again for other arguments or another method is refused, and changes nothing", async () => {
    const { ledger } = await openLedger(5);
    const topUp = op();
    accepted(await ledger.addCredits(3, "top-up", topUp));
    expect(await ledger.addCredits(4, "top-up", topUp)).toMatchObject({ ok: false, code: "OPERATION_MISMATCH" });
    expect(await ledger.updateSettings({ creditsPerDollar: 20 }, topUp)).toMatchObject({ ok: false, code: "OPERATION_MISMATCH" });
    expect(accepted(await ledger.getBalance(admin))).toMatchObject({ credits_allocated: 8, credits_per_dollar: 10 });
  });

  it("a refusal is not remembered: the same operation runs once the moment has passed", async () => {
    const { ledger } = await openLedger(0);
    const opening = op();
    const request = { jobId: crypto.randomUUID(), jobType: "t", userId: null, metadata: {}, operation: opening };
    expect(await ledger.createJob(team, request)).toMatchObject({ ok: false, code: "INSUFFICIENT_CREDITS" });
    accepted(await ledger.addCredits(1, "top-up", op()));
    expect(accepted(await ledger.createJob(team, request)).job_id).toBe(request.jobId);
  });

  it("a call recorded twice under its call id is counted once", async () => {
    const { ledger } = await openLedger();
    const jobId = await newJob(ledger);
    const record = call("fast");
    accepted(await ledger.beginCall(team, jobId, "fast", "team", callBudget(record.callId)));
    const first = accepted(await ledger.recordCall(jobId, record));
    expect(accepted(await ledger.recordCall(jobId, record))).toEqual(first);
    const job = accepted(await ledger.getJob(team, jobId)) as JobView;
    expect(job.costs).toMatchObject({ total_calls: 1, total_tokens: 15 });
    expect(job.calls).toHaveLength(1);
  });

  it("recall gives an operation's result and the text kept with it, only for the same method and arguments", async () => {
    const { ledger } = await openLedger(5);
    const topUp = { id: crypto.randomUUID(), keep: "kept text" };
    const first = accepted(await ledger.addCredits(3, "top-up", topUp));
    expect(accepted(await ledger.recall(topUp.id, "addCredits", { credits: 3, reason: "top-up" }))).toEqual({
      method: "addCredits",
      result: first,
      kept: "kept text",
    });
    expect(await ledger.recall(topUp.id, "addCredits", { credits: 4, reason: "top-up" })).toMatchObject({ code: "OPERATION_MISMATCH" });
    expect(accepted(await ledger.recall(crypto.randomUUID(), "addCredits"))).toBeNull();
  });

  it("an operation is forgotten after 24 hours: the same id then applies again", async () => {
    const { ledger } = await openLedger(5);
    const topUp = op();
    accepted(await ledger.addCredits(3, "top-up", topUp));
    await runInDurableObject(ledger, (_instance: TeamLedger, state) => {
      state.storage.sql.exec("UPDATE operations SET created_at_ms = created_at_ms - ?", 24 * 60 * 60 * 1000 + 1);
    });
    accepted(await ledger.addCredits(3, "top-up", topUp));
    expect(accepted(await ledger.getBalance(admin))).toMatchObject({ credits_allocated: 11 });
    // Writes sweep what is forgotten (here the opening and the first top-up): only the new record is left.
    const rows = await runInDurableObject(ledger, (_instance: TeamLedger, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM operations").one(),
    );
    expect(rows.n).toBe(1);
  });
});
