import { env, runDurableObjectAlarm } from "cloudflare:test";
import { expect, vi } from "vitest";
import { allTransactions, api, expectLedgerConsistent, json, type TestTeam, userMessage } from "./helpers";

// Shared by the grant tests: a controllable clock (the object reads the same faked Date), the
// object's alarm, and the checks every grant test ends with.

/** Fakes Date only (timers and sockets keep real time) and sets it; the team's object reads the same clock. */
export function setClock(atMs: number): void {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(atMs);
}

/** Moves the clock to `atMs` and runs the team's alarm as the runtime would (it may have been set for any time before). */
export async function alarmAt(team: TestTeam, atMs: number): Promise<void> {
  setClock(atMs);
  await runDurableObjectAlarm(env.TEAM_LEDGER.getByName(team.teamId));
}

export const utc = (text: string) => Date.parse(text);

export async function grantsOf(team: TestTeam, query = ""): Promise<any[]> {
  return (await json("GET", `/api/credits/teams/${team.teamId}/grants?limit=200${query}`, 200, { key: team.key })).grants;
}

export async function makeGrant(team: TestTeam, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return json("POST", `/api/credits/teams/${team.teamId}/grants`, 200, { body, headers });
}

/**
 * Opens a job, makes calls (each with `maxTokens`) until it has used at least `tokens` tokens,
 * and completes it; returns what the completion charged and the job's id.
 */
export async function consumeJob(team: TestTeam, tokens: number, maxTokens = 10): Promise<{ jobId: string; charged: number }> {
  const job = await json("POST", "/api/jobs/create", 200, { key: team.key, body: { team_id: team.teamId, job_type: "grant_test" } });
  let used = 0;
  while (used < tokens) {
    const res = await api("POST", `/api/jobs/${job.job_id}/llm-call`, {
      key: team.key,
      body: { model_group: team.groups[0], messages: userMessage(), max_tokens: maxTokens },
    });
    const body = await res.json<any>();
    expect(res.status, JSON.stringify(body)).toBe(200);
    used += body.metadata.tokens_used;
  }
  const done = await json("POST", `/api/jobs/${job.job_id}/complete`, 200, { key: team.key, body: { status: "completed" } });
  return { jobId: job.job_id, charged: done.costs.credits_charged };
}

/** The ledger row of a job's charge. */
export async function chargeRowOf(team: TestTeam, jobId: string) {
  const rows = await allTransactions(team);
  return rows.find((r) => r.job_id === jobId && r.kind === "deduction");
}

/**
 * Every check a grant test ends with: the ledger explains the balance (expectLedgerConsistent),
 * each row's grant splits add up to its amount, the grants' remaining credits less the overdraft
 * are credits_remaining, no grant is below zero, and the balance's totals by source are the grants'.
 */
export async function expectGrantsConsistent(team: TestTeam, options: { allowOverrun?: boolean } = {}) {
  const balance = await expectLedgerConsistent(team, options);
  const rows = await allTransactions(team);
  for (const r of rows) {
    if (r.grants.length > 0 || r.amount !== 0)
      expect(
        r.grants.reduce((s: number, g: any) => s + g.credits, 0),
        JSON.stringify(r),
      ).toBe(r.amount);
  }
  const grants = await grantsOf(team);
  for (const g of grants) expect(g.remaining, g.grant_id).toBeGreaterThanOrEqual(0);
  const bySource = { paid: 0, promotional: 0, plan: 0 } as Record<string, number>;
  for (const g of grants) bySource[g.source] += g.remaining;
  expect(balance.grants).toEqual({ ...bySource, overdrawn: balance.grants.overdrawn });
  expect(bySource.paid + bySource.promotional + bySource.plan - balance.grants.overdrawn).toBe(balance.credits_remaining);
  // Each grant's remaining is what the ledger's splits gave it and took from it.
  const moved = new Map<string, number>();
  for (const r of rows) for (const s of r.grants) if (s.grant_id) moved.set(s.grant_id, (moved.get(s.grant_id) ?? 0) + s.credits);
  for (const g of grants) expect(moved.get(g.grant_id) ?? 0, g.grant_id).toBe(g.remaining);
  return { balance, grants, rows };
}

/** A statement's totals are the ledger's for its month; its per-source and per-grant lines add up to them. */
export function expectStatementAddsUp(statement: any, rows: any[]) {
  const from = statement.starts_at;
  const to = statement.ends_at;
  const inMonth = rows.filter((r) => r.created_at >= from && r.created_at < to);
  const sum = (kind: string) => inMonth.filter((r) => r.kind === kind).reduce((s, r) => s + r.amount, 0);
  const minus = (kind: string) => 0 - sum(kind) || 0;
  expect(statement.opening).toBe(rows.filter((r) => r.created_at < from).reduce((s, r) => s + r.amount, 0));
  expect(statement.granted).toBe(sum("allocation"));
  expect(statement.consumed).toBe(minus("deduction"));
  expect(statement.refunded).toBe(sum("refund"));
  expect(statement.expired).toBe(minus("expiry"));
  expect(statement.voided).toBe(minus("void"));
  expect(statement.closing).toBe(statement.opening + inMonth.reduce((s, r) => s + r.amount, 0));
  for (const column of ["opening", "granted", "consumed", "refunded", "expired", "voided", "closing"]) {
    const bySource = Object.values(statement.by_source).reduce((s: number, line: any) => s + line[column], 0);
    const byGrant = statement.grants.reduce((s: number, line: any) => s + line[column], 0);
    expect(bySource, column).toBe(statement[column]);
    expect(byGrant, column).toBe(statement[column]);
  }
}
