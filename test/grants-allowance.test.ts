import { env, evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, describe, expect, inject, it, vi } from "vitest";
import { verifyWebhook } from "../src/webhooks/verify";
import { alarmAt, consumeJob, expectGrantsConsistent, grantsOf, makeGrant, setClock, utc } from "./grants-helpers";
import { allTransactions, api, createTeam, json, type TestTeam, uid } from "./helpers";

// Plan allowances on a controllable clock: each period's plan grant made once, the previous one
// expiring at the boundary (with its rollover), every missed period settled in order however
// late or often the alarm runs; and the webhooks that tell of grants and renewals.

afterEach(() => {
  vi.useRealTimers();
});

const allowancePath = (team: TestTeam) => `/api/credits/teams/${team.teamId}/allowance`;

describe("setting an allowance", () => {
  it("PUT grants the period under way at once; the same terms again change nothing; GET shows the period's plan credits", async () => {
    setClock(utc("2027-08-10T12:00:00Z"));
    const team = await createTeam({ credits: 0 });
    expect((await api("GET", allowancePath(team), { key: team.key })).status).toBe(404);
    const body = { credits: 70, period: "month", anchor: 15, rollover: { max: 20 } };
    const set = await json("PUT", allowancePath(team), 200, { body });
    expect(set).toMatchObject({
      changed: true,
      allowance: {
        credits: 70,
        period: "month",
        anchor: 15,
        rollover: { max: 20 },
        priority: 50,
        current_period: { starts_at: "2027-07-15T00:00:00.000Z", ends_at: "2027-08-15T00:00:00.000Z", granted: 70, used: 0, remaining: 70 },
        next_renewal_at: "2027-08-15T00:00:00.000Z",
      },
    });
    expect((await json("PUT", allowancePath(team), 200, { body })).changed).toBe(false);
    await consumeJob(team, 1);
    const read = await json("GET", allowancePath(team), 200, { key: team.key });
    expect(read.allowance.current_period).toMatchObject({ granted: 70, used: 1, remaining: 69 });
    const plan = await grantsOf(team);
    expect(plan).toHaveLength(1);
    expect(plan[0]).toMatchObject({ source: "plan", credits: 70, expires_at: "2027-08-15T00:00:00.000Z", plan: { rollover: false } });
  });

  it("new terms start at once: the current plan credits are voided and the new allowance's period is granted", async () => {
    setClock(utc("2027-08-10T12:00:00Z"));
    const team = await createTeam({ credits: 0 });
    await json("PUT", allowancePath(team), 200, { body: { credits: 70, period: "month" } });
    await consumeJob(team, 1);
    const changed = await json("PUT", allowancePath(team), 200, { body: { credits: 10, period: "week", anchor: 3 } });
    // 2027-08-10 is a Tuesday: the week beginning on Wednesday began on 2027-08-04.
    expect(changed.allowance.current_period).toMatchObject({ starts_at: "2027-08-04T00:00:00.000Z", ends_at: "2027-08-11T00:00:00.000Z" });
    const rows = await allTransactions(team);
    expect(rows.slice(0, 2).map((r) => [r.kind, r.amount])).toEqual([
      ["allocation", 10],
      ["void", -69],
    ]);
    await expectGrantsConsistent(team);
  });

  it("bad allowances are 422; DELETE stops the renewals and the period's plan credits stay until they expire", async () => {
    setClock(utc("2027-08-10T12:00:00Z"));
    const team = await createTeam({ credits: 0 });
    for (const [body, says] of [
      [{ credits: 0, period: "month" }, "must be a positive integer"],
      [{ credits: 5, period: "year" }, "must be one of day, week, month"],
      [{ credits: 5, period: "day", anchor: 2 }, "field 'anchor' applies to week and month periods only"],
      [{ credits: 5, period: "week", anchor: 8 }, "field 'anchor' must be at most 7 for a week (1 Monday to 7 Sunday)"],
      [{ credits: 5, period: "month", rollover: { max: 0 } }, "must be a positive integer"],
      [{ credits: 5, period: "month", rollover: "all" }, "rollover"],
    ] as const) {
      const res = await api("PUT", allowancePath(team), { body });
      expect(res.status, JSON.stringify(body)).toBe(422);
      const { detail } = await res.json<any>();
      expect(Array.isArray(detail), JSON.stringify(detail)).toBe(true);
      expect(JSON.stringify(detail)).toContain(says);
    }
    expect((await api("PUT", allowancePath(team), { key: team.key, body: { credits: 5, period: "day" } })).status).toBe(403);
    await json("PUT", allowancePath(team), 200, { body: { credits: 5, period: "day" } });
    await json("DELETE", allowancePath(team), 200);
    expect((await api("DELETE", allowancePath(team))).status).toBe(404);
    expect((await json("GET", `/api/credits/teams/${team.teamId}/balance`, 200)).next_renewal).toBeNull();
    await alarmAt(team, utc("2027-08-13T00:00:00Z"));
    const plan = await grantsOf(team);
    expect(plan.map((g) => [g.status, g.credits])).toEqual([["expired", 5]]);
    expect((await json("GET", `/api/credits/teams/${team.teamId}/balance`, 200)).credits_remaining).toBe(0);
  });
});

describe("renewals", () => {
  it("an object evicted for days settles every missed period in order, once each, with its rollover; the alarm again or after a restart adds nothing", async () => {
    setClock(utc("2027-09-01T08:00:00Z"));
    const team = await createTeam({ credits: 0 });
    await json("PUT", allowancePath(team), 200, { body: { credits: 10, period: "day", rollover: { max: 4 } } });
    await consumeJob(team, 1); // a few credits of day 1's 10
    const ledger = env.TEAM_LEDGER.getByName(team.teamId);
    await evictDurableObject(ledger);
    await alarmAt(team, utc("2027-09-05T13:00:00Z"));
    await runDurableObjectAlarm(ledger);
    await evictDurableObject(ledger);
    await alarmAt(team, utc("2027-09-05T13:00:01Z"));

    const plan = (await grantsOf(team)).reverse();
    const periods = plan.map((g) => [g.plan.period_start.slice(0, 10), g.plan.rollover, g.credits, g.status]);
    expect(periods).toEqual([
      ["2027-09-01", false, 10, "expired"],
      ["2027-09-02", true, 4, "expired"],
      ["2027-09-02", false, 10, "expired"],
      ["2027-09-03", true, 4, "expired"],
      ["2027-09-03", false, 10, "expired"],
      ["2027-09-04", true, 4, "expired"],
      ["2027-09-04", false, 10, "expired"],
      ["2027-09-05", true, 4, "active"],
      ["2027-09-05", false, 10, "active"],
    ]);
    // Each renewal's rows are dated at its boundary, in order.
    const renewals = (await allTransactions(team)).filter((r) => r.kind === "allocation" && r.amount > 0).reverse();
    expect(renewals.map((r) => r.created_at)).toEqual([
      "2027-09-01T08:00:00.000Z",
      ...["02", "02", "03", "03", "04", "04", "05", "05"].map((d) => `2027-09-${d}T00:00:00.000Z`),
    ]);
    const balance = (await expectGrantsConsistent(team)).balance;
    expect(balance).toMatchObject({ credits_remaining: 14, grants: { plan: 14 }, next_renewal: { at: "2027-09-06T00:00:00.000Z" } });
  });

  it("the period's leftover rolls over up to max, expiring with the next period; without rollover it all expires", async () => {
    setClock(utc("2027-10-01T00:00:00Z"));
    const team = await createTeam({ credits: 0 });
    await json("PUT", allowancePath(team), 200, { body: { credits: 30, period: "week", anchor: 5, rollover: { max: 100 } } });
    // 2027-10-01 is a Friday: the week runs to Friday 2027-10-08.
    await alarmAt(team, utc("2027-10-08T00:00:00Z"));
    let plan = await grantsOf(team, "&status=live");
    expect(plan.map((g) => [g.credits, g.expires_at, g.plan.rollover])).toEqual([
      [30, "2027-10-15T00:00:00.000Z", false],
      [30, "2027-10-15T00:00:00.000Z", true],
    ]);
    // The rollover is older than the period's own grant, so it is drawn first.
    const job = await consumeJob(team, 1);
    expect((await allTransactions(team)).find((r) => r.job_id === job.jobId && r.kind === "deduction").grants[0].grant_id).toBe(
      plan[1].grant_id,
    );
    await json("PUT", allowancePath(team), 200, { body: { credits: 30, period: "week", anchor: 5, rollover: "none" } });
    await alarmAt(team, utc("2027-10-16T00:00:00Z"));
    plan = await grantsOf(team, "&status=live");
    expect(plan.map((g) => [g.credits, g.plan.rollover])).toEqual([[30, false]]);
    await expectGrantsConsistent(team);
  });
});

describe("webhooks", () => {
  const receiver = inject("webhookReceiverUrl");

  async function receivedEvents(path: string): Promise<any[]> {
    return ((await (await fetch(`${receiver}/_received?path=${encodeURIComponent(path)}`)).json()) as any[]).map((r) => ({
      ...JSON.parse(r.body),
      headers: r.headers,
      raw: r.body,
    }));
  }

  it("grant.expiring (the team's notice before), grant.expired and allowance.renewed are signed and delivered", async () => {
    setClock(utc("2027-11-01T00:00:00Z"));
    const team = await createTeam({ credits: 0, extra: { grant_expiring_notice_seconds: 2 * 86_400 } });
    const path = `/hook/${uid("grants")}`;
    const hook = await json("PUT", `/api/teams/${team.teamId}/webhook`, 200, {
      body: { url: `${receiver}${path}`, events: ["grant.expiring", "grant.expired", "allowance.renewed"] },
    });
    const promo = (await makeGrant(team, { credits: 9, source: "promotional", expires_at: "2027-11-10T00:00:00Z" })).grant;
    await json("PUT", allowancePath(team), 200, { body: { credits: 12, period: "month" } });
    expect((await json("GET", `/api/credits/teams/${team.teamId}/balance`, 200)).grant_expiring_notice_seconds).toBe(172_800);

    await alarmAt(team, utc("2027-11-08T00:00:00Z"));
    await alarmAt(team, utc("2027-11-10T00:00:00Z"));
    await alarmAt(team, utc("2027-12-01T00:00:00Z"));
    let events: any[] = [];
    for (let i = 0; i < 100 && events.length < 4; i++) {
      await runDurableObjectAlarm(env.TEAM_LEDGER.getByName(team.teamId));
      events = await receivedEvents(path);
    }
    expect(events.map((e) => [e.type, e.timestamp])).toEqual([
      ["grant.expiring", "2027-11-08T00:00:00.000Z"],
      ["grant.expired", "2027-11-10T00:00:00.000Z"],
      // No alarm ran between the plan grant's notice time and its expiry: an expiry is not announced late. At the boundary it expires and renews.
      ["grant.expired", "2027-12-01T00:00:00.000Z"],
      ["allowance.renewed", "2027-12-01T00:00:00.000Z"],
    ]);
    expect(events[0].data).toMatchObject({
      grant_id: promo.grant_id,
      source: "promotional",
      expires_at: "2027-11-10T00:00:00.000Z",
      remaining: 9,
    });
    expect(events[1].data).toMatchObject({
      grant_id: promo.grant_id,
      credits_expired: 9,
      credits_held_for_jobs: 0,
      balance: { credits_remaining: 12 },
    });
    expect(events[3].data).toMatchObject({
      credits: 12,
      rolled_over: 0,
      period_start: "2027-12-01T00:00:00.000Z",
      period_end: "2028-01-01T00:00:00.000Z",
    });
    for (const e of events) expect(await verifyWebhook(hook.secret, e.headers, e.raw, Number(e.headers["webhook-timestamp"]))).toBe(true);
  });
});
