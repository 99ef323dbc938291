import { env } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Repository } from "../src/db/repository";
import { type CallRecord, isCacheLookup } from "../src/ledger/types";
import { uid } from "./helpers";

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
        await ledger.openAccount(
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
            keyHash: uid("prop-key"),
            modelGroups: [{ name: "g", models: [MODEL] }],
          },
          op(),
        );
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
            if (created.ok) jobs.push(created.value.job_id);
          } else if (a.kind === "call" && jobs.length > 0) {
            const jobId = jobs[a.job % jobs.length];
            const callId = crypto.randomUUID();
            const admitted = await ledger.beginCall(admin, jobId, "g", "team", { callId, promptTokens: 20, maxTokens: a.maxTokens });
            if (admitted.ok && !isCacheLookup(admitted.value)) {
              calls.push({ jobId, callId, maxTokens: a.maxTokens ?? admitted.value.budgetMaxTokens ?? 4096, done: false });
            }
          } else if (a.kind === "end") {
            const open = calls.filter((c) => !c.done);
            if (open.length === 0) continue;
            const c = open[a.call % open.length];
            c.done = true;
            const completion = Math.round(c.maxTokens * a.share);
            const record: CallRecord = {
              callId: c.callId,
              modelGroup: "g",
              modelUsed: MODEL,
              attempts: [],
              purpose: null,
              status: a.aborted ? "aborted" : "success",
              promptTokens: 20,
              completionTokens: completion,
              totalTokens: 20 + completion,
              providerCostNano: Math.round(20 * 150 + completion * 600),
              costSource: "pricing_table",
              usageEstimated: a.estimated,
              latencyMs: 1,
              error: null,
              stream: true,
            };
            await ledger.recordCall(c.jobId, record);
          } else if (a.kind === "complete" && jobs.length > 0) {
            await ledger.completeJob(admin, {
              jobId: jobs[a.job % jobs.length],
              status: a.status,
              errorMessage: null,
              metadata: null,
              operation: op(),
            });
          } else if (a.kind === "topUp") {
            await ledger.addCredits(a.credits, "top-up", op());
          } else if (a.kind === "mode") {
            await ledger.updateSettings({ budgetMode: a.mode }, op());
          }
          await expectConsistent(ledger);
        }
      }),
      { numRuns: 25 },
    );
  }, 30_000);
});
