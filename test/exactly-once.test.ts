import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import worker from "../src/index";
import {
  ADMIN_KEY,
  allTransactions,
  api,
  balance,
  createGroup,
  createOrg,
  createTeam,
  expectLedgerConsistent,
  json,
  type TestTeam,
  uid,
  upstreamRequests,
  userMessage,
} from "./helpers";

// Exactly-once reaches into the team's object: a retry with the same Idempotency-Key after a
// server error never applies a money change twice, and refusals of the moment are not kept.

type LedgerStub = Record<string, (...a: unknown[]) => Promise<unknown>>;

/** A ledger namespace that runs every method for real, then `after(method)`, which may throw: the answer is lost. */
function ledgerThen(after: (method: string) => void) {
  return {
    getByName(name: string) {
      const real = env.TEAM_LEDGER.getByName(name) as unknown as LedgerStub;
      return new Proxy(real, {
        get(target, prop: string) {
          return async (...args: unknown[]) => {
            const result = await target[prop](...args);
            after(prop);
            return result;
          };
        },
      });
    },
  } as unknown as Env["TEAM_LEDGER"];
}

/** The named methods commit in the object, and their answer is lost on the way back. */
function answersLost(methods: string[]) {
  return ledgerThen((method) => {
    if (methods.includes(method)) throw new Error("Network connection lost");
  });
}

/** A ledger namespace whose named methods never reach the object. */
function unreachable(methods: string[]) {
  return {
    getByName(name: string) {
      const real = env.TEAM_LEDGER.getByName(name) as unknown as LedgerStub;
      return new Proxy(real, {
        get(target, prop: string) {
          return async (...args: unknown[]) => {
            if (methods.includes(prop)) throw new Error("Durable Object reset because its code was updated");
            return target[prop](...args);
          };
        },
      });
    },
  } as unknown as Env["TEAM_LEDGER"];
}

/** A D1 binding whose first query once `due()` holds fails (the connection dropped once). */
function failingOnceWhen(due: () => boolean) {
  let failed = false;
  return new Proxy(env.DB, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (typeof value !== "function") return value;
      if ((prop === "prepare" || prop === "batch") && due() && !failed) {
        failed = true;
        return () => {
          throw new Error("D1_ERROR: network connection lost");
        };
      }
      return value.bind(target);
    },
  });
}

async function send(overrides: Partial<Env>, method: string, path: string, key: string, body: unknown, idempotencyKey?: string) {
  const ctx = createExecutionContext();
  const headers: Record<string, string> = { authorization: `Bearer ${key}`, "content-type": "application/json" };
  if (idempotencyKey) headers["idempotency-key"] = idempotencyKey;
  const res = await worker.fetch(
    new Request(`http://gateway.test${path}`, { method, headers, body: JSON.stringify(body) }),
    { ...env, ...overrides } as Env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

async function jobsOf(team: TestTeam): Promise<any[]> {
  return (await json("GET", `/api/teams/${team.teamId}/jobs?limit=100`, 200, { key: team.key })).jobs;
}

describe("a retry after a server error applies a money change once", () => {
  it("credits added but the answer lost: the retry with the same key answers the addition and adds nothing more", async () => {
    const team = await createTeam({ credits: 10 });
    const path = `/api/credits/teams/${team.teamId}/add`;
    const body = { credits: 5, reason: "top-up" };
    const first = await send({ TEAM_LEDGER: answersLost(["addCredits"]) }, "POST", path, ADMIN_KEY, body, "topup-lost-1");
    expect(first.status).toBe(503);
    const retry = await api("POST", path, { body, headers: { "idempotency-key": "topup-lost-1" } });
    expect(retry.status).toBe(200);
    const added = await retry.json<any>();
    expect(added).toMatchObject({ credits_added: 5, transaction: { kind: "allocation", amount: 5 } });
    const b = await expectLedgerConsistent(team);
    expect(b.credits_allocated).toBe(15);
    expect((await allTransactions(team)).filter((t) => t.kind === "allocation")).toHaveLength(2);
    // The retry's answer is now kept: a third try replays it.
    const again = await api("POST", path, { body, headers: { "idempotency-key": "topup-lost-1" } });
    expect(await again.json()).toEqual(added);
  });

  it("a job opened but the answer lost: the retry returns that job, with one reservation", async () => {
    const team = await createTeam({ credits: 10 });
    const body = { team_id: team.teamId, job_type: "lost" };
    const first = await send({ TEAM_LEDGER: answersLost(["createJob"]) }, "POST", "/api/jobs/create", team.key, body, "job-lost-1");
    expect(first.status).toBe(503);
    const retry = await json("POST", "/api/jobs/create", 200, { key: team.key, body, headers: { "idempotency-key": "job-lost-1" } });
    const jobs = await jobsOf(team);
    expect(jobs.map((j) => j.job_id)).toEqual([retry.job_id]);
    const b = await expectLedgerConsistent(team);
    expect([b.credits_remaining, b.credits_reserved]).toEqual([10, 1]);
  });

  it("a team whose D1 read fails after its ledger opened: the retry delivers a working key, and only with that key", async () => {
    const org = await createOrg();
    const group = await createGroup(["gpt-4o-mini"]);
    const teamId = uid("lost-team");
    const body = { organization_id: org, team_id: teamId, model_groups: [group], credits_allocated: 7 };
    let opened = false;
    // The ledger opens; D1 then fails for the read that builds the answer.
    const broken = {
      TEAM_LEDGER: ledgerThen((method) => {
        if (method === "openAccount") opened = true;
      }),
      DB: failingOnceWhen(() => opened),
    };
    const first = await send(broken, "POST", "/api/teams/create", ADMIN_KEY, body, "team-lost-1");
    expect(first.status).toBe(503);
    expect(opened).toBe(true);

    // Without the key, or with another one, it is a duplicate.
    expect((await json("POST", "/api/teams/create", 400, { body })).detail).toMatch(/already exists/);
    await json("POST", "/api/teams/create", 400, { body, headers: { "idempotency-key": "team-lost-other" } });

    const retry = await json("POST", "/api/teams/create", 200, { body, headers: { "idempotency-key": "team-lost-1" } });
    expect(retry).toMatchObject({ team_id: teamId, credits_allocated: 7, credits_remaining: 7, model_groups: [group] });
    expect(retry.virtual_key).toMatch(/^sk-[0-9a-f]{64}$/);
    const team: TestTeam = { teamId, organizationId: org, key: retry.virtual_key, groups: [group], created: retry };
    expect((await balance(team)).credits_remaining).toBe(7);
    const again = await json("POST", "/api/teams/create", 200, { body, headers: { "idempotency-key": "team-lost-1" } });
    expect(again.virtual_key).toBe(retry.virtual_key);
    await expectLedgerConsistent(team);
    expect(await allTransactions(team)).toHaveLength(1);
  });

  it("create-and-call whose completion answer was lost: the retry answers the first answer, with no second call, job or charge", async () => {
    const team = await createTeam({ credits: 10 });
    const body = { team_id: team.teamId, job_type: "one_shot", model_group: team.groups[0], messages: userMessage() };
    const first = await send(
      { TEAM_LEDGER: answersLost(["completeJob"]) },
      "POST",
      "/api/jobs/create-and-call",
      team.key,
      body,
      "cc-lost-1",
    );
    expect(first.status).toBe(503);
    const retry = await api("POST", "/api/jobs/create-and-call", { key: team.key, body, headers: { "idempotency-key": "cc-lost-1" } });
    expect(retry.status).toBe(200);
    const answer = await retry.json<any>();
    expect(answer).toMatchObject({ status: "completed", costs: { total_calls: 1, credit_applied: true, credits_remaining: 9 } });
    expect(answer.response.content.length).toBeGreaterThan(0);
    expect(retry.headers.get("x-job-id")).toBe(answer.job_id);
    expect(await upstreamRequests(inject("mockLiteLLMUrl"), team.teamId)).toHaveLength(1);
    expect((await jobsOf(team)).map((j) => j.job_id)).toEqual([answer.job_id]);
    const b = await expectLedgerConsistent(team);
    expect([b.credits_used, b.credits_reserved]).toEqual([1, 0]);
  });

  it("create-and-call whose job never closed after its call: the retry calls nothing again and charges nothing", async () => {
    const team = await createTeam({ credits: 10 });
    const body = { team_id: team.teamId, job_type: "one_shot", model_group: team.groups[0], messages: userMessage() };
    const first = await send(
      { TEAM_LEDGER: unreachable(["completeJob"]) },
      "POST",
      "/api/jobs/create-and-call",
      team.key,
      body,
      "cc-open-1",
    );
    expect(first.status).toBe(503);
    const retry = await api("POST", "/api/jobs/create-and-call", { key: team.key, body, headers: { "idempotency-key": "cc-open-1" } });
    expect(retry.status).toBe(409);
    const refused = await retry.json<any>();
    expect(refused.detail).toMatch(/Idempotency-Key/);
    expect(await upstreamRequests(inject("mockLiteLLMUrl"), team.teamId)).toHaveLength(1);
    const jobs = await jobsOf(team);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ job_id: refused.job_id, status: "failed", credit_applied: false });
    const b = await expectLedgerConsistent(team);
    expect([b.credits_used, b.credits_reserved]).toEqual([0, 0]);
  });
});

describe("refusals of the moment are not kept for replay", () => {
  const createWithKey = (team: TestTeam, key: string) =>
    api("POST", "/api/jobs/create", { key: team.key, body: { team_id: team.teamId, job_type: "t" }, headers: { "idempotency-key": key } });

  it("429 while paused, then 200 with the same key once resumed", async () => {
    const team = await createTeam({ credits: 10 });
    await json("PUT", `/api/teams/${team.teamId}/pause`, 200);
    const paused = await createWithKey(team, "paused-1");
    expect(paused.status).toBe(429);
    expect(paused.headers.get("retry-after")).toBeTruthy();
    expect((await createWithKey(team, "paused-1")).headers.get("retry-after")).toBeTruthy();
    await json("PUT", `/api/teams/${team.teamId}/resume`, 200);
    const resumed = await createWithKey(team, "paused-1");
    expect(resumed.status).toBe(200);
    expect((await jobsOf(team)).map((j) => j.job_id)).toEqual([(await resumed.json<any>()).job_id]);
    await expectLedgerConsistent(team);
  });

  it("402 with nothing available, then 200 with the same key once topped up", async () => {
    const team = await createTeam({ credits: 0 });
    expect((await createWithKey(team, "broke-1")).status).toBe(402);
    await json("POST", `/api/credits/teams/${team.teamId}/add`, 200, { body: { credits: 3 } });
    expect((await createWithKey(team, "broke-1")).status).toBe(200);
    const b = await expectLedgerConsistent(team);
    expect(b.credits_reserved).toBe(1);
  });

  it("403 while suspended, then 200 with the same key once resumed", async () => {
    const team = await createTeam({ credits: 10 });
    await json("PUT", `/api/teams/${team.teamId}/suspend`, 200);
    expect((await createWithKey(team, "suspended-1")).status).toBe(403);
    await json("PUT", `/api/teams/${team.teamId}/resume`, 200);
    expect((await createWithKey(team, "suspended-1")).status).toBe(200);
    await expectLedgerConsistent(team);
  });

  it("a replayed answer carries the first one's content type and x-job-id", async () => {
    const team = await createTeam({ credits: 10 });
    const body = { team_id: team.teamId, job_type: "one_shot", model_group: team.groups[0], messages: userMessage() };
    const headers = { "idempotency-key": "cc-replay-1" };
    const first = await api("POST", "/api/jobs/create-and-call", { key: team.key, body, headers });
    expect(first.status).toBe(200);
    const jobId = (await first.clone().json<any>()).job_id;
    expect(first.headers.get("x-job-id")).toBe(jobId);
    const replay = await api("POST", "/api/jobs/create-and-call", { key: team.key, body, headers });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.headers.get("x-job-id")).toBe(jobId);
    expect(replay.headers.get("content-type")).toBe(first.headers.get("content-type"));
    expect(await replay.text()).toBe(await first.text());
    expect(await upstreamRequests(inject("mockLiteLLMUrl"), team.teamId)).toHaveLength(1);
  });
});

describe("deleting a team forgets its idempotency records", () => {
  it("a team re-created with the same id gets fresh answers for the old team's keys", async () => {
    const team = await createTeam({ credits: 10 });
    const jobBody = { team_id: team.teamId, job_type: "t" };
    const old = await json("POST", "/api/jobs/create", 200, { key: team.key, body: jobBody, headers: { "idempotency-key": "K" } });
    const topUp = { body: { credits: 5 }, headers: { "idempotency-key": "K2" } };
    await json("POST", `/api/credits/teams/${team.teamId}/add`, 200, topUp);
    await json("DELETE", `/api/teams/${team.teamId}`, 200);

    const created = await json("POST", "/api/teams/create", 200, {
      body: { organization_id: team.organizationId, team_id: team.teamId, model_groups: team.groups, credits_allocated: 10 },
    });
    const again: TestTeam = { ...team, key: created.virtual_key, created };
    const fresh = await json("POST", "/api/jobs/create", 200, { key: again.key, body: jobBody, headers: { "idempotency-key": "K" } });
    expect(fresh.job_id).not.toBe(old.job_id);
    expect((await jobsOf(again)).map((j) => j.job_id)).toEqual([fresh.job_id]);
    await json("POST", `/api/credits/teams/${team.teamId}/add`, 200, topUp);
    const b = await expectLedgerConsistent(again);
    expect([b.credits_allocated, b.credits_reserved]).toEqual([15, 1]);
  });
});
