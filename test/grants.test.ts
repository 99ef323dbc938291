import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { alarmAt, chargeRowOf, consumeJob, expectGrantsConsistent, grantsOf, makeGrant, setClock, utc } from "./grants-helpers";
import { allTransactions, api, createJob, createTeam, json, llmCall } from "./helpers";

// Grants through the API: making them (exactly once), the burn-down order, voiding, refunds,
// the rule for credits held by open jobs when their grant ends, and who may see what.

afterEach(() => {
  vi.useRealTimers();
});

const completeJob = (team: { key: string }, jobId: string, status: "completed" | "failed" | "cancelled") =>
  json("POST", `/api/jobs/${jobId}/complete`, 200, { key: team.key, body: { status } });

describe("making grants", () => {
  it("a grant answers with its id and terms, lands in the balance by source, and its allocation row names it", async () => {
    const team = await createTeam({ credits: 10 });
    const made = await makeGrant(team, {
      credits: 25,
      source: "promotional",
      expires_at: "2099-01-31T00:00:00Z",
      priority: 20,
      reason: "launch week",
      external_ref: "promo-launch",
    });
    expect(made).toMatchObject({
      team_id: team.teamId,
      created: true,
      grant: {
        source: "promotional",
        credits: 25,
        remaining: 25,
        priority: 20,
        expires_at: "2099-01-31T00:00:00.000Z",
        status: "active",
        reason: "launch week",
        external_ref: "promo-launch",
        plan: null,
      },
      transaction: { kind: "allocation", amount: 25, reason: "launch week" },
      balance: { credits_allocated: 35, credits_remaining: 35, grants: { paid: 10, promotional: 25, plan: 0, overdrawn: 0 } },
    });
    expect(made.transaction.grants).toEqual([{ grant_id: made.grant.grant_id, source: "promotional", kind: "grant", credits: 25 }]);
    // The opening credits are a paid grant that never expires.
    const opening = (await grantsOf(team)).find((g) => g.reason === "Opening allocation");
    expect(opening).toMatchObject({ source: "paid", credits: 10, remaining: 10, expires_at: null, priority: 50 });
    await expectGrantsConsistent(team);
  });

  it("with an Idempotency-Key a retry answers the first grant; with an external_ref the grant is made once for good", async () => {
    const team = await createTeam({ credits: 0 });
    const body = { credits: 40, source: "paid", external_ref: "stripe-in_123" };
    const headers = { "idempotency-key": "recharge-1" };
    const first = await makeGrant(team, body, headers);
    expect(await makeGrant(team, body, headers)).toEqual(first);
    // A webhook handler delivering the same payment again, days later, without the key: the first grant, nothing added.
    const again = await makeGrant(team, body);
    expect(again).toMatchObject({ created: false, grant: { grant_id: first.grant.grant_id }, transaction: first.transaction });
    // ...also through /add, a paid grant that never expires.
    const viaAdd = await json("POST", `/api/credits/teams/${team.teamId}/add`, 200, {
      body: { credits: 40, external_ref: "stripe-in_123" },
    });
    expect(viaAdd).toMatchObject({ created: false, grant_id: first.grant.grant_id, credits_added: 40 });
    const other = await api("POST", `/api/credits/teams/${team.teamId}/grants`, { body: { ...body, credits: 41 } });
    expect(other.status).toBe(400);
    expect((await other.json<any>()).detail).toContain("already exists");
    expect((await json("GET", `/api/credits/teams/${team.teamId}/balance`, 200)).credits_remaining).toBe(40);
    expect(await grantsOf(team)).toHaveLength(1);
    await expectGrantsConsistent(team);
  });

  it("bad grants are 422 with a specific message; a team key cannot grant itself credits", async () => {
    const team = await createTeam({ credits: 0 });
    const path = `/api/credits/teams/${team.teamId}/grants`;
    const detailOf = async (body: unknown) => {
      const res = await api("POST", path, { body });
      expect(res.status, JSON.stringify(body)).toBe(422);
      // FastAPI's shape: a list of {loc, msg, type}, naming the field.
      const { detail } = await res.json<any>();
      expect(detail).toEqual([expect.objectContaining({ loc: expect.arrayContaining(["body"]), type: expect.any(String) })]);
      return JSON.stringify(detail);
    };
    expect(await detailOf({ credits: 0, source: "paid" })).toContain("must be a positive integer");
    expect(await detailOf({ credits: 5, source: "gift" })).toContain("must be one of paid, promotional, plan");
    expect(await detailOf({ credits: 5, source: "paid", priority: 101 })).toContain("must be at most 100");
    expect(await detailOf({ credits: 5, source: "paid", expires_at: "next tuesday" })).toContain("ISO 8601");
    expect(await detailOf({ credits: 5, source: "paid", expires_at: "2020-01-01T00:00:00Z" })).toContain(
      "field 'expires_at' must be in the future",
    );
    expect(await detailOf({ credits: 5, source: "paid", external_ref: "" })).toContain("must not be empty");
    expect((await api("POST", path, { key: team.key, body: { credits: 5, source: "paid" } })).status).toBe(403);
    expect((await api("POST", "/api/credits/teams/no-such-team/grants", { body: { credits: 5, source: "paid" } })).status).toBe(404);
    expect(await grantsOf(team)).toHaveLength(0);
  });
});

describe("burn-down order", () => {
  it("a lower priority number is drawn first whatever the expiry; then the soonest expiry; then the oldest", async () => {
    const team = await createTeam({ credits: 0 });
    const later = await makeGrant(team, { credits: 1, source: "promotional", expires_at: "2099-06-01T00:00:00Z" });
    const older = await makeGrant(team, { credits: 1, source: "paid" });
    const newer = await makeGrant(team, { credits: 1, source: "paid" });
    const sooner = await makeGrant(team, { credits: 1, source: "promotional", expires_at: "2099-03-01T00:00:00Z" });
    const first = await makeGrant(team, { credits: 1, source: "paid", priority: 5 });
    const order: string[] = [];
    for (let i = 0; i < 5; i++) {
      const jobId = await createJob(team);
      expect((await llmCall(team, jobId)).status).toBe(200);
      await completeJob(team, jobId, "completed");
      order.push((await chargeRowOf(team, jobId)).grants[0].grant_id);
    }
    expect(order).toEqual([first, sooner, later, older, newer].map((g) => g.grant.grant_id));
    await expectGrantsConsistent(team);
  });
});

describe("voiding", () => {
  it("DELETE voids what remains with a ledger row; the grant stays listed; voiding again is 409, an unknown grant 404", async () => {
    const team = await createTeam({ credits: 5 });
    const promo = (await makeGrant(team, { credits: 8, source: "promotional", expires_at: "2099-01-01T00:00:00Z" })).grant;
    const jobId = await createJob(team);
    await completeJob(team, jobId, "completed");
    const path = `/api/credits/teams/${team.teamId}/grants/${promo.grant_id}`;
    expect((await api("DELETE", path, { key: team.key })).status).toBe(403);
    const voided = await json("DELETE", `${path}?reason=${encodeURIComponent("promotion withdrawn")}`, 200);
    expect(voided).toMatchObject({
      grant: { grant_id: promo.grant_id, status: "voided", remaining: 0 },
      transaction: { kind: "void", amount: -7, reason: "promotion withdrawn" },
      balance: { credits_remaining: 5, grants: { promotional: 0, paid: 5 } },
    });
    const again = await api("DELETE", path);
    expect(again.status).toBe(409);
    expect((await again.json<any>()).detail).toContain("already voided");
    expect((await api("DELETE", `/api/credits/teams/${team.teamId}/grants/${crypto.randomUUID()}`)).status).toBe(404);
    expect((await grantsOf(team)).map((g) => g.status).sort()).toEqual(["active", "voided"]);
    expect(await grantsOf(team, "&status=live")).toHaveLength(1);
    await expectGrantsConsistent(team);
  });
});

describe("refunds", () => {
  it("a refund gives back to the grants that paid; what an expired grant paid comes back and expires again at once", async () => {
    setClock(utc("2027-05-01T00:00:00Z"));
    const team = await createTeam({ credits: 0, extra: { budget_mode: "consumption_tokens", tokens_per_credit: 1 } });
    const promo = (await makeGrant(team, { credits: 20, source: "promotional", expires_at: "2027-05-10T00:00:00Z" })).grant;
    const paid = (await makeGrant(team, { credits: 500, source: "paid" })).grant;
    const job = await consumeJob(team, 30, 20);
    expect((await chargeRowOf(team, job.jobId)).grants.map((g: any) => [g.grant_id, g.credits])).toEqual([
      [promo.grant_id, -20],
      [paid.grant_id, -(job.charged - 20)],
    ]);
    await alarmAt(team, utc("2027-05-10T00:00:00Z"));
    setClock(utc("2027-05-11T00:00:00Z"));
    const refund = await json("POST", `/api/credits/teams/${team.teamId}/refund`, 200, {
      body: { job_id: job.jobId, reason: "bad answer" },
    });
    expect(refund.transaction).toMatchObject({ kind: "refund", amount: job.charged });
    expect(refund.transaction.grants.map((g: any) => [g.grant_id, g.credits])).toEqual([
      [promo.grant_id, 20],
      [paid.grant_id, job.charged - 20],
    ]);
    const rows = await allTransactions(team);
    expect(rows[0]).toMatchObject({ kind: "expiry", amount: -20, job_id: job.jobId });
    expect(rows[0].grants).toEqual([{ grant_id: promo.grant_id, source: "promotional", kind: "expiry", credits: -20 }]);
    const balance = (await expectGrantsConsistent(team)).balance;
    expect(balance.credits_remaining).toBe(500);
  });
});

describe("credits held when their grant ends", () => {
  it("what open jobs hold stays with them: a completed job is charged from it, a cancelled or expired job's share expires when it ends; nothing new is funded by it", async () => {
    setClock(utc("2027-06-01T00:00:00Z"));
    const team = await createTeam({ credits: 0, extra: { job_ttl_seconds: 3600 } });
    const promo = (await makeGrant(team, { credits: 5, source: "promotional", expires_at: "2027-06-01T00:30:00Z" })).grant;
    const [done, cancelled, left] = [await createJob(team), await createJob(team), await createJob(team)];
    await alarmAt(team, utc("2027-06-01T00:30:00Z"));
    // Three credits are held by the three open jobs; the other two leave the balance.
    let rows = await allTransactions(team);
    expect(rows[0]).toMatchObject({ kind: "expiry", amount: -2, created_at: "2027-06-01T00:30:00.000Z" });
    expect((await grantsOf(team))[0]).toMatchObject({ grant_id: promo.grant_id, status: "expired", remaining: 3, held_for_jobs: 3 });
    let balance = await json("GET", `/api/credits/teams/${team.teamId}/balance`, 200);
    expect(balance).toMatchObject({ credits_remaining: 3, credits_reserved: 3, credits_available: 0, next_expiry: null });
    // The expired grant funds no new job.
    expect((await api("POST", "/api/jobs/create", { key: team.key, body: { team_id: team.teamId, job_type: "x" } })).status).toBe(402);

    setClock(utc("2027-06-01T00:40:00Z"));
    await completeJob(team, done, "completed");
    expect((await chargeRowOf(team, done)).grants).toEqual([
      { grant_id: promo.grant_id, source: "promotional", kind: "charge", credits: -1 },
    ]);
    await completeJob(team, cancelled, "cancelled");
    rows = await allTransactions(team);
    expect(rows[0]).toMatchObject({ kind: "expiry", amount: -1, job_id: cancelled });
    // The last job outlives its time-to-live: the alarm expires it, and its held credit with it.
    await alarmAt(team, utc("2027-06-01T01:00:01Z"));
    rows = await allTransactions(team);
    expect(rows[0]).toMatchObject({ kind: "expiry", amount: -1, job_id: left });
    expect((await grantsOf(team))[0]).toMatchObject({ remaining: 0, held_for_jobs: 0 });
    balance = (await expectGrantsConsistent(team)).balance;
    expect(balance).toMatchObject({ credits_remaining: 0, credits_reserved: 0, credits_used: 1 });
  });

  it("voiding a grant follows the same rule", async () => {
    const team = await createTeam({ credits: 0 });
    const promo = (await makeGrant(team, { credits: 4, source: "promotional" })).grant;
    const jobId = await createJob(team);
    const voided = await json("DELETE", `/api/credits/teams/${team.teamId}/grants/${promo.grant_id}`, 200);
    expect(voided).toMatchObject({
      transaction: { kind: "void", amount: -3 },
      grant: { status: "voided", remaining: 1, held_for_jobs: 1 },
    });
    await completeJob(team, jobId, "failed");
    expect((await allTransactions(team))[0]).toMatchObject({ kind: "void", amount: -1, job_id: jobId });
    await expectGrantsConsistent(team);
  });
});

describe("reading grants", () => {
  it("a team key lists its own grants and statement; another team's key gets 403; the admin reads any", async () => {
    const team = await createTeam({ credits: 3 });
    const other = await createTeam({ credits: 3 });
    for (const path of ["grants", "statement?period=2026-12", "allowance"]) {
      expect((await api("GET", `/api/credits/teams/${team.teamId}/${path}`, { key: other.key })).status, path).toBe(403);
    }
    expect(await grantsOf(team)).toHaveLength(1);
    expect((await json("GET", `/api/credits/teams/${team.teamId}/statement?period=2026-12`, 200)).team_id).toBe(team.teamId);
    const bad = await api("GET", `/api/credits/teams/${team.teamId}/statement?period=2026-13`, { key: team.key });
    expect(bad.status).toBe(422);
    expect(JSON.stringify(await bad.json())).toContain("YYYY-MM");
  });
});

describe("overdraft", () => {
  it("a charge beyond every grant (overdraft bounded) is owed, and the next grant pays it first", async () => {
    const team = await createTeam({ credits: 1, extra: { overdraft: "bounded", budget_mode: "consumption_tokens", tokens_per_credit: 1 } });
    const jobId = await createJob(team);
    expect((await llmCall(team, jobId)).status).toBe(200);
    const done = await completeJob(team, jobId, "completed");
    const owed = done.costs.credits_charged - 1;
    expect(owed).toBeGreaterThan(0);
    expect((await chargeRowOf(team, jobId)).grants.map((g: any) => [g.source, g.credits])).toEqual([
      ["paid", -1],
      [null, -owed],
    ]);
    let balance = (await expectGrantsConsistent(team, { allowOverrun: true })).balance;
    expect(balance).toMatchObject({ credits_remaining: -owed, grants: { paid: 0, overdrawn: owed } });
    const topUp = await makeGrant(team, { credits: 100, source: "paid" });
    expect(topUp.transaction.grants.map((g: any) => [g.grant_id === null ? null : "new", g.kind, g.credits])).toEqual([
      ["new", "grant", 100],
      ["new", "overdraft", -owed],
      [null, "overdraft", owed],
    ]);
    balance = (await expectGrantsConsistent(team)).balance;
    expect(balance).toMatchObject({ credits_remaining: 100 - owed, grants: { paid: 100 - owed, overdrawn: 0 } });
  });
});

describe("time", () => {
  it("a late alarm is not needed: the next request settles an expiry first, at its moment", async () => {
    setClock(utc("2027-07-01T00:00:00Z"));
    const team = await createTeam({ credits: 0 });
    await makeGrant(team, { credits: 3, source: "promotional", expires_at: "2027-07-02T00:00:00Z" });
    setClock(utc("2027-07-03T00:00:00Z"));
    expect((await api("POST", "/api/jobs/create", { key: team.key, body: { team_id: team.teamId, job_type: "x" } })).status).toBe(402);
    expect((await allTransactions(team))[0]).toMatchObject({ kind: "expiry", amount: -3, created_at: "2027-07-02T00:00:00.000Z" });
    await runDurableObjectAlarm(env.TEAM_LEDGER.getByName(team.teamId));
    expect((await allTransactions(team)).filter((r) => r.kind === "expiry")).toHaveLength(1);
  });
});

describe("a team from before grants", () => {
  it("gets one paid grant holding what it had left, and its balance is the grants' from then on", async () => {
    const team = await createTeam({ credits: 9 });
    const jobId = await createJob(team);
    await completeJob(team, jobId, "completed");
    const ledger = env.TEAM_LEDGER.getByName(team.teamId);
    // The object as it was before grants (with the keys' 270, the labels' 280 and the caches' 290 applied): no grant tables, migrations 260 and 300 not applied.
    await runInDurableObject(ledger, (instance: unknown, state: DurableObjectState) => {
      state.storage.sql.exec(`DROP TABLE grants; DROP TABLE grant_moves; DROP TABLE grant_holds; DROP TABLE allowance;
        DROP TABLE allowance_alert; ALTER TABLE account DROP COLUMN grant_notice_seconds;
        DELETE FROM _ledger_migrations WHERE id IN (260, 300)`);
      expect(state.storage.sql.exec("SELECT id FROM _ledger_migrations WHERE id IN (270, 280, 290)").toArray()).toHaveLength(3);
      const object = instance as { store: { migrate(): void }; grants: { forget(): void } };
      object.store.migrate();
      object.grants.forget();
    });
    const [grant] = await grantsOf(team);
    expect(grant).toMatchObject({ source: "paid", credits: 8, remaining: 8, expires_at: null, reason: "Credits held before grants" });
    expect(grant.grant_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
    const next = await createJob(team);
    await completeJob(team, next, "completed");
    expect((await chargeRowOf(team, next)).grants).toEqual([{ grant_id: grant.grant_id, source: "paid", kind: "charge", credits: -1 }]);
    expect((await json("GET", `/api/credits/teams/${team.teamId}/balance`, 200)).grants.paid).toBe(7);
  });
});
