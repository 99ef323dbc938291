import { env } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Repository } from "../src/db/repository";
import { type CallRecord, isCacheLookup, type LedgerResult } from "../src/ledger/types";
import { callBudget, uid } from "./helpers";

// Random interleavings of the ledger object's RPC methods (create, call, stream end, abort,
// complete, top-up, mode change) under overdraft none: after every step the balance is not
// negative and the ledger explains every counter, holds included.

// The group's one model, priced in D1: the team's object reads the price to hold each call.
const MODEL = uid("prop-model");
const PRICE = { inputPerMillionUsd: 0.15, outputPerMillionUsd: 0.6 };
const admin = { kind: "admin" } as const;
const MODES = ["consumption_usd", "consumption_tokens", "job_based"] as const;

const action = fc.oneof(
  fc.record({ kind: fc.constant("create" as const) }),
  fc.record({ kind: fc.constant("call" as const), job: fc.nat(5), maxTokens: fc.option(fc.integer({ min: 1, max: 50_000 })) }),
  fc.record({
    kind: fc.constant("end" as const),
    call: fc.nat(20),
    aborted: fc.boolean(),
    estimated: fc.boolean(),
    // Actual completion tokens as a share of what was held: below, at, or (a provider ignoring max_tokens) above.
    share: fc.double({ min: 0, max: 1.5, noNaN: true }),
  }),
  fc.record({
    kind: fc.constant("complete" as const),
    job: fc.nat(5),
    status: fc.constantFrom("completed" as const, "failed" as const, "cancelled" as const),
  }),
  fc.record({ kind: fc.constant("topUp" as const), credits: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant("mode" as const), mode: fc.constantFrom(...MODES) }),
);

const op = () => ({ id: crypto.randomUUID() });

/**
 * Each method's answer is checked and tallied ("call ok", "call INSUFFICIENT_CREDITS"): an
 * answer outside `allowed` fails the step, and the runs must have admitted, recorded and
 * refused calls (a ledger refusing every call, or recording none, fails the test).
 */
const seen = new Set<string>();
function outcome<T>(
  what: string,
  result: LedgerResult<T>,
  allowed: readonly string[] = [],
): result is Extract<LedgerResult<T>, { ok: true }> {
  const tag = result.ok ? "ok" : result.code;
  seen.add(`${what} ${tag}`);
  expect(["ok", ...allowed], `${what}: ${result.ok ? "ok" : result.detail}`).toContain(tag);
  return result.ok;
}

/** What the gateway records when a call ends: completion tokens are a share of what was held. */
function recordOf(c: { callId: string; maxTokens: number }, end: { aborted: boolean; estimated: boolean; share: number }): CallRecord {
  const completion = Math.round(c.maxTokens * end.share);
  return {
    callId: c.callId,
    modelGroup: "g",
    modelUsed: MODEL,
    attempts: [],
    purpose: null,
    status: end.aborted ? "aborted" : "success",
    promptTokens: 20,
    completionTokens: completion,
    totalTokens: 20 + completion,
    providerCostNano: Math.round(20 * 150 + completion * 600),
    costSource: "pricing_table",
    usageEstimated: end.estimated,
    latencyMs: 1,
    error: null,
    stream: true,
  };
}

async function expectConsistent(ledger: ReturnType<typeof env.TEAM_LEDGER.getByName>) {
  const b = await ledger.getBalance(admin);
  const rows = await ledger.listTransactions(admin, 5000, 0);
  if (!b.ok || !rows.ok) throw new Error("ledger refused a read");
  const items = rows.value.items;
  const sum = (f: (r: (typeof items)[number]) => number) => items.reduce((s, r) => s + f(r), 0);
  expect(b.value.credits_remaining).toBeGreaterThanOrEqual(0);
  expect(b.value.credits_remaining).toBe(sum((r) => r.amount));
  expect(b.value.credits_reserved).toBe(sum((r) => r.reserved_change));
  const held = sum((r) => r.held_change_micro);
  expect(held).toBeGreaterThanOrEqual(0);
  expect(b.value.credits_held).toBe(Math.ceil(held / 1_000_000));
}

describe("hard budgets, property", () => {
  it("any interleaving under overdraft none keeps the balance at or above zero and the ledger consistent", async () => {
    await new Repository(env.DB).pricing.upsert({ modelName: MODEL, ...PRICE });
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 5, maxLength: 40 }), async (actions) => {
        const teamId = uid("prop-team");
        const ledger = env.TEAM_LEDGER.getByName(teamId);
        const opened = await ledger.openAccount(
          {
            teamId,
            organizationId: "org-prop",
            creditsAllocated: 2,
            budgetMode: "consumption_usd",
            creditsPerDollar: 1000,
            tokensPerCredit: 500,
            costMarkupPercentage: 20,
            jobTtlSeconds: 3600,
            rateLimitPerMinute: null,
            key: { keyId: crypto.randomUUID(), keyHash: uid("prop-key"), prefix: "sk-test", name: "default" },
            modelGroups: [{ name: "g", models: [MODEL] }],
          },
          op(),
        );
        outcome("open", opened);
        const jobs: string[] = [];
        const calls: Array<{ jobId: string; callId: string; maxTokens: number; done: boolean }> = [];
        for (const a of actions) {
          if (a.kind === "create") {
            const created = await ledger.createJob(admin, {
              jobId: crypto.randomUUID(),
              jobType: "p",
              userId: null,
              metadata: {},
              operation: op(),
            });
            if (outcome("create", created, ["INSUFFICIENT_CREDITS"])) jobs.push(created.value.job_id);
          } else if (a.kind === "call" && jobs.length > 0) {
            const jobId = jobs[a.job % jobs.length];
            const callId = crypto.randomUUID();
            const admitted = await ledger.beginCall(admin, jobId, "g", "team", callBudget(callId, { maxTokens: a.maxTokens }));
            // No group of this test has a response cache: an admission is never a lookup.
            if (outcome("call", admitted, ["INSUFFICIENT_CREDITS", "JOB_FINISHED"]) && !isCacheLookup(admitted.value))
              calls.push({ jobId, callId, maxTokens: a.maxTokens ?? admitted.value.budgetMaxTokens ?? 4096, done: false });
          } else if (a.kind === "end") {
            const open = calls.filter((c) => !c.done);
            if (open.length === 0) continue;
            const c = open[a.call % open.length];
            c.done = true;
            // A call is recorded whatever happened to its job meanwhile (its job may have ended).
            outcome("end", await ledger.recordCall(c.jobId, recordOf(c, a)));
          } else if (a.kind === "complete" && jobs.length > 0) {
            const completed = await ledger.completeJob(admin, {
              jobId: jobs[a.job % jobs.length],
              status: a.status,
              errorMessage: null,
              metadata: null,
              operation: op(),
            });
            // Ending an ended job another way is a conflict; the same way replays its summary.
            outcome("complete", completed, ["JOB_STATUS_CONFLICT"]);
          } else if (a.kind === "topUp") {
            outcome("topUp", await ledger.addCredits(a.credits, "top-up", op()));
          } else if (a.kind === "mode") {
            outcome("mode", await ledger.updateSettings({ budgetMode: a.mode }, op()));
          }
          await expectConsistent(ledger);
        }
        // Once every call has ended, nothing is held any more.
        for (const c of calls.filter((open) => !open.done)) {
          outcome("end", await ledger.recordCall(c.jobId, recordOf(c, { aborted: true, estimated: true, share: 0.5 })));
        }
        await expectConsistent(ledger);
        const b = await ledger.getBalance(admin);
        expect(b.ok && b.value.credits_held, "credits still held after every call ended").toBe(0);
      }),
      {
        numRuns: 25,
        // Run first, so every run of the test covers the paths checked below whatever the random ones draw.
        examples: [
          [
            [
              { kind: "create" },
              { kind: "call", job: 0, maxTokens: 100 },
              { kind: "end", call: 0, aborted: false, estimated: false, share: 1 },
              { kind: "call", job: 0, maxTokens: 50_000 },
              { kind: "complete", job: 0, status: "completed" },
              { kind: "call", job: 0, maxTokens: 100 },
            ],
          ],
        ],
      },
    );
    // Calls were admitted and recorded, refused for credits and in a finished job; jobs completed.
    for (const path of ["create ok", "call ok", "end ok", "call INSUFFICIENT_CREDITS", "call JOB_FINISHED", "complete ok"]) {
      expect([...seen]).toContain(path);
    }
  }, 30_000);
});
