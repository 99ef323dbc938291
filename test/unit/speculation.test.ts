import { describe, expect, it } from "vitest";
import { AdmissionSight, type Admitting, SPECULATION_WINDOW_MS, speculationHolds } from "../../src/calls/speculation";
import type { AdmissionOutlook, CallAdmission } from "../../src/ledger/types";

// When this isolate lets a call go upstream before its admission comes back: only for a key it
// saw admitted recently, in a team that has not refused since and lets it, with the credit it saw
// free covering the call's hold; and which admissions let such a call go on.

const NO_BUDGETS = { keyRoomMicro: null, endUserRoomMicro: null, endUsersBudgeted: false };

const tokens = { budgetMode: "consumption_tokens" as const, creditsPerDollar: 10, tokensPerCredit: 1_000, costMarkupPercentage: 0 };

function outlook(overrides: Partial<AdmissionOutlook> = {}): AdmissionOutlook {
  return { speculative: true, freeMicro: 10_000_000, freeUntilMs: null, holds: null, budgets: NO_BUDGETS, ...overrides };
}

function admission(overrides: Partial<CallAdmission> = {}): CallAdmission {
  return {
    jobType: "triage",
    userId: null,
    endUser: null,
    markupPercentage: 0,
    budgetMaxTokens: null,
    models: ["gpt-4o-mini", "gpt-4"],
    cache: null,
    outlook: outlook(),
    ...overrides,
  };
}

function call(overrides: Partial<Admitting> = {}): Admitting {
  return {
    teamId: "team-a",
    keyHash: "key-1",
    jobId: "job-1",
    modelGroup: "fast",
    estimate: { promptTokens: 100, maxTokens: 200, choices: 1 },
    ...overrides,
  };
}

function sightAt(start = 1_000_000) {
  const clock = { now: start };
  return { sight: new AdmissionSight(() => clock.now), clock };
}

describe("a call goes upstream before its admission only when this isolate expects it", () => {
  it("after its key was admitted here: the models, attribution and markup it saw", () => {
    const { sight } = sightAt();
    expect(sight.expect(call())).toBeNull();
    sight.admitted(call(), admission({ markupPercentage: 20 }));
    expect(sight.expect(call())?.admission).toMatchObject({
      models: ["gpt-4o-mini", "gpt-4"],
      jobType: "triage",
      markupPercentage: 20,
      budgetMaxTokens: null,
    });
  });

  it("not for another key of the team, another group, or a job it has not seen", () => {
    const { sight } = sightAt();
    sight.admitted(call(), admission());
    expect(sight.expect(call({ keyHash: "key-2" }))).toBeNull();
    expect(sight.expect(call({ modelGroup: "slow" }))).toBeNull();
    expect(sight.expect(call({ jobId: "job-2" }))).toBeNull();
    sight.jobOpened("job-2", { jobType: "triage", userId: "u-1", endUser: null });
    expect(sight.expect(call({ jobId: "job-2" }))?.admission).toMatchObject({ userId: "u-1" });
    // A one-request job names its own attribution.
    expect(sight.expect(call({ jobId: "job-3", job: { jobType: "chat", userId: null, endUser: null } }))?.admission.jobType).toBe("chat");
  });

  it("not once the key's last admission here is older than the window", () => {
    const { sight, clock } = sightAt();
    sight.admitted(call(), admission());
    clock.now += SPECULATION_WINDOW_MS;
    expect(sight.expect(call())).not.toBeNull();
    clock.now += 1;
    expect(sight.expect(call())).toBeNull();
  });

  it("not after the team refused a call, until one of its calls is admitted again", () => {
    const { sight } = sightAt();
    sight.admitted(call(), admission());
    sight.refused("team-a");
    expect(sight.expect(call())).toBeNull();
    sight.admitted(call(), admission());
    expect(sight.expect(call())).not.toBeNull();
  });

  it("not for a group with a response cache: a hit needs no upstream request", () => {
    const { sight } = sightAt();
    sight.admitted(call(), admission());
    expect(sight.expect(call())).not.toBeNull();
    const cache = { ttlSeconds: 60, scope: "team" as const, hitPricePercent: 10, scopeId: "team:team-a" };
    sight.admitted(call(), admission({ cache }));
    expect(sight.expect(call())).toBeNull();
    // The team's other groups still go early; the cached group again once it answers without a cache.
    sight.admitted(call({ modelGroup: "slow" }), admission());
    expect(sight.expect(call({ modelGroup: "slow" }))).not.toBeNull();
    sight.admitted(call(), admission());
    expect(sight.expect(call())?.admission.cache).toBeNull();
  });

  it("not for a team whose admins turned it off", () => {
    const { sight } = sightAt();
    sight.admitted(call(), admission({ outlook: outlook({ speculative: false }) }));
    expect(sight.expect(call())).toBeNull();
  });

  it("without max_tokens, only with the max_tokens the object chose last, which it is sent with", () => {
    const { sight } = sightAt();
    sight.admitted(call(), admission());
    expect(sight.expect(call({ estimate: { promptTokens: 100, maxTokens: null, choices: 1 } }))).toBeNull();
    sight.admitted(call({ estimate: { promptTokens: 100, maxTokens: null, choices: 1 } }), admission({ budgetMaxTokens: 1_500 }));
    expect(sight.expect(call({ estimate: { promptTokens: 90, maxTokens: null, choices: 1 } }))?.admission.budgetMaxTokens).toBe(1_500);
    // A call with its own max_tokens is sent with it: the object chooses none.
    expect(sight.expect(call())?.admission.budgetMaxTokens).toBeNull();
  });

  it("only while the credit it saw free covers the call's hold, counting the calls already started", () => {
    const { sight } = sightAt();
    // 1,000 tokens a credit: prompt 100 + max_tokens 200 holds 0.3 credits; 1 credit is free.
    sight.admitted(call(), admission({ outlook: outlook({ freeMicro: 1_000_000, holds: { settings: tokens, price: null, team: true } }) }));
    const started = [sight.expect(call()), sight.expect(call()), sight.expect(call())];
    expect(started.map((s) => s?.heldMicro)).toEqual([300_000, 300_000, 300_000]);
    expect(sight.expect(call())).toBeNull();
    sight.settled(started[0]!);
    expect(sight.expect(call())).not.toBeNull();
    // n choices hold n completions; a job opened by the call holds its credit too.
    expect(sight.expect(call({ estimate: { promptTokens: 100, maxTokens: 200, choices: 3 } }))).toBeNull();
  });

  it("only until the team's grants change its credit by themselves (a grant's expiry, the allowance's renewal)", () => {
    const { sight, clock } = sightAt();
    sight.admitted(call(), admission({ outlook: outlook({ freeUntilMs: clock.now + 10_000 }) }));
    clock.now += 9_999;
    expect(sight.expect(call())).not.toBeNull();
    clock.now += 1;
    expect(sight.expect(call())).toBeNull();
  });

  it("a call that opens its job needs the job's credit free as well", () => {
    const { sight } = sightAt();
    sight.admitted(call(), admission({ outlook: outlook({ freeMicro: 999_999 }) }));
    expect(sight.expect(call())).not.toBeNull();
    expect(sight.expect(call({ jobId: "job-9", job: { jobType: "x", userId: null, endUser: null } }), true)).toBeNull();
  });

  it("not when the group's hold cannot be priced", () => {
    const { sight } = sightAt();
    const usd = { ...tokens, budgetMode: "consumption_usd" as const };
    sight.admitted(call(), admission({ outlook: outlook({ holds: { settings: usd, price: null, team: true } }) }));
    expect(sight.expect(call())).toBeNull();
  });
});

describe("a call goes upstream before its admission only while its key's and end user's budgets have room", () => {
  // Overdraft allowed (holds do not count against the team's credits), 1,000 tokens a credit:
  // prompt 100 + max_tokens 200 holds 0.3 credits against a budget over the call.
  const overdraft = { settings: tokens, price: null, team: false };

  it("a key whose budget's room does not cover the call's hold is admitted first", () => {
    const { sight } = sightAt();
    sight.admitted(call(), admission({ outlook: outlook({ holds: overdraft, budgets: { ...NO_BUDGETS, keyRoomMicro: 700_000 } }) }));
    const started = [sight.expect(call()), sight.expect(call())];
    expect(started.map((s) => s?.heldMicro)).toEqual([300_000, 300_000]);
    // 0.1 credit left of what the key's budget had: the third call waits for its admission.
    expect(sight.expect(call())).toBeNull();
    sight.settled(started[0]!);
    expect(sight.expect(call())).not.toBeNull();
    // The budget is the key's own: the team's other key, once admitted without a budget, is not limited by it.
    sight.admitted(call({ keyHash: "key-2" }), admission({ outlook: outlook({ holds: overdraft }) }));
    expect(sight.expect(call({ keyHash: "key-2" }))?.heldMicro).toBe(0);
  });

  it("a key whose budget is spent never goes upstream early, nor does a job it opens", () => {
    const { sight } = sightAt();
    sight.admitted(call(), admission({ outlook: outlook({ holds: overdraft, budgets: { ...NO_BUDGETS, keyRoomMicro: 0 } }) }));
    expect(sight.expect(call())).toBeNull();
    expect(sight.expect(call({ jobId: "job-9", job: { jobType: "x", userId: null, endUser: null } }), true)).toBeNull();
  });

  it("an end user over budget, or one this isolate has not seen admitted, is admitted first", () => {
    const { sight } = sightAt();
    const budgets = { ...NO_BUDGETS, endUsersBudgeted: true, endUserRoomMicro: 400_000 };
    sight.admitted(call(), admission({ endUser: "alice", outlook: outlook({ holds: overdraft, budgets }) }));
    const alice = (jobId: string) => call({ jobId, job: { jobType: "x", userId: null, endUser: "alice" } });
    expect(sight.expect(call())?.heldMicro).toBe(300_000);
    // Alice's budget had 0.4 credits: one call's hold fits, a second does not.
    expect(sight.expect(alice("job-2"))).toBeNull();
    const bob = call({ jobId: "job-3", job: { jobType: "x", userId: null, endUser: "bob" } });
    expect(sight.expect(bob)).toBeNull();
    // Bob admitted with no room left: his calls wait for their admission too.
    sight.admitted(
      bob,
      admission({ endUser: "bob", outlook: outlook({ holds: overdraft, budgets: { ...budgets, endUserRoomMicro: 0 } }) }),
    );
    expect(sight.expect(bob)).toBeNull();
  });
});

describe("a call sent before its admission goes on only under an admission like the one expected", () => {
  it("the same models, attribution, and a max_tokens no higher than the object chose", () => {
    expect(speculationHolds(admission(), admission())).toBe(true);
    expect(speculationHolds(admission({ budgetMaxTokens: 1_000 }), admission({ budgetMaxTokens: 2_000 }))).toBe(true);
    expect(speculationHolds(admission({ budgetMaxTokens: 2_000 }), admission({ budgetMaxTokens: 1_000 }))).toBe(false);
    expect(speculationHolds(admission({ budgetMaxTokens: 2_000 }), admission({ budgetMaxTokens: null }))).toBe(false);
    expect(speculationHolds(admission({ budgetMaxTokens: null }), admission({ budgetMaxTokens: 2_000 }))).toBe(false);
    expect(speculationHolds(admission(), admission({ models: ["gpt-4"] }))).toBe(false);
    expect(speculationHolds(admission(), admission({ models: ["gpt-4", "gpt-4o-mini"] }))).toBe(false);
    expect(speculationHolds(admission(), admission({ userId: "u-2" }))).toBe(false);
    expect(speculationHolds(admission(), admission({ endUser: "alice" }))).toBe(false);
    expect(speculationHolds(admission(), admission({ jobType: "other" }))).toBe(false);
  });
});
