import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { TeamLedger } from "../src/ledger/team-ledger";
import type { AccountInit, CallRecord } from "../src/ledger/types";
import { callBudget, uid } from "./helpers";

// The team object keeps its account, the jobs in use, the holds of calls in flight, its access
// list (keys and groups) and its period budgets (each key's and end user's budget, what their jobs
// hold, the budget policy) in memory (src/ledger/store/row-cache.ts), so admitting a call reads
// nothing from SQLite.
// What it keeps must be what SQLite has, after every kind of change: each step below compares the
// object's rows with a fresh read of its tables, and counts what an admission reads and writes.

const KEY_HASH = "b".repeat(64);
const KEY_ID = "0b9c8a4e-1f2d-4c3b-9a8e-7d6c5b4a3f21";
const team = { kind: "team", keyHash: KEY_HASH } as const;

function account(teamId: string): AccountInit {
  return {
    teamId,
    organizationId: "org-row-cache",
    creditsAllocated: 50,
    budgetMode: "consumption_tokens",
    creditsPerDollar: 10,
    tokensPerCredit: 1_000,
    costMarkupPercentage: 0,
    jobTtlSeconds: 3600,
    rateLimitPerMinute: null,
    key: { keyId: KEY_ID, keyHash: KEY_HASH, prefix: "sk-test", name: "default" },
    modelGroups: [{ name: "fast", models: ["gpt-4o-mini"] }],
  };
}

function record(callId: string, overrides: Partial<CallRecord> = {}): CallRecord {
  return {
    callId,
    modelGroup: "fast",
    modelUsed: "gpt-4o-mini",
    attempts: [{ model: "gpt-4o-mini", outcome: "ok", status: 200, latency_ms: 9 }],
    purpose: null,
    status: "success",
    promptTokens: 20,
    completionTokens: 30,
    totalTokens: 50,
    providerCostNano: 2_000,
    costSource: "litellm",
    usageEstimated: false,
    latencyMs: 9,
    error: null,
    stream: false,
    ...overrides,
  };
}

type Store = {
  account(): unknown;
  job(id: string): unknown;
  rows: { account: unknown; holds: Map<string, unknown> | undefined; access: unknown };
};
type Holds = { ofJob(id: string): unknown[]; nextDeadlineMs(): number | null };
type Access = { secret(hash: string): unknown; groupModels(name: string): unknown };
type Budgets = {
  periods: {
    store: { budget(s: { kind: string; id: string }): unknown; heldMicro(s: { kind: string; id: string }): number; policy(): unknown };
  };
};

/** The key's budget: 40 credits a day. */
const budgetedKey = {
  key: {
    keyId: KEY_ID,
    name: "default",
    prefix: "sk-test",
    modelGroups: null,
    expiresAtMs: null,
    revokedAtMs: null,
    createdAt: "2026-01-01T00:00:00.000Z",
    budget: { credits: 40, period: "day" as const },
  },
};
const SUBJECTS = [
  { kind: "key", id: KEY_ID },
  { kind: "end_user", id: "u-1" },
];

/** The object's kept rows beside a fresh read of SQLite, for the account, these jobs, their holds and the access list. */
async function keptAndStored(stub: DurableObjectStub<TeamLedger>, jobIds: string[]) {
  return runInDurableObject(stub, (instance, state) => {
    const inner = instance as unknown as { store: Store; access: Access; budgets: Budgets; calls: { host: { holds: Holds } } };
    const budgets = inner.budgets.periods.store;
    const sql = state.storage.sql;
    const holds = inner.calls.host.holds;
    const kept = {
      account: inner.store.account(),
      jobs: jobIds.map((id) => inner.store.job(id)),
      holds: jobIds.map((id) => holds.ofJob(id)),
      nextDeadline: holds.nextDeadlineMs(),
      key: inner.access.secret(KEY_HASH),
      group: inner.access.groupModels("fast"),
      budgets: SUBJECTS.map((subject) => budgets.budget(subject)),
      held: SUBJECTS.map((subject) => budgets.heldMicro(subject)),
      policy: budgets.policy(),
    };
    const secret = sql
      .exec<{
        valid_until_ms: number | null;
        key_id: string;
        name: string;
        model_groups: string | null;
        expires_at_ms: number | null;
        revoked_at_ms: number | null;
      }>(
        `SELECT s.valid_until_ms, s.key_id, k.name, k.model_groups, k.expires_at_ms, k.revoked_at_ms
         FROM access_keys s JOIN team_keys k ON k.key_id = s.key_id WHERE s.key_hash = ?`,
        KEY_HASH,
      )
      .toArray()[0];
    const stored = {
      account: sql.exec("SELECT * FROM account WHERE id = 1").toArray()[0],
      jobs: jobIds.map((id) => sql.exec("SELECT * FROM jobs WHERE job_id = ?", id).toArray()[0] ?? null),
      holds: jobIds.map((id) => sql.exec("SELECT * FROM call_holds WHERE job_id = ? ORDER BY created_at_ms, call_id", id).toArray()),
      nextDeadline: sql.exec<{ next: number | null }>("SELECT MIN(deadline_ms) AS next FROM call_holds").one().next,
      key: secret && {
        ends: [secret.valid_until_ms, secret.expires_at_ms, secret.revoked_at_ms],
        key: {
          keyId: secret.key_id,
          name: secret.name,
          modelGroups: secret.model_groups === null ? null : JSON.parse(secret.model_groups),
        },
      },
      group: JSON.parse(String(sql.exec("SELECT models FROM access_groups WHERE group_name = 'fast'").toArray()[0]?.models ?? "null")),
      budgets: SUBJECTS.map(
        (subject) =>
          sql.exec("SELECT * FROM period_budgets WHERE subject_kind = ? AND subject_id = ?", subject.kind, subject.id).toArray()[0] ?? null,
      ),
      held: SUBJECTS.map(
        (subject) =>
          sql
            .exec<{ held: number | null }>(
              `SELECT SUM(hold_micro) AS held FROM jobs WHERE ${subject.kind === "key" ? "key_id" : "end_user"} = ?`,
              subject.id,
            )
            .one().held ?? 0,
      ),
      policy: sql.exec("SELECT * FROM budget_policy WHERE id = 1").toArray()[0] ?? {
        alert_thresholds: "[]",
        recharge_below: null,
        recharge_target: null,
        recharge_open: null,
        end_user_credits: null,
        end_user_period: null,
      },
    };
    return { kept, stored };
  });
}

/** What one admission reads and writes in SQLite (every statement the object runs meanwhile). */
async function admissionStatements(stub: DurableObjectStub<TeamLedger>, jobId: string) {
  return runInDurableObject(stub, async (instance, state) => {
    const proto = Object.getPrototypeOf(state.storage.sql) as {
      exec: (...a: unknown[]) => SqlStorageCursor<Record<string, SqlStorageValue>>;
    };
    const original = proto.exec;
    const seen: string[] = [];
    proto.exec = function (this: unknown, ...args: unknown[]) {
      seen.push(String(args[0]).trim().split(/\s+/)[0].toUpperCase());
      return original.apply(this, args);
    };
    try {
      const admitted = await instance.beginCall(team, jobId, "fast", "team", callBudget(crypto.randomUUID(), { maxTokens: 100 }));
      expect(admitted.ok).toBe(true);
    } finally {
      proto.exec = original;
    }
    return seen;
  });
}

describe("the rows the team object keeps in memory are what SQLite has", () => {
  it("through admissions, records, holds, settings, credits, status, access changes, budgets, completion, refund and expiry", async () => {
    const teamId = uid("cache");
    const stub = env.TEAM_LEDGER.getByName(teamId);
    expect((await stub.openAccount(account(teamId), { id: crypto.randomUUID() })).ok).toBe(true);
    const open = (jobId: string) =>
      stub.createJob(team, {
        jobId,
        jobType: "cached",
        userId: "u-1",
        endUser: "u-1",
        metadata: {},
        operation: { id: crypto.randomUUID() },
      });
    const [a, b] = [crypto.randomUUID(), crypto.randomUUID()];
    const jobs = [a, b];
    const same = async (step: string) => {
      const { kept, stored } = await keptAndStored(stub, jobs);
      expect(kept, step).toEqual(stored);
    };
    await same("nothing yet");
    expect((await stub.changeAccess(budgetedKey)).ok).toBe(true);
    expect((await stub.updateSettings({ endUserBudget: { credits: 30, period: "month" } }, { id: crypto.randomUUID() })).ok).toBe(true);
    await same("a budget set on the key, and on every end user");
    expect((await open(a)).ok).toBe(true);
    await same("a job opened, held against the key's and the end user's budgets");
    const calls = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    for (const callId of calls)
      expect((await stub.beginCall(team, a, "fast", "team", callBudget(callId, { maxTokens: 200 }))).ok).toBe(true);
    await same("three calls admitted, each holding its worst case");
    expect((await stub.recordCall(a, record(calls[0]))).ok).toBe(true);
    expect((await stub.recordCall(a, record(calls[1], { status: "failed", error: "x", completionTokens: 0, totalTokens: 20 }))).ok).toBe(
      true,
    );
    await same("two recorded");
    expect((await stub.updateSettings({ tokensPerCredit: 500, rateLimitPerMinute: 100 }, { id: crypto.randomUUID() })).ok).toBe(true);
    await same("settings changed");
    expect((await stub.addCredits(7, "top-up", { id: crypto.randomUUID() })).ok).toBe(true);
    expect(stub.setStatus("paused")).toBeTruthy();
    await same("credits added, team paused");
    expect((await stub.beginCall(team, a, "fast", "team", callBudget())).ok).toBe(false);
    expect(stub.setStatus("active")).toBeTruthy();
    expect((await stub.changeAccess({ secret: { keyId: KEY_ID, keyHash: "c".repeat(64), prefix: "sk-next", graceSeconds: 60 } })).ok).toBe(
      true,
    );
    expect((await stub.changeAccess({ groupModels: { name: "fast", models: ["gpt-4", "gpt-4o-mini"] } })).ok).toBe(true);
    await same("a key rotated with grace, the group's models changed");
    expect((await stub.changeAccess({ key: { ...budgetedKey.key, budget: { credits: 45, period: "day" } } })).ok).toBe(true);
    await same("the key's budget raised");
    expect((await open(b)).ok).toBe(true);
    expect((await stub.beginCall(team, b, "fast", "team", callBudget(crypto.randomUUID(), { maxTokens: 50 }))).ok).toBe(true);
    const completion = {
      jobId: a,
      status: "completed" as const,
      errorMessage: null,
      metadata: { done: true },
      operation: { id: crypto.randomUUID() },
    };
    expect((await stub.completeJob(team, completion)).ok).toBe(true);
    await same("a job completed, its last call settled from its hold; another admitted");
    expect((await stub.refundJob(a, "goodwill", { id: crypto.randomUUID() })).ok).toBe(true);
    expect((await stub.mergeJobMetadata(team, a, { note: "refunded" })).ok).toBe(true);
    await same("refunded, metadata merged");
    await runInDurableObject(stub, (_instance, state) => {
      // The job's time is up (a write the object's own code did not make: its kept row is dropped).
      state.storage.sql.exec("UPDATE jobs SET expires_at_ms = 0 WHERE job_id = ?", b);
    });
    await runDurableObjectAlarm(stub);
    await same("the alarm expired a job and settled its call from its hold");
  });

  it("an admission in a job in progress reads nothing from SQLite, and writes the call's hold and its ledger row", async () => {
    const teamId = uid("cache");
    const stub = env.TEAM_LEDGER.getByName(teamId);
    expect((await stub.openAccount(account(teamId), { id: crypto.randomUUID() })).ok).toBe(true);
    const jobId = crypto.randomUUID();
    await stub.createJob(team, { jobId, jobType: "cached", userId: null, metadata: {}, operation: { id: crypto.randomUUID() } });
    expect((await stub.beginCall(team, jobId, "fast", "team", callBudget(crypto.randomUUID(), { maxTokens: 100 }))).ok).toBe(true);
    const statements = await admissionStatements(stub, jobId);
    expect(statements.filter((s) => s === "SELECT")).toEqual([]);
    // The hold row, its job's and the account's held totals, and the `hold` ledger row.
    expect(statements).toEqual(["INSERT", "UPDATE", "UPDATE", "INSERT"]);
  });

  it("an admission through a key with a budget, for an end user with one, reads nothing from SQLite either", async () => {
    const teamId = uid("cache");
    const stub = env.TEAM_LEDGER.getByName(teamId);
    expect((await stub.openAccount({ ...account(teamId), overdraft: "bounded" }, { id: crypto.randomUUID() })).ok).toBe(true);
    expect((await stub.changeAccess(budgetedKey)).ok).toBe(true);
    expect((await stub.updateSettings({ endUserBudget: { credits: 30, period: "month" } }, { id: crypto.randomUUID() })).ok).toBe(true);
    const jobId = crypto.randomUUID();
    const opened = { jobId, jobType: "cached", userId: null, endUser: "u-1", metadata: {}, operation: { id: crypto.randomUUID() } };
    expect((await stub.createJob(team, opened)).ok).toBe(true);
    expect((await stub.beginCall(team, jobId, "fast", "team", callBudget(crypto.randomUUID(), { maxTokens: 100 }))).ok).toBe(true);
    const statements = await admissionStatements(stub, jobId);
    expect(statements.filter((s) => s === "SELECT")).toEqual([]);
    // Held against both budgets though the team may overdraw: the hold row, the job's and the account's held totals, the ledger row.
    expect(statements).toEqual(["INSERT", "UPDATE", "UPDATE", "INSERT"]);
  });

  it("in job_based, where a hold carries no credit, an admission writes one row: the call's hold", async () => {
    const teamId = uid("cache");
    const stub = env.TEAM_LEDGER.getByName(teamId);
    expect((await stub.openAccount({ ...account(teamId), budgetMode: "job_based" }, { id: crypto.randomUUID() })).ok).toBe(true);
    const jobId = crypto.randomUUID();
    await stub.createJob(team, { jobId, jobType: "cached", userId: null, metadata: {}, operation: { id: crypto.randomUUID() } });
    expect((await stub.beginCall(team, jobId, "fast", "team", callBudget())).ok).toBe(true);
    expect(await admissionStatements(stub, jobId)).toEqual(["INSERT"]);
  });
});
