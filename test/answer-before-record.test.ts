import { env, runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { balance, createJob, createTeam, expectLedgerConsistent, json, type TestTeam, userMessage } from "./helpers";
import { gatewayWith } from "./worker-harness";

// A plain call's answer goes out as soon as it is read, and its record is written after it
// (docs/money.md). That is safe because every admitted call holds its worst case until it is
// recorded, and the team's alarm settles a hold whose record never came: the call is then billed
// its worst case. Time moves by a controllable clock (Date only; the team's object runs in this
// isolate) and the alarm is run with runDurableObjectAlarm.

/** The test config's per-attempt deadline (vitest.config.ts) and the margin a record has beyond it (holds.ts HOLD_MARGIN_MS). */
const ATTEMPT_MS = 3_000;
const MARGIN_MS = 60_000;

afterEach(() => {
  vi.useRealTimers();
});

/** The team objects, except that every record sent to them is lost (the object is unreachable for it). */
const recordsLost = {
  getByName(name: string) {
    const real = env.TEAM_LEDGER.getByName(name) as unknown as Record<string, (...a: unknown[]) => unknown>;
    return new Proxy(real, {
      get(target, prop: string) {
        if (prop === "recordCall") {
          return async () => {
            throw new Error("Network connection lost");
          };
        }
        return (...args: unknown[]) => target[prop](...args);
      },
    });
  },
} as unknown as Env["TEAM_LEDGER"];

async function adminJob(team: TestTeam, jobId: string) {
  return json("GET", `/api/jobs/${jobId}?team_id=${team.teamId}`, 200);
}

describe("the answer goes out before its record", () => {
  it("a record lost after the answer is still paid from its hold: the alarm settles the call at its worst case", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    let nowMs = Date.now();
    vi.setSystemTime(nowMs);
    // 100 tokens a credit, holds that must fit: the call's worst case is its prompt and max_tokens.
    const team = await createTeam({ credits: 20, extra: { budget_mode: "consumption_tokens", tokens_per_credit: 100 } });
    const job = await createJob(team);
    const answered = await gatewayWith({ TEAM_LEDGER: recordsLost }).send("POST", `/api/jobs/${job}/llm-call`, team.key, {
      model_group: team.groups[0],
      messages: userMessage(),
      max_tokens: 300,
    });
    expect(answered.status, answered.text).toBe(200);
    expect(answered.body.response.content).toEqual(expect.any(String));
    const used = answered.body.metadata.tokens_used;

    // Its record never came: the call is in flight, held at its worst case, not in the job.
    expect((await adminJob(team, job)).calls).toEqual([]);
    expect((await balance(team)).credits_held).toBeGreaterThanOrEqual(3);

    nowMs += ATTEMPT_MS + MARGIN_MS + 1;
    vi.setSystemTime(nowMs);
    await runDurableObjectAlarm(env.TEAM_LEDGER.getByName(team.teamId));

    const [settled] = (await adminJob(team, job)).calls;
    expect(settled).toMatchObject({ call_id: answered.body.call_id, status: "unrecorded" });
    // Billed its worst case (prompt + max_tokens), never less than what the answer used.
    expect(settled.completion_tokens).toBe(300);
    expect(settled.total_tokens).toBeGreaterThanOrEqual(used);
    expect((await balance(team)).credits_held).toBe(0);
    const done = await json("POST", `/api/jobs/${job}/complete`, 200, { key: team.key, body: { status: "completed" } });
    expect(done.costs.credits_charged).toBe(Math.floor(settled.total_tokens / 100));
    await expectLedgerConsistent(team, { callsEnded: true });
  });

  it("an answer whose record arrives is charged what it used, once: the record is written after the answer, not lost", async () => {
    const team = await createTeam({ credits: 20, extra: { budget_mode: "consumption_tokens", tokens_per_credit: 100 } });
    const job = await createJob(team);
    const answered = await gatewayWith().send("POST", `/api/jobs/${job}/llm-call`, team.key, {
      model_group: team.groups[0],
      messages: userMessage(),
      max_tokens: 300,
    });
    expect(answered.status).toBe(200);
    const [recorded] = (await adminJob(team, job)).calls;
    expect(recorded).toMatchObject({ call_id: answered.body.call_id, status: "success", total_tokens: answered.body.metadata.tokens_used });
    expect((await balance(team)).credits_held).toBe(0);
    await expectLedgerConsistent(team, { callsEnded: true });
  });
});
