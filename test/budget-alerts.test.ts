import { env, runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { verifyWebhook } from "../src/webhooks/verify";
import { allTransactions, api, balance, createJob, createTeam, expectLedgerConsistent, json, type TestTeam } from "./helpers";
import { eventsAt, headersOf, hookUrl, received } from "./webhook-inbox";

// Alerts before money runs out, as signed webhooks from the team's object: budget.threshold when
// a key's period budget crosses a percentage (once per crossing per window, in order),
// key.budget_exhausted, and credits.recharge_requested when the balance falls below the team's
// recharge threshold, applied once however often it is acted on.

afterEach(() => {
  vi.useRealTimers();
});

async function completedJob(team: TestTeam) {
  const job = await createJob(team);
  await json("POST", `/api/jobs/${job}/complete`, 200, { key: team.key, body: { status: "completed" } });
}

describe("budget alerts", () => {
  it("budget.threshold fires once per crossing per window, in order, signed; key.budget_exhausted at the cap; again in the next window", async () => {
    const team = await createTeam({ credits: 100 });
    const hook = hookUrl("alerts");
    const saved = await json("PUT", `/api/teams/${team.teamId}/webhook`, 200, {
      body: { url: hook.url, events: ["budget.threshold", "key.budget_exhausted"] },
    });
    const patched = await json("PATCH", `/api/teams/${team.teamId}`, 200, { body: { alerts: { thresholds: [100, 50, 75] } } });
    expect(patched.alerts).toEqual({ thresholds: [50, 75, 100] });
    const key = await json("POST", `/api/teams/${team.teamId}/keys`, 200, {
      body: { name: "nightly", budget: { credits: 4, period: "day" } },
    });
    const keyTeam = { ...team, key: key.virtual_key };

    for (let i = 0; i < 4; i++) await completedJob(keyTeam); // 25%, 50%, 75%, 100%
    expect((await api("POST", "/api/jobs/create", { key: key.virtual_key, body: { team_id: team.teamId, job_type: "t" } })).status).toBe(
      402,
    );
    const events = await eventsAt(team, hook.path, 4);
    await new Promise((r) => setTimeout(r, 300));
    expect(await received(hook.path)).toHaveLength(4); // nothing more: each crossing fires once
    expect(events.map(({ event }) => [event.type, event.data.threshold_percent ?? null])).toEqual([
      ["budget.threshold", 50],
      ["budget.threshold", 75],
      ["budget.threshold", 100],
      ["key.budget_exhausted", null],
    ]);
    const [first] = events;
    expect(first.event.data).toMatchObject({
      team_id: team.teamId,
      subject: { type: "key", key_id: key.key_id, name: "nightly" },
      budget_credits: 4,
      spent_credits: 2,
      period: "day",
      resets_at: key.budget.resets_at,
    });
    for (const { delivery } of events) {
      expect(await verifyWebhook(saved.secret, headersOf(delivery), delivery.body, Number(delivery.headers["webhook-timestamp"]))).toBe(
        true,
      );
    }

    // The next window: the alarm at the boundary starts it, and its crossings fire again.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.parse(key.budget.resets_at) + 1);
    await runDurableObjectAlarm(env.TEAM_LEDGER.getByName(team.teamId));
    await completedJob(keyTeam);
    await completedJob(keyTeam);
    // (Still at that time: the event is due for delivery then.)
    const next = await eventsAt(team, hook.path, 5);
    expect(next[4].event).toMatchObject({ type: "budget.threshold", data: { threshold_percent: 50, spent_credits: 2 } });
    expect(next[4].event.data.window_start).toBe(key.budget.resets_at);
  });

  it("an end user's budget crossing fires budget.threshold naming the end user", async () => {
    const team = await createTeam({ credits: 100 });
    const hook = hookUrl("alerts");
    await json("PUT", `/api/teams/${team.teamId}/webhook`, 200, { body: { url: hook.url, events: ["budget.threshold"] } });
    await json("PATCH", `/api/teams/${team.teamId}`, 200, {
      body: { alerts: { thresholds: [50] }, end_user_budget: { credits: 2, period: "month" } },
    });
    const job = await json("POST", "/api/jobs/create", 200, {
      key: team.key,
      body: { team_id: team.teamId, job_type: "t", user_id: "erin" },
    });
    await json("POST", `/api/jobs/${job.job_id}/complete`, 200, { key: team.key, body: { status: "completed" } });
    const [{ event }] = await eventsAt(team, hook.path, 1);
    expect(event).toMatchObject({
      type: "budget.threshold",
      data: { subject: { type: "end_user", end_user: "erin" }, threshold_percent: 50 },
    });
  });
});

describe("recharge requests", () => {
  it("falling below `below` requests target − available once per crossing; the request, retried five times (past 24 h too), is applied once", async () => {
    const team = await createTeam({ credits: 7 });
    const hook = hookUrl("alerts");
    await json("PUT", `/api/teams/${team.teamId}/webhook`, 200, { body: { url: hook.url, events: ["credits.recharge_requested"] } });
    const patched = await json("PATCH", `/api/teams/${team.teamId}`, 200, { body: { auto_recharge: { below: 5, target: 20 } } });
    expect(patched.auto_recharge).toEqual({ below: 5, target: 20, pending_request: null });
    for (let i = 0; i < 3; i++) await completedJob(team); // available 6, 5, 4: the third crosses below 5
    await completedJob(team); // 3: still below, no second request
    const [{ event }] = await eventsAt(team, hook.path, 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(await received(hook.path)).toHaveLength(1);
    expect(event).toMatchObject({ type: "credits.recharge_requested", data: { amount: 16, below: 5, target: 20, credits_available: 4 } });
    const idempotencyKey: string = event.data.idempotency_key;
    expect(idempotencyKey).toMatch(/^recharge_[0-9a-f]{32}$/);
    // The team's view shows the request until it is applied (for a builder that missed the event).
    const pending = (await json("GET", `/api/teams/${team.teamId}`, 200)).auto_recharge.pending_request;
    expect(pending).toMatchObject({ idempotency_key: idempotencyKey, amount: 16 });

    // The builder charges its customer and adds the credits with the event's key; the webhook (and so the add) is retried.
    const add = () =>
      api("POST", `/api/credits/teams/${team.teamId}/add`, {
        headers: { "idempotency-key": idempotencyKey },
        body: { credits: event.data.amount, reason: "Recharge" },
      });
    const first = await add();
    expect(first.status).toBe(200);
    const applied = await first.json<any>();
    for (let i = 0; i < 3; i++) expect((await add()).status).toBe(200);
    // Past the 24 h an Idempotency-Key's answer is kept, the object still knows the request was applied.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 25 * 60 * 60 * 1000);
    const late = await add();
    expect(late.status).toBe(200);
    expect((await late.json<any>()).transaction.transaction_id).toBe(applied.transaction.transaction_id);
    const other = await api("POST", `/api/credits/teams/${team.teamId}/add`, {
      headers: { "idempotency-key": idempotencyKey },
      body: { credits: 99, reason: "Recharge" },
    });
    expect(other.status).toBe(422);
    vi.useRealTimers();

    expect((await json("GET", `/api/teams/${team.teamId}`, 200)).auto_recharge.pending_request).toBeNull();
    const allocations = (await allTransactions(team)).filter((t) => t.kind === "allocation");
    expect(allocations.map((t) => t.amount)).toEqual([16, 7]);
    expect((await balance(team)).credits_available).toBe(19);
    await expectLedgerConsistent(team);

    // Back above `below`, the rule is armed again: the next fall makes a new request with a new key.
    for (let i = 0; i < 15; i++) await completedJob(team);
    const all = await eventsAt(team, hook.path, 2);
    expect(all[1].event.data).toMatchObject({ amount: 16, credits_available: 4 });
    expect(all[1].event.data.idempotency_key).not.toBe(idempotencyKey);
  });

  it("a team without a webhook still gets its request made, shown in its view until applied; a rule set while below asks at once", async () => {
    const team = await createTeam({ credits: 3 });
    const patched = await json("PATCH", `/api/teams/${team.teamId}`, 200, { body: { auto_recharge: { below: 5, target: 10 } } });
    const pending = patched.auto_recharge.pending_request;
    expect(pending).toMatchObject({ amount: 7 });
    await completedJob(team); // still below: no second request
    expect((await json("GET", `/api/teams/${team.teamId}`, 200)).auto_recharge.pending_request).toEqual(pending);
    await json("POST", `/api/credits/teams/${team.teamId}/add`, 200, {
      headers: { "idempotency-key": pending.idempotency_key },
      body: { credits: pending.amount },
    });
    expect((await json("GET", `/api/teams/${team.teamId}`, 200)).auto_recharge.pending_request).toBeNull();
    expect((await balance(team)).credits_available).toBe(9);
    await json("PATCH", `/api/teams/${team.teamId}`, 200, { body: { auto_recharge: null } });
    expect((await json("GET", `/api/teams/${team.teamId}`, 200)).auto_recharge).toBeNull();
  });

  it("an Idempotency-Key that names no recharge request adds credits as before", async () => {
    const team = await createTeam({ credits: 1 });
    const key = `recharge_${"0".repeat(32)}`;
    const add = () => api("POST", `/api/credits/teams/${team.teamId}/add`, { headers: { "idempotency-key": key }, body: { credits: 5 } });
    expect((await add()).status).toBe(200);
    expect((await add()).status).toBe(200);
    expect((await balance(team)).credits_allocated).toBe(6);
  });
});
