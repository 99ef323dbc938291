import { env, runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, describe, expect, inject, it, vi } from "vitest";
import { api, balance, createJob, createTeam, expectLedgerConsistent, json, type TestTeam, upstreamRequests, userMessage } from "./helpers";

// Period budgets on keys and end users: held like the team's balance, so concurrency never
// overspends them; refused with 402 naming the budget and when it resets; reset exactly at the
// UTC boundary by the team's object's alarm (a controlled clock: vi.setSystemTime moves Date in
// this isolate, where the objects run too; the alarm is run with runDurableObjectAlarm).

const mockUrl = inject("mockLiteLLMUrl");

afterEach(() => {
  vi.useRealTimers();
});

async function createKey(team: TestTeam, body: Record<string, unknown>) {
  return json("POST", `/api/teams/${team.teamId}/keys`, 200, { body });
}

async function keyNamed(team: TestTeam, name: string) {
  const { keys } = await json("GET", `/api/teams/${team.teamId}/keys`, 200);
  return keys.find((k: any) => k.name === name);
}

function v1Stream(key: string, group: string, headers: Record<string, string> = {}, extra: Record<string, unknown> = {}) {
  return api("POST", "/v1/chat/completions", {
    key,
    headers,
    body: { model: group, messages: userMessage(), stream: true, max_tokens: 50, ...extra },
  });
}

/** Moves this isolate's clock (and so the team objects') to `ms`, then runs the team's alarm as the runtime would at that time. */
async function atTimeRunAlarm(team: TestTeam, ms: number) {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(ms);
  expect(await runDurableObjectAlarm(env.TEAM_LEDGER.getByName(team.teamId))).toBe(true);
}

describe("key budgets: held like the balance", () => {
  it("100 concurrent streams through a key with a 1-credit daily budget (1,000 credits): at most 1 credit spent, the other key goes on, and after the UTC midnight the key works again", async () => {
    const team = await createTeam({ credits: 1000 });
    const batch = await createKey(team, { name: "batch", budget: { credits: 1, period: "day" } });
    const production = await createKey(team, { name: "production" });

    const streams = Array.from({ length: 100 }, async () => {
      const res = await v1Stream(batch.virtual_key, team.groups[0]);
      return { status: res.status, text: await res.text() };
    });
    // The team's other key keeps working while the batch key is refused.
    const [answers, other] = await Promise.all([
      Promise.all(streams),
      v1Stream(production.virtual_key, team.groups[0]).then((r) => r.text()),
    ]);
    expect(other).toContain("data: [DONE]");

    const served = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 402);
    expect(served.length + refused.length).toBe(100);
    expect(served).toHaveLength(1); // each one-request job costs 1 credit: the budget holds one at a time
    expect(served[0].text).toContain("data: [DONE]");
    const resetsAt = (await keyNamed(team, "batch")).budget.resets_at;
    expect(Date.parse(resetsAt)).toBe(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() + 1));
    for (const a of refused) {
      const { error } = JSON.parse(a.text);
      expect(error.message).toContain("key 'batch' has a budget of 1 credit(s) per day");
      expect(error.message).toContain(`it resets at ${resetsAt}`);
    }
    // Nothing refused reached the model: one batch call, one production call.
    expect(await upstreamRequests(mockUrl, team.teamId)).toHaveLength(2);

    const spent = await keyNamed(team, "batch");
    expect(spent.budget).toMatchObject({ credits: 1, spent_credits: 1, held_credits: 0 });
    const b = await expectLedgerConsistent(team);
    expect(b.credits_used).toBe(2); // the batch key's 1 and production's 1
    expect((await v1Stream(batch.virtual_key, team.groups[0])).status).toBe(402);

    // At the UTC boundary the object's alarm starts the new window, with no request needed...
    await atTimeRunAlarm(team, Date.parse(resetsAt) + 1);
    const renewed = await keyNamed(team, "batch");
    expect(renewed.budget).toMatchObject({ spent_credits: 0, window_start: resetsAt });
    // ...and the key works again.
    const again = await v1Stream(batch.virtual_key, team.groups[0]);
    expect(again.status).toBe(200);
    expect(await again.text()).toContain("data: [DONE]");
    expect((await keyNamed(team, "batch")).budget.spent_credits).toBe(1);
    await expectLedgerConsistent(team);
  });

  it("consumption mode: concurrent streams in the key's own job are held against its budget as against the balance; at most its budget is charged", async () => {
    const model = "gpt-4o-mini+chunks=4+ttfb=30";
    await json("PUT", "/api/pricing", 200, { body: { model_name: model, input_per_million_usd: 0.15, output_per_million_usd: 0.6 } });
    // 1 credit is $0.001: a call with max_tokens 500 holds about a third of a credit, so a few fit and the rest are refused.
    const team = await createTeam({
      credits: 1000,
      models: [[model]],
      extra: { budget_mode: "consumption_usd", credits_per_dollar: 1000 },
    });
    const batch = await createKey(team, { name: "batch", budget: { credits: 2, period: "day" } });
    const batchTeam = { ...team, key: batch.virtual_key };
    const job = await createJob(batchTeam);
    const answers = await Promise.all(
      Array.from({ length: 60 }, async () => {
        const res = await api("POST", `/api/jobs/${job}/llm-call-stream`, {
          key: batch.virtual_key,
          body: { model_group: team.groups[0], messages: userMessage(), max_tokens: 500 },
        });
        return { status: res.status, text: await res.text() };
      }),
    );
    const served = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 402);
    expect(served.length + refused.length).toBe(60);
    expect(served.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    for (const a of refused) expect(JSON.parse(a.text).detail).toContain("key 'batch' has a budget of 2 credit(s) per day");
    const summary = await json("POST", `/api/jobs/${job}/complete`, 200, { key: batch.virtual_key, body: { status: "completed" } });
    expect(summary.costs.credits_charged).toBeLessThanOrEqual(2);
    const key = await keyNamed(team, "batch");
    expect(key.budget.spent_credits).toBe(summary.costs.credits_charged);
    expect(key.budget.held_credits).toBe(0);
    const b = await expectLedgerConsistent(team);
    expect(b.credits_used).toBe(summary.costs.credits_charged);
  });

  it("a job refused for its key's budget is refused before anything is held; the team's balance is untouched", async () => {
    const team = await createTeam({ credits: 10 });
    const key = await createKey(team, { name: "tiny", budget: { credits: 1, period: "total" } });
    const keyTeam = { ...team, key: key.virtual_key };
    await createJob(keyTeam);
    const refused = await api("POST", "/api/jobs/create", { key: key.virtual_key, body: { team_id: team.teamId, job_type: "t" } });
    expect(refused.status).toBe(402);
    expect((await refused.json<any>()).detail).toContain(
      "key 'tiny' has a budget of 1 credit(s) in total, 0 left, and a new job needs up to 1; it does not reset",
    );
    expect((await balance(team)).credits_reserved).toBe(1);
    // A raised budget lets it open another at once.
    await json("PATCH", `/api/teams/${team.teamId}/keys/${key.key_id}`, 200, { body: { budget: { credits: 2, period: "total" } } });
    await createJob(keyTeam);
    // Removing it lifts the cap.
    await json("PATCH", `/api/teams/${team.teamId}/keys/${key.key_id}`, 200, { body: { budget: null } });
    await createJob(keyTeam);
    expect((await keyNamed(team, "tiny")).budget).toBeNull();
    await expectLedgerConsistent(team);
  });

  it("a failed or cancelled job spends nothing of the budget; a refund gives back what it was charged this window", async () => {
    const team = await createTeam({ credits: 10 });
    const key = await createKey(team, { name: "k", budget: { credits: 1, period: "month" } });
    const keyTeam = { ...team, key: key.virtual_key };
    const failed = await createJob(keyTeam);
    await json("POST", `/api/jobs/${failed}/complete`, 200, { key: key.virtual_key, body: { status: "failed" } });
    const completed = await createJob(keyTeam);
    await json("POST", `/api/jobs/${completed}/complete`, 200, { key: key.virtual_key, body: { status: "completed" } });
    expect((await keyNamed(team, "k")).budget.spent_credits).toBe(1);
    expect((await api("POST", "/api/jobs/create", { key: key.virtual_key, body: { team_id: team.teamId, job_type: "t" } })).status).toBe(
      402,
    );
    await json("POST", `/api/credits/teams/${team.teamId}/refund`, 200, { body: { job_id: completed, reason: "bad answer" } });
    expect((await keyNamed(team, "k")).budget.spent_credits).toBe(0);
    await createJob(keyTeam);
  });
});

describe("end-user budgets: the same mechanism, per end user", () => {
  it("an end user over the team's end_user_budget gets 402 while others continue; OpenAI `user`, X-End-User-Id and a job's user_id all name one", async () => {
    const team = await createTeam({ credits: 100 });
    await json("PATCH", `/api/teams/${team.teamId}`, 200, { body: { end_user_budget: { credits: 1, period: "day" } } });
    const chat = (user: string | null, headers: Record<string, string> = {}) =>
      api("POST", "/v1/chat/completions", {
        key: team.key,
        headers,
        body: { model: team.groups[0], messages: userMessage(), ...(user ? { user } : {}) },
      });
    expect((await chat("alice")).status).toBe(200);
    const refused = await chat("alice");
    expect(refused.status).toBe(402);
    expect((await refused.json<any>()).error.message).toContain("end user 'alice' has a budget of 1 credit(s) per day");
    expect((await chat(null, { "x-end-user-id": "alice" })).status).toBe(402);
    expect((await chat("bob")).status).toBe(200);
    expect((await chat(null)).status).toBe(200); // no end user: no end-user cap
    // A job opened for alice with user_id counts against her too.
    const job = await api("POST", "/api/jobs/create", { key: team.key, body: { team_id: team.teamId, job_type: "t", user_id: "alice" } });
    expect(job.status).toBe(402);
    const carol = await json("POST", "/api/jobs/create", 200, {
      key: team.key,
      body: { team_id: team.teamId, job_type: "t", user_id: "carol" },
    });
    expect((await json("GET", `/api/jobs/${carol.job_id}`, 200, { key: team.key })).end_user).toBe("carol");
    expect(
      (
        await api("POST", "/v1/chat/completions", {
          key: team.key,
          headers: { "x-end-user-id": "" },
          body: { model: team.groups[0], messages: userMessage() },
        })
      ).status,
    ).toBe(422);

    const shown = await json("GET", `/api/teams/${team.teamId}`, 200);
    expect(shown.end_user_budget).toEqual({ credits: 1, period: "day" });
    // Raised for every end user at once, keeping what each spent.
    await json("PATCH", `/api/teams/${team.teamId}`, 200, { body: { end_user_budget: { credits: 2, period: "day" } } });
    expect((await chat("alice")).status).toBe(200);
    expect((await chat("alice")).status).toBe(402);
    await json("PATCH", `/api/teams/${team.teamId}`, 200, { body: { end_user_budget: null } });
    expect((await chat("alice")).status).toBe(200);
    await expectLedgerConsistent(team);
  });

  it("concurrent requests of one end user never spend past their budget", async () => {
    const team = await createTeam({ credits: 500 });
    await json("PATCH", `/api/teams/${team.teamId}`, 200, { body: { end_user_budget: { credits: 3, period: "week" } } });
    const statuses = await Promise.all(
      Array.from({ length: 40 }, async () => {
        const res = await v1Stream(team.key, team.groups[0], { "x-end-user-id": "dave" });
        await res.text();
        return res.status;
      }),
    );
    // Each one-request job holds 1 credit while it runs; the budget holds 3 at a time and 3 in the week.
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1);
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(3);
    expect(statuses.filter((s) => s !== 200).every((s) => s === 402)).toBe(true);
    const served = statuses.filter((s) => s === 200).length;
    expect((await balance(team)).credits_used).toBe(served);
    await expectLedgerConsistent(team);
  });
});
