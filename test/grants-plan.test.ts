import { env, evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  alarmAt,
  chargeRowOf,
  consumeJob,
  expectGrantsConsistent,
  expectStatementAddsUp,
  grantsOf,
  makeGrant,
  setClock,
  utc,
} from "./grants-helpers";
import { allTransactions, api, createTeam, json } from "./helpers";

// A real pricing plan, end to end, on a controllable clock with the object's own alarm (never
// sleeping): a 100-credit monthly allowance, 50 promotional credits expiring mid-month and a
// 30-credit paid top-up. 1 credit per token, so each charge is the job's tokens.

afterEach(() => {
  vi.useRealTimers();
});

const sourcesOf = (row: any) => row.grants.map((g: any) => [g.source, g.credits]);

describe("a monthly allowance, a promotion and a top-up", () => {
  it("charges draw promo, then plan, then paid; the promo's and the plan's remainders expire on time; 100 new credits arrive; the statements' sums are the ledger's", async () => {
    setClock(utc("2027-03-01T01:00:00Z"));
    const team = await createTeam({ credits: 0, extra: { budget_mode: "consumption_tokens", tokens_per_credit: 1 } });
    const base = `/api/credits/teams/${team.teamId}`;
    const allowance = await json("PUT", `${base}/allowance`, 200, { body: { credits: 100, period: "month", rollover: "none" } });
    expect(allowance.allowance.current_period).toMatchObject({
      starts_at: "2027-03-01T00:00:00.000Z",
      ends_at: "2027-04-01T00:00:00.000Z",
      granted: 100,
      used: 0,
      remaining: 100,
    });
    const promo = (
      await makeGrant(team, { credits: 50, source: "promotional", expires_at: "2027-03-16T00:00:00Z", reason: "spring promo" })
    ).grant;
    const paid = await json("POST", `${base}/add`, 200, { body: { credits: 30, reason: "top-up" } });
    let balance = await json("GET", `${base}/balance`, 200, { key: team.key });
    expect(balance).toMatchObject({
      credits_allocated: 180,
      credits_remaining: 180,
      grants: { paid: 30, promotional: 50, plan: 100, overdrawn: 0 },
      next_expiry: { grant_id: promo.grant_id, source: "promotional", at: "2027-03-16T00:00:00.000Z", credits: 50 },
      next_renewal: { at: "2027-04-01T00:00:00.000Z", credits: 100 },
    });

    // March 2: the promotion expires soonest, so it pays first.
    setClock(utc("2027-03-02T10:00:00Z"));
    const first = await consumeJob(team, 1);
    expect(first.charged).toBeGreaterThan(0);
    expect(first.charged).toBeLessThan(50);
    expect(sourcesOf(await chargeRowOf(team, first.jobId))).toEqual([["promotional", -first.charged]]);

    // The alarm runs five minutes late: the promotion's remainder leaves at the moment it expired.
    await alarmAt(team, utc("2027-03-16T00:05:00Z"));
    let rows = await allTransactions(team);
    const promoExpiry = rows.filter((r) => r.kind === "expiry");
    expect(promoExpiry).toHaveLength(1);
    expect(promoExpiry[0]).toMatchObject({ amount: -(50 - first.charged), created_at: "2027-03-16T00:00:00.000Z" });
    expect(sourcesOf(promoExpiry[0])).toEqual([["promotional", -(50 - first.charged)]]);
    expect((await grantsOf(team)).find((g) => g.grant_id === promo.grant_id)).toMatchObject({ status: "expired", remaining: 0 });
    // Run again, and after a restart: nothing more expires.
    const ledger = env.TEAM_LEDGER.getByName(team.teamId);
    await runDurableObjectAlarm(ledger);
    await evictDurableObject(ledger);
    await runDurableObjectAlarm(ledger);
    expect((await allTransactions(team)).filter((r) => r.kind === "expiry")).toHaveLength(1);

    // March 20: the plan pays next (it expires before the paid credits, which never do).
    setClock(utc("2027-03-20T10:00:00Z"));
    const second = await consumeJob(team, 1);
    expect(sourcesOf(await chargeRowOf(team, second.jobId))).toEqual([["plan", -second.charged]]);

    // April 1: the plan's remainder expires and 100 new plan credits arrive, both at midnight.
    await alarmAt(team, utc("2027-04-01T00:00:30Z"));
    rows = await allTransactions(team);
    const boundary = rows.filter((r) => r.created_at === "2027-04-01T00:00:00.000Z");
    expect(boundary.map((r) => [r.kind, r.amount])).toEqual([
      ["allocation", 100],
      ["expiry", -(100 - second.charged)],
    ]);
    balance = await json("GET", `${base}/balance`, 200, { key: team.key });
    expect(balance).toMatchObject({
      credits_remaining: 130,
      grants: { paid: 30, promotional: 0, plan: 100, overdrawn: 0 },
      next_expiry: { source: "plan", at: "2027-05-01T00:00:00.000Z", credits: 100 },
      next_renewal: { at: "2027-05-01T00:00:00.000Z", credits: 100 },
    });
    await runDurableObjectAlarm(ledger);
    expect((await grantsOf(team)).filter((g) => g.source === "plan")).toHaveLength(2);

    // April 2: a charge larger than the plan's credits is split, plan first, then paid.
    setClock(utc("2027-04-02T10:00:00Z"));
    const third = await consumeJob(team, 105, 40);
    expect(third.charged).toBeGreaterThan(100);
    expect(third.charged).toBeLessThanOrEqual(130);
    expect(sourcesOf(await chargeRowOf(team, third.jobId))).toEqual([
      ["plan", -100],
      ["paid", -(third.charged - 100)],
    ]);
    expect((await grantsOf(team)).find((g) => g.grant_id === paid.grant_id)).toMatchObject({ remaining: 130 - third.charged });

    // The statements: their totals are the ledger's, and their lines add up to them.
    const { rows: all } = await expectGrantsConsistent(team);
    const march = await json("GET", `${base}/statement?period=2027-03`, 200, { key: team.key });
    expect(march).toMatchObject({
      opening: 0,
      granted: 180,
      consumed: first.charged + second.charged,
      expired: 50 - first.charged,
      voided: 0,
      refunded: 0,
      closing: 130 - second.charged,
    });
    expect(march.by_source.promotional).toEqual({
      opening: 0,
      granted: 50,
      consumed: first.charged,
      refunded: 0,
      expired: 50 - first.charged,
      voided: 0,
      closing: 0,
    });
    expect(march.by_source.plan).toMatchObject({ granted: 100, consumed: second.charged, expired: 0, closing: 100 - second.charged });
    expect(march.by_source.paid).toMatchObject({ granted: 30, consumed: 0, closing: 30 });
    const april = await json("GET", `${base}/statement?period=2027-04`, 200, { key: team.key });
    expect(april).toMatchObject({
      opening: 130 - second.charged,
      granted: 100,
      consumed: third.charged,
      expired: 100 - second.charged,
      closing: 130 - third.charged,
    });
    for (const statement of [march, april]) expectStatementAddsUp(statement, all);
    expect(april.closing).toBe((await json("GET", `${base}/balance`, 200)).credits_remaining);

    // As CSV: a line per grant and the total line, with the same figures.
    const csv = await api("GET", `${base}/statement?period=2027-04&format=csv`, { key: team.key });
    expect(csv.headers.get("content-type")).toContain("text/csv");
    const lines = (await csv.text()).trim().split("\r\n");
    expect(lines[0]).toBe("line,grant_id,source,reason,expires_at,status,opening,granted,consumed,refunded,expired,voided,closing");
    expect(lines.at(-1)).toBe(
      `total,,,Statement 2027-04,,,${130 - second.charged},100,${third.charged},0,${100 - second.charged},0,${130 - third.charged}`,
    );
    expect(lines).toHaveLength(1 + april.grants.length + 1);
  }, 60_000);
});
