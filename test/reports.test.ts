import { createExecutionContext, env, runDurableObjectAlarm, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { Repository } from "../src/db/repository";
import worker from "../src/index";
import { LedgerStore } from "../src/ledger/store/ledger-store";
import type { TeamLedger } from "../src/ledger/team-ledger";
import { ADMIN_KEY, api, createGroup, createJob, createOrg, json, llmCall, type TestTeam, uid, userMessage } from "./helpers";

// Reports: a team's usage (month or day, per job type and model group; costs and models for the
// admin key), an organization's usage and the dashboard read from the totals the team objects
// send to D1, and CSV exports.

const COUNTS = [
  "jobs",
  "completed",
  "failed",
  "cancelled",
  "expired",
  "calls",
  "credits_charged",
  "prompt_tokens",
  "completion_tokens",
  "total_tokens",
] as const;

async function teamIn(organizationId: string, groups: string[], extra: Record<string, unknown> = {}): Promise<TestTeam> {
  const teamId = uid("team");
  const created = await json("POST", "/api/teams/create", 200, {
    body: { organization_id: organizationId, team_id: teamId, model_groups: groups, credits_allocated: 1000, ...extra },
  });
  return { teamId, organizationId, key: created.virtual_key, groups, created };
}

const complete = (team: TestTeam, jobId: string, status: string) =>
  json("POST", `/api/jobs/${jobId}/complete`, 200, { key: team.key, body: { status } });

/** Sends a team's usage to D1 now (what its alarm does a few seconds after a change). */
async function flush(team: TestTeam) {
  await runDurableObjectAlarm(env.TEAM_LEDGER.getByName(team.teamId));
}

/** Points the team object's usage sends at `db` (its money never uses this repository). */
async function flushThrough(team: TestTeam, db: D1Database) {
  await runInDurableObject(env.TEAM_LEDGER.getByName(team.teamId), (ledger: TeamLedger) => {
    (ledger as unknown as { background: { usageFlush: { d1: Repository } } }).background.usageFlush.d1 = new Repository(db);
  });
}

/** A mixed workload: completed, failed and cancelled jobs, a refund, calls that fall back or fail, a one-request job. */
async function workload(team: TestTeam, seed: number) {
  const [fallbackGroup, brokenGroup] = team.groups;
  for (let i = 0; i < seed; i++) {
    const job = await createJob(team, i % 2 === 0 ? "summarize" : "translate");
    expect((await llmCall(team, job, fallbackGroup)).status).toBe(200);
    await complete(team, job, "completed");
  }
  const failed = await createJob(team, "summarize");
  expect((await llmCall(team, failed, brokenGroup)).status).toBe(502);
  await complete(team, failed, "failed");
  await complete(team, await createJob(team, "translate"), "cancelled");
  const refunded = await createJob(team, "translate");
  expect((await llmCall(team, refunded, fallbackGroup)).status).toBe(200);
  await complete(team, refunded, "completed");
  await json("POST", `/api/credits/teams/${team.teamId}/refund`, 200, { body: { job_id: refunded, reason: "goodwill" } });
  await json("POST", "/api/jobs/create-and-call", 200, {
    key: team.key,
    body: { team_id: team.teamId, job_type: "one-shot", model_group: fallbackGroup, messages: userMessage() },
  });
  await createJob(team, "summarize"); // left open
}

/** env.DB, counting the statements prepared on it (as test/hot-path.test.ts does). */
function countingDb() {
  const counter = { statements: 0 };
  const db = new Proxy(env.DB, {
    get(t, prop) {
      const value = Reflect.get(t, prop);
      if (typeof value !== "function") return value;
      if (prop === "prepare" || prop === "exec") {
        return (...args: unknown[]) => {
          counter.statements += 1;
          return value.apply(t, args);
        };
      }
      return value.bind(t);
    },
  });
  return { db, counter };
}

/** The Worker with a counting D1 and a team-object namespace that fails the test if any object is called. */
async function reportOnly(path: string) {
  const { db, counter } = countingDb();
  const objectsCalled: string[] = [];
  const noObjects = new Proxy(env.TEAM_LEDGER, {
    get(t, prop) {
      objectsCalled.push(String(prop));
      return Reflect.get(t, prop);
    },
  });
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`http://gateway.test${path}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } }),
    { ...env, DB: db, TEAM_LEDGER: noObjects } as Env,
    ctx,
  );
  const body = await res.json<any>();
  await waitOnExecutionContext(ctx);
  expect(res.status).toBe(200);
  return { body, statements: counter.statements, objectsCalled };
}

/** RFC 4180, for reading back what the gateway wrote: a quoted field may hold commas, quotes ("") and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    const pair = text.slice(i, i + 2);
    if (quoted && pair === '""') {
      field += '"';
      i += 2;
      continue;
    }
    if (ch === '"') quoted = !quoted;
    else if (quoted) field += ch;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (pair === "\r\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i += 1;
    } else field += ch;
    i += 1;
  }
  expect(field).toBe(""); // every line ends with CRLF
  return rows;
}

async function groups() {
  return [await createGroup(["gpt-4o-mini+fail=500", "gpt-4o-mini"]), await createGroup(["gpt-4o-mini+fail=500"])];
}

describe("a team's usage", () => {
  it("has per-model-group totals; the admin key also sees provider cost and the model that served", async () => {
    const org = await createOrg();
    const team = await teamIn(org, await groups());
    await workload(team, 3);
    const month = new Date().toISOString().slice(0, 7);
    const asTeam = await json("GET", `/api/teams/${team.teamId}/usage`, 200, { key: team.key });
    const asAdmin = await json("GET", `/api/teams/${team.teamId}/usage?period=${month}`, 200);
    const [fallbackGroup, brokenGroup] = team.groups;

    // 3 + refunded + one-shot succeeded through the fallback; the broken group's call failed.
    expect(asTeam.model_groups[fallbackGroup].calls).toBe(5);
    expect(asTeam.model_groups[brokenGroup].calls).toBe(1);
    expect(asTeam.summary.calls).toBe(6);
    expect(asTeam.summary).toMatchObject({ jobs: 8, completed: 5, failed: 1, cancelled: 1 });
    // Credits: 5 completed jobs at 1 credit, one refunded.
    expect(asTeam.summary.credits_charged).toBe(4);
    const groupTokens = Object.values<any>(asTeam.model_groups).reduce((n, g) => n + g.total_tokens, 0);
    expect(groupTokens).toBe(asTeam.summary.total_tokens);
    expect(asTeam.summary.total_tokens).toBeGreaterThan(0);

    // A team never sees the provider cost or the models.
    expect(asTeam.models).toBeUndefined();
    expect(JSON.stringify(asTeam)).not.toContain("provider_cost");
    expect(JSON.stringify(asTeam)).not.toContain("gpt-4o-mini");

    expect(asAdmin.models["gpt-4o-mini"].calls).toBe(5);
    expect(asAdmin.models["(none)"].calls).toBe(1);
    expect(asAdmin.summary.provider_cost_usd).toBeGreaterThan(0);
    expect(asAdmin.models["gpt-4o-mini"].provider_cost_usd).toBeCloseTo(asAdmin.summary.provider_cost_usd, 9);
    expect(asAdmin.summary.client_cost_usd).toBeCloseTo(asTeam.summary.client_cost_usd, 9);
  });

  it("takes a day as well as a month, and refuses periods that are not one", async () => {
    const team = await teamIn(await createOrg(), await groups());
    await workload(team, 1);
    const today = new Date().toISOString().slice(0, 10);
    const day = await json("GET", `/api/teams/${team.teamId}/usage?period=${today}`, 200, { key: team.key });
    const month = await json("GET", `/api/teams/${team.teamId}/usage?period=${today.slice(0, 7)}`, 200, { key: team.key });
    expect(day.period).toBe(today);
    expect(day.summary).toEqual(month.summary);
    // A month's report has its days; here every job was made today.
    expect(month.days).toEqual({ [today]: month.summary });
    expect(day.days).toEqual({ [today]: day.summary });
    const otherDay = await json("GET", `/api/teams/${team.teamId}/usage?period=2020-01-01`, 200, { key: team.key });
    expect(otherDay.summary.jobs).toBe(0);
    expect(otherDay.model_groups).toEqual({});
    expect(otherDay.days).toEqual({});
    for (const bad of ["2026-13", "2026-02-30", "2026-1-01", "yesterday"]) {
      const res = await api("GET", `/api/teams/${team.teamId}/usage?period=${bad}`, { key: team.key });
      expect(res.status, bad).toBe(422);
    }
  });
});

describe("upgrading a team's object (ledger migration 10)", () => {
  it("fills the per-day, per-group and per-model aggregates from the jobs and calls it already holds", async () => {
    const team = await teamIn(await createOrg(), await groups());
    await workload(team, 3);
    const path = `/api/teams/${team.teamId}/usage`;
    const [month, day] = [await json("GET", path, 200), await json("GET", `${path}?period=${new Date().toISOString().slice(0, 10)}`, 200)];
    // Back to the tables as they were before migration 10 (its aggregates gone), then migrate.
    await runInDurableObject(env.TEAM_LEDGER.getByName(team.teamId), (_ledger, state) => {
      state.storage.sql.exec(`
        DROP TABLE usage_daily; DROP TABLE usage_models_daily; DROP TABLE usage_dirty;
        CREATE TABLE usage_monthly (period TEXT NOT NULL, job_type TEXT NOT NULL, jobs INTEGER NOT NULL DEFAULT 0,
          PRIMARY KEY (period, job_type));
        DELETE FROM _ledger_migrations WHERE id IN (10, 291);`);
      new LedgerStore(state.storage).migrate();
      const dirty = state.storage.sql.exec<{ day: string }>("SELECT day FROM usage_dirty").toArray();
      expect(dirty.map((d) => d.day)).toEqual([new Date().toISOString().slice(0, 10)]);
    });
    expect(await json("GET", path, 200)).toEqual(month);
    expect(await json("GET", `${path}?period=${day.period}`, 200)).toEqual(day);
    expect(month.summary.jobs).toBe(8);
    expect(month.models["gpt-4o-mini"].calls).toBe(5);
  });
});

describe("an organization's usage", () => {
  it("equals the sum of its teams' own usage after a mixed workload, per team and per job type", async () => {
    const org = await createOrg();
    const gs = await groups();
    const teams = [await teamIn(org, gs), await teamIn(org, gs), await teamIn(org, gs, { budget_mode: "consumption_tokens" })];
    const elsewhere = await teamIn(await createOrg(), gs);
    for (const [i, team] of teams.entries()) await workload(team, i + 1);
    await workload(elsewhere, 1);
    for (const team of [...teams, elsewhere]) await flush(team);

    const report = await json("GET", `/api/organizations/${org}/usage`, 200);
    const own = await Promise.all(teams.map((t) => json("GET", `/api/teams/${t.teamId}/usage`, 200)));
    expect(Object.keys(report.teams).sort()).toEqual(teams.map((t) => t.teamId).sort());
    for (const k of COUNTS) {
      expect(report.summary[k], k).toBe(own.reduce((n, u) => n + u.summary[k], 0));
      for (const u of own) expect(report.teams[u.team_id].summary[k], `${u.team_id} ${k}`).toBe(u.summary[k]);
    }
    for (const k of ["client_cost_usd", "provider_cost_usd"]) {
      expect(report.summary[k]).toBeCloseTo(
        own.reduce((n, u) => n + u.summary[k], 0),
        9,
      );
    }
    for (const [jobType, totals] of Object.entries<any>(report.job_types)) {
      expect(totals.jobs).toBe(own.reduce((n, u) => n + (u.job_types[jobType]?.jobs ?? 0), 0));
    }
    expect(report.summary.jobs).toBe(6 + 7 + 8);

    // Sending again (a retried flush) writes the same totals.
    for (const team of teams) {
      await runInDurableObject(env.TEAM_LEDGER.getByName(team.teamId), (_i, state) => {
        state.storage.sql.exec("INSERT INTO usage_dirty (day, version, since_ms) SELECT DISTINCT day, 1, 0 FROM usage_daily");
      });
      await flush(team);
    }
    expect((await json("GET", `/api/organizations/${org}/usage`, 200)).summary).toEqual(report.summary);
  });

  it("costs the same D1 statements with 3 teams or 300, and calls no team object", async () => {
    const org = await createOrg();
    const gs = await groups();
    const teams = [await teamIn(org, gs), await teamIn(org, gs), await teamIn(org, gs)];
    for (const team of teams) {
      await workload(team, 1);
      await flush(team);
    }
    const month = new Date().toISOString().slice(0, 7);
    const small = await reportOnly(`/api/organizations/${org}/usage?period=${month}`);
    expect(Object.keys(small.body.teams)).toHaveLength(3);

    // 297 more teams (their D1 rows), each with a day of usage in D1 as their objects would have sent it.
    const repo = new Repository(env.DB);
    const day = `${month}-01`;
    for (let i = 0; i < 297; i++) {
      const teamId = uid("bulk-team");
      const key = { keyId: crypto.randomUUID(), secretId: crypto.randomUUID(), keyHash: crypto.randomUUID(), keyPrefix: "sk-bulk" };
      await repo.teams.create({ teamId, organizationId: org, teamAlias: null, metadata: {}, modelGroups: [], key });
      await repo.usage.writeDaily({ teamId, organizationId: org }, [
        {
          day,
          job_type: "bulk",
          jobs: 2,
          completed: 1,
          failed: 1,
          cancelled: 0,
          expired: 0,
          calls: 3,
          credits_charged: 1,
          prompt_tokens: 30,
          completion_tokens: 12,
          total_tokens: 42,
          client_cost_nano: 1000,
          provider_cost_nano: 800,
          cache_hits: 0,
          cache_saved_nano: 0,
          cache_saved_provider_nano: 0,
        },
      ]);
    }
    const large = await reportOnly(`/api/organizations/${org}/usage?period=${month}`);
    expect(Object.keys(large.body.teams)).toHaveLength(300);
    expect(large.body.summary.jobs).toBe(small.body.summary.jobs + 297 * 2);
    expect(large.body.job_types.bulk.total_tokens).toBe(297 * 42);
    expect(large.statements).toBe(small.statements);
    expect(small.statements).toBeLessThanOrEqual(2);
    expect([...small.objectsCalled, ...large.objectsCalled]).toEqual([]);

    const dashboard = await reportOnly(`/api/stats/dashboard?organization_id=${org}`);
    expect(dashboard.statements).toBeLessThanOrEqual(3);
    expect(dashboard.objectsCalled).toEqual([]);
  });

  it("is 404 for an organization that does not exist, admin-only, and validates the period", async () => {
    expect((await api("GET", `/api/organizations/${uid("nope")}/usage`)).status).toBe(404);
    const org = await createOrg();
    const team = await teamIn(org, await groups());
    expect((await api("GET", `/api/organizations/${org}/usage`, { key: team.key })).status).toBe(403);
    expect((await api("GET", `/api/organizations/${org}/usage?period=2026-13`)).status).toBe(422);
    expect((await api("GET", `/api/organizations/${org}/usage?format=xml`)).status).toBe(422);
  });

  it("a usage total D1 could not take stays dirty and is sent by a later alarm; money is untouched", async () => {
    const org = await createOrg();
    const team = await teamIn(org, await groups());
    const stub = env.TEAM_LEDGER.getByName(team.teamId);
    const down = {
      prepare: () => {
        throw new Error("D1 is down");
      },
      batch: () => Promise.reject(new Error("D1 is down")),
    } as unknown as D1Database;
    await flushThrough(team, down);
    await workload(team, 2);
    const before = await json("GET", `/api/credits/teams/${team.teamId}/balance`, 200);
    await flush(team);
    expect((await json("GET", `/api/organizations/${org}/usage`, 200)).summary.jobs).toBe(0);
    // Still owed to D1, and the alarm set again for the retry.
    const dirty = await runInDurableObject(stub, (_i, state) => state.storage.sql.exec("SELECT COUNT(*) AS n FROM usage_dirty").one().n);
    expect(dirty).toBe(1);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).not.toBeNull();
    await flushThrough(team, env.DB);
    await flush(team);
    const own = await json("GET", `/api/teams/${team.teamId}/usage`, 200);
    const report = await json("GET", `/api/organizations/${org}/usage`, 200);
    expect(report.summary.jobs).toBe(own.summary.jobs);
    expect(report.summary.credits_charged).toBe(own.summary.credits_charged);
    expect(await json("GET", `/api/credits/teams/${team.teamId}/balance`, 200)).toEqual(before);
  });

  it("a long backlog (an upgraded team's history) goes to D1 at most a month of days per batch, until all is sent", async () => {
    const team = await teamIn(await createOrg(), await groups());
    const stub = env.TEAM_LEDGER.getByName(team.teamId);
    await flush(team);
    const batches: number[] = [];
    const recording = new Proxy(env.DB, {
      get(t, prop) {
        const value = Reflect.get(t, prop);
        if (prop !== "batch") return typeof value === "function" ? value.bind(t) : value;
        return (statements: D1PreparedStatement[]) => {
          batches.push(statements.length);
          return value.call(t, statements);
        };
      },
    });
    await flushThrough(team, recording);
    await runInDurableObject(stub, (_ledger, state) => {
      for (let d = 0; d < 40; d++) {
        const day = new Date(Date.UTC(2025, 0, 1 + d)).toISOString().slice(0, 10);
        state.storage.sql.exec("INSERT INTO usage_daily (day, job_type, jobs, completed) VALUES (?, 'old', 2, 2)", day);
        state.storage.sql.exec("INSERT INTO usage_dirty (day, version, since_ms) VALUES (?, 1, 0)", day);
      }
      return state.storage.setAlarm(Date.now());
    });
    const sent = async () =>
      (await env.DB.prepare("SELECT COUNT(*) AS n, SUM(jobs) AS jobs FROM team_usage_daily WHERE team_id = ? AND job_type = 'old'")
        .bind(team.teamId)
        .first<{ n: number; jobs: number }>())!;
    // The alarm runs again at once while days are left (here, or by itself).
    for (let i = 0; i < 20 && (await sent()).n < 40; i++) await flush(team);
    expect(await sent()).toEqual({ n: 40, jobs: 80 });
    expect(batches.length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...batches)).toBeLessThanOrEqual(31);
    expect((await json("GET", `/api/organizations/${team.organizationId}/usage?period=2025-02`, 200)).summary.jobs).toBe(9 * 2);
  });

  it("reaches D1 by itself a few seconds after the work (the alarm)", async () => {
    const org = await createOrg();
    const team = await teamIn(org, await groups());
    await workload(team, 1);
    let jobs = 0;
    for (let i = 0; i < 50 && jobs === 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
      jobs = (await json("GET", `/api/organizations/${org}/usage`, 200)).summary.jobs;
    }
    expect(jobs).toBe(6);
  });

  it("forgets a deleted team's usage", async () => {
    const org = await createOrg();
    const team = await teamIn(org, await groups());
    await workload(team, 1);
    await flush(team);
    expect((await json("GET", `/api/organizations/${org}/usage`, 200)).summary.jobs).toBe(6);
    await json("DELETE", `/api/teams/${team.teamId}`, 200);
    expect((await json("GET", `/api/organizations/${org}/usage`, 200)).teams).toEqual({});
  });
});

describe("the dashboard", () => {
  it("counts organizations, teams by status, and this month's work; scoped by organization_id", async () => {
    const org = await createOrg();
    const gs = await groups();
    const teams = [await teamIn(org, gs), await teamIn(org, gs), await teamIn(org, gs)];
    await json("PUT", `/api/teams/${teams[2].teamId}/pause`, 200);
    await workload(teams[0], 2);
    await workload(teams[1], 1);
    for (const team of teams) await flush(team);
    const dash = await json("GET", `/api/stats/dashboard?organization_id=${org}`, 200);
    const report = await json("GET", `/api/organizations/${org}/usage`, 200);
    expect(dash).toMatchObject({
      organization_id: org,
      organizations: 1,
      teams: { total: 3, by_status: { active: 2, paused: 1 } },
      jobs_today: report.summary.jobs,
      jobs_this_month: report.summary.jobs,
      credits_charged_this_month: report.summary.credits_charged,
      tokens_this_month: report.summary.total_tokens,
    });
    expect(dash.client_cost_usd_this_month).toBeCloseTo(report.summary.client_cost_usd, 9);

    const all = await json("GET", "/api/stats/dashboard", 200);
    expect(all.organization_id).toBeNull();
    expect(all.organizations).toBeGreaterThan(1);
    expect(all.teams.total).toBeGreaterThan(3);
    expect(all.jobs_this_month).toBeGreaterThanOrEqual(dash.jobs_this_month);

    expect((await api("GET", `/api/stats/dashboard?organization_id=${uid("nope")}`)).status).toBe(404);
    expect((await api("GET", "/api/stats/dashboard", { key: teams[0].key })).status).toBe(403);
  });
});

describe("CSV", () => {
  it("a team's transactions: streamed, a header row, every row of the ledger, fields quoted as RFC 4180 says", async () => {
    const org = await createOrg();
    const team = await teamIn(org, await groups());
    const reason = 'Q4 bonus, "thanks"\nsee ticket';
    await json("POST", `/api/credits/teams/${team.teamId}/add`, 200, { body: { credits: 5, reason } });
    await json("POST", `/api/credits/teams/${team.teamId}/add`, 200, { body: { credits: 1, reason: "=HYPERLINK(1)" } });
    await workload(team, 2);

    const res = await api("GET", `/api/credits/teams/${team.teamId}/transactions`, { key: team.key, headers: { accept: "text/csv" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toBe(`attachment; filename="transactions-${team.teamId}.csv"`);
    const rows = parseCsv(await res.text());
    const ledger = await json("GET", `/api/credits/teams/${team.teamId}/transactions?limit=200`, 200, { key: team.key });
    expect(rows[0]).toEqual([
      "transaction_id",
      "team_id",
      "created_at",
      "kind",
      "amount",
      "reserved_change",
      "held_change_micro",
      "balance_before",
      "balance_after",
      "job_id",
      "reason",
    ]);
    expect(rows.slice(1).map((r) => r[0])).toEqual(ledger.transactions.map((t: any) => t.transaction_id));
    const bonus = rows.find((r) => r[10] === reason)!;
    expect(bonus.slice(3, 5)).toEqual(["allocation", "5"]);
    expect(rows.some((r) => r[10] === "'=HYPERLINK(1)")).toBe(true);
    for (const r of rows.slice(1)) expect(Number(r[8]) - Number(r[7])).toBe(Number(r[4]));

    // ?format=csv does the same; ?format=json wins over the Accept header.
    const viaQuery = await api("GET", `/api/credits/teams/${team.teamId}/transactions?format=csv`, { key: team.key });
    expect(parseCsv(await viaQuery.text())).toHaveLength(rows.length);
    const jsonWins = await api("GET", `/api/credits/teams/${team.teamId}/transactions?format=json`, {
      key: team.key,
      headers: { accept: "text/csv" },
    });
    expect(jsonWins.headers.get("content-type")).toContain("application/json");
    // Another team's key is refused before any CSV is sent.
    const other = await teamIn(org, team.groups);
    const refused = await api("GET", `/api/credits/teams/${team.teamId}/transactions?format=csv`, { key: other.key });
    expect(refused.status).toBe(403);
    expect(refused.headers.get("content-type")).toContain("application/json");
  });

  it("the export pages through the ledger by position: every row once, whatever is written meanwhile", async () => {
    const team = await teamIn(await createOrg(), await groups());
    await workload(team, 3);
    const stub: any = env.TEAM_LEDGER.getByName(team.teamId);
    const seen: string[] = [];
    let next: number | null = null;
    let first = true;
    while (first || next !== null) {
      const page: any = await stub.transactionsBefore({ kind: "admin" }, next, 4);
      expect(page.ok).toBe(true);
      seen.push(...page.value.items.map((t: any) => t.transaction_id));
      next = page.value.next;
      if (first) await json("POST", `/api/credits/teams/${team.teamId}/add`, 200, { body: { credits: 1 } });
      first = false;
    }
    const ledger = await json("GET", `/api/credits/teams/${team.teamId}/transactions?limit=200`, 200);
    // Everything but the row added after the first page, in order, none twice.
    expect(seen).toEqual(ledger.transactions.slice(1).map((t: any) => t.transaction_id));
  });

  it("a team's usage and an organization's usage", async () => {
    const org = await createOrg();
    const team = await teamIn(org, await groups());
    await workload(team, 2);
    await flush(team);
    const period = new Date().toISOString().slice(0, 7);

    const teamCsv = await api("GET", `/api/teams/${team.teamId}/usage?format=csv`, { key: team.key });
    expect(teamCsv.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    const teamRows = parseCsv(await teamCsv.text());
    expect(teamRows[0]).toEqual(["period", "team_id", "dimension", "name", ...COUNTS, "client_cost_usd", "cache_hits", "cache_saved_usd"]);
    const usage = await json("GET", `/api/teams/${team.teamId}/usage`, 200, { key: team.key });
    const jobTypeRows = teamRows.filter((r) => r[2] === "job_type");
    expect(jobTypeRows.map((r) => r[3]).sort()).toEqual(Object.keys(usage.job_types).sort());
    expect(jobTypeRows.reduce((n, r) => n + Number(r[4]), 0)).toBe(usage.summary.jobs);
    expect(teamRows.filter((r) => r[2] === "model_group").map((r) => r[3])).toEqual(Object.keys(usage.model_groups));
    expect(teamRows.some((r) => r[2] === "model")).toBe(false);

    const adminCsv = parseCsv(await (await api("GET", `/api/teams/${team.teamId}/usage`, { headers: { accept: "text/csv" } })).text());
    expect(adminCsv[0].at(-1)).toBe("provider_cost_usd");
    expect(adminCsv.some((r) => r[2] === "model" && r[3] === "gpt-4o-mini")).toBe(true);

    const orgCsv = await api("GET", `/api/organizations/${org}/usage?period=${period}&format=csv`);
    expect(orgCsv.headers.get("content-disposition")).toBe(`attachment; filename="usage-${org}-${period}.csv"`);
    const orgRows = parseCsv(await orgCsv.text());
    expect(orgRows[0]).toEqual([
      "period",
      "organization_id",
      "team_id",
      "job_type",
      ...COUNTS,
      "client_cost_usd",
      "cache_hits",
      "cache_saved_usd",
      "cache_saved_provider_usd",
      "provider_cost_usd",
    ]);
    expect(orgRows.slice(1).reduce((n, r) => n + Number(r[4]), 0)).toBe(usage.summary.jobs);
    expect(orgRows.slice(1).reduce((n, r) => n + Number(r[10]), 0)).toBe(usage.summary.credits_charged);
  });
});
