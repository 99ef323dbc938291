import { env, runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { verifyWebhook } from "../src/webhooks/verify";
import { alarmAt, expectGrantsConsistent, grantsOf, setClock, utc } from "./grants-helpers";
import { allTransactions, api, createJob, createTeam, json, type TestTeam } from "./helpers";
import { eventsAt, headersOf, hookUrl, received } from "./webhook-inbox";

// Where grants meet the team's budgets and alerts: a recharge request's idempotency key applied
// once through `POST …/grants` as through `…/add` (and across the two), and `budget.threshold`
// for the plan allowance's use, once per threshold and period, in order, signed, again after the
// renewal (a controllable clock and the object's alarm, never sleeping for time to pass).

afterEach(() => {
  vi.useRealTimers();
});

/** A job opened and completed without calls: charged its 1-credit minimum. */
async function completedJob(team: TestTeam) {
  const job = await createJob(team);
  await json("POST", `/api/jobs/${job}/complete`, 200, { key: team.key, body: { status: "completed" } });
}

/** Falls below the team's recharge rule and returns the request the object made (from the team's view). */
async function rechargeRequested(team: TestTeam, below: number, target: number) {
  const patched = await json("PATCH", `/api/teams/${team.teamId}`, 200, { body: { auto_recharge: { below, target } } });
  const pending = patched.auto_recharge.pending_request;
  expect(pending.idempotency_key).toMatch(/^recharge_[0-9a-f]{32}$/);
  return pending as { idempotency_key: string; amount: number };
}

describe("recharge requests applied as grants", () => {
  it("the request's key, retried five times through /grants (past 24 h too), makes one grant; other credits under it are refused", async () => {
    const team = await createTeam({ credits: 3 });
    const hook = hookUrl("grants-keys");
    await json("PUT", `/api/teams/${team.teamId}/webhook`, 200, { body: { url: hook.url, events: ["credits.recharge_requested"] } });
    const pending = await rechargeRequested(team, 5, 20);
    const [{ event }] = await eventsAt(team, hook.path, 1);
    expect(event).toMatchObject({
      type: "credits.recharge_requested",
      data: { amount: 17, idempotency_key: pending.idempotency_key, credits_available: 3 },
    });

    // The builder charges its customer and grants the credits with the event's key; its webhook is retried.
    const grant = () =>
      api("POST", `/api/credits/teams/${team.teamId}/grants`, {
        headers: { "idempotency-key": event.data.idempotency_key },
        body: { credits: event.data.amount, source: "paid", reason: "Recharge" },
      });
    const first = await grant();
    expect(first.status).toBe(200);
    const made = await first.json<any>();
    expect(made).toMatchObject({ created: true, grant: { credits: 17, remaining: 17, source: "paid" } });
    for (let i = 0; i < 3; i++) {
      const again = await grant();
      expect(again.status).toBe(200);
      expect((await again.json<any>()).grant.grant_id).toBe(made.grant.grant_id);
    }
    // Past the 24 h an Idempotency-Key's answer is kept: the object still knows the request was applied.
    setClock(Date.now() + 25 * 60 * 60 * 1000);
    const late = await grant();
    expect(late.status).toBe(200);
    expect(await late.json<any>()).toMatchObject({
      created: false,
      grant: { grant_id: made.grant.grant_id, credits: 17 },
      transaction: { transaction_id: made.transaction.transaction_id },
    });
    // Other credits under it, a day later again (the late retry's answer no longer kept): the object refuses them.
    setClock(Date.now() + 25 * 60 * 60 * 1000);
    const other = await api("POST", `/api/credits/teams/${team.teamId}/grants`, {
      headers: { "idempotency-key": event.data.idempotency_key },
      body: { credits: 99, source: "paid" },
    });
    expect(other.status).toBe(422);
    expect((await other.json<any>()).detail).toContain("applied once");

    const grants = await grantsOf(team);
    expect(grants.filter((g) => g.credits === 17)).toHaveLength(1);
    expect((await allTransactions(team)).filter((t) => t.kind === "allocation").map((t) => t.amount)).toEqual([17, 3]);
    expect((await json("GET", `/api/teams/${team.teamId}`, 200)).auto_recharge.pending_request).toBeNull();
    const { balance } = await expectGrantsConsistent(team);
    expect(balance).toMatchObject({ credits_remaining: 20, grants: { paid: 20 } });
  });

  it("applied through /add, the same request through /grants (and back) answers that first grant and adds nothing", async () => {
    const team = await createTeam({ credits: 2 });
    const pending = await rechargeRequested(team, 5, 10);
    const headers = { "idempotency-key": pending.idempotency_key };
    const added = await json("POST", `/api/credits/teams/${team.teamId}/add`, 200, { headers, body: { credits: pending.amount } });
    expect(added).toMatchObject({ credits_added: 8, created: true });
    const asGrant = await json("POST", `/api/credits/teams/${team.teamId}/grants`, 200, {
      headers,
      body: { credits: pending.amount, source: "paid" },
    });
    expect(asGrant).toMatchObject({ created: false, grant: { grant_id: added.grant_id, credits: 8 } });
    expect(asGrant.transaction.transaction_id).toBe(added.transaction.transaction_id);
    expect(asGrant.balance.credits_remaining).toBe(10);

    // The other way round: a request applied as a grant, retried through /add.
    for (let i = 0; i < 6; i++) await completedJob(team); // 10 → 4: below 5 again, a new request
    const second = (await json("GET", `/api/teams/${team.teamId}`, 200)).auto_recharge.pending_request;
    expect(second.idempotency_key).not.toBe(pending.idempotency_key);
    const secondHeaders = { "idempotency-key": second.idempotency_key };
    const granted = await json("POST", `/api/credits/teams/${team.teamId}/grants`, 200, {
      headers: secondHeaders,
      body: { credits: second.amount, source: "paid" },
    });
    const viaAdd = await json("POST", `/api/credits/teams/${team.teamId}/add`, 200, {
      headers: secondHeaders,
      body: { credits: second.amount },
    });
    expect(viaAdd).toMatchObject({ created: false, grant_id: granted.grant.grant_id, credits_added: second.amount });
    expect(viaAdd.balance.credits_remaining).toBe(10);

    expect((await allTransactions(team)).filter((t) => t.kind === "allocation").map((t) => t.amount)).toEqual([6, 8, 2]);
    await expectGrantsConsistent(team);
  });
});

describe("alerts on the plan allowance", () => {
  it("budget.threshold fires as the period's plan credits are used: once per threshold, in order, signed; again after the renewal", async () => {
    setClock(utc("2027-06-01T08:00:00Z"));
    const team = await createTeam({ credits: 0 });
    const base = `/api/credits/teams/${team.teamId}`;
    const hook = hookUrl("grants-keys");
    const saved = await json("PUT", `/api/teams/${team.teamId}/webhook`, 200, { body: { url: hook.url, events: ["budget.threshold"] } });
    await json("PATCH", `/api/teams/${team.teamId}`, 200, { body: { alerts: { thresholds: [100, 50, 80] } } });
    const set = await json("PUT", `${base}/allowance`, 200, { body: { credits: 10, period: "month", rollover: "none" } });
    expect(set.allowance.current_period).toMatchObject({ granted: 10, used: 0 });

    // Each job is charged 1 credit, from the plan (the only grant): 5 jobs use 50 %, 8 use 80 %, 10 use all of it.
    for (let i = 0; i < 4; i++) await completedJob(team);
    await new Promise((r) => setTimeout(r, 200));
    await runDurableObjectAlarm(env.TEAM_LEDGER.getByName(team.teamId));
    expect(await received(hook.path)).toHaveLength(0); // 40 %: below every threshold
    for (let i = 0; i < 6; i++) await completedJob(team);
    const events = await eventsAt(team, hook.path, 3);
    // A charge past the plan is refused (nothing else funds it), and nothing more fires.
    expect((await api("POST", "/api/jobs/create", { key: team.key, body: { team_id: team.teamId, job_type: "t" } })).status).toBe(402);
    await runDurableObjectAlarm(env.TEAM_LEDGER.getByName(team.teamId));
    await new Promise((r) => setTimeout(r, 300));
    expect(await received(hook.path)).toHaveLength(3);
    expect(events.map(({ event }) => [event.type, event.data.threshold_percent])).toEqual([
      ["budget.threshold", 50],
      ["budget.threshold", 80],
      ["budget.threshold", 100],
    ]);
    expect(events[0].event.data).toMatchObject({
      team_id: team.teamId,
      subject: { type: "allowance" },
      budget_credits: 10,
      spent_credits: 5,
      period: "month",
      window_start: "2027-06-01T00:00:00.000Z",
      resets_at: "2027-07-01T00:00:00.000Z",
    });
    const allowanceId = events[0].event.data.subject.allowance_id;
    expect(allowanceId).toEqual(expect.any(String));
    expect(events.map(({ event }) => event.data.subject.allowance_id)).toEqual([allowanceId, allowanceId, allowanceId]);
    expect(events.map(({ event }) => event.data.spent_credits)).toEqual([5, 8, 10]);
    for (const { delivery } of events) {
      expect(await verifyWebhook(saved.secret, headersOf(delivery), delivery.body, Number(delivery.headers["webhook-timestamp"]))).toBe(
        true,
      );
    }

    // July: the alarm renews the allowance at the boundary; the new period's crossings fire again (twice run: still once).
    await alarmAt(team, utc("2027-07-01T00:00:00Z"));
    await alarmAt(team, utc("2027-07-01T00:01:00Z"));
    expect((await json("GET", `${base}/allowance`, 200)).allowance.current_period).toMatchObject({ granted: 10, used: 0 });
    for (let i = 0; i < 5; i++) await completedJob(team);
    const next = await eventsAt(team, hook.path, 4);
    await new Promise((r) => setTimeout(r, 300));
    expect(await received(hook.path)).toHaveLength(4);
    expect(next[3].event.data).toMatchObject({
      subject: { type: "allowance", allowance_id: allowanceId },
      threshold_percent: 50,
      spent_credits: 5,
      window_start: "2027-07-01T00:00:00.000Z",
      resets_at: "2027-08-01T00:00:00.000Z",
    });
    await expectGrantsConsistent(team);
  });
});
