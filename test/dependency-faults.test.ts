import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import worker from "../src/index";
import {
  ADMIN_KEY,
  balance,
  createGroup,
  createJob,
  createOrg,
  createTeam,
  expectLedgerConsistent,
  json,
  uid,
  upstreamRequests,
  userMessage,
} from "./helpers";

/** A D1 binding that fails every query, as when the database is unreachable. */
const brokenDb = new Proxy(env.DB, {
  get(target, prop) {
    if (prop === "prepare" || prop === "batch" || prop === "exec") {
      return () => {
        throw new Error("D1_ERROR: network connection lost");
      };
    }
    return Reflect.get(target, prop);
  },
});

/** A ledger namespace whose objects fail the named methods (all of them when none is named). */
function brokenLedger(failing?: string[]) {
  return {
    getByName(name: string) {
      const real = env.TEAM_LEDGER.getByName(name) as unknown as Record<string, (...a: unknown[]) => unknown>;
      return new Proxy(real, {
        get(target, prop: string) {
          if (!failing || failing.includes(prop)) {
            return async () => {
              throw new Error("Durable Object reset because its code was updated");
            };
          }
          return (...args: unknown[]) => target[prop](...args);
        },
      });
    },
  };
}

async function send(overrides: Partial<Env>, method: string, path: string, key: string, body?: unknown) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`http://gateway.test${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
    { ...env, ...overrides } as Env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

describe("fail closed when a dependency is down", () => {
  it("D1 down: admin requests and keys the isolate has not seen get 503 and reach nothing; a warm team's calls go on, metered", async () => {
    const team = await createTeam({ credits: 3 });
    const job = await createJob(team);
    const admin = await send({ DB: brokenDb }, "POST", "/api/organizations/create", ADMIN_KEY, { organization_id: "down-org", name: "x" });
    expect(admin.status).toBe(503);
    expect(await admin.json()).toEqual({ detail: "Database unavailable; please retry" });
    // A key this isolate has not looked up yet needs D1 to find its team: refused, nothing upstream.
    const rotated = await json("POST", `/api/teams/${team.teamId}/keys/rotate`, 200, { body: { grace_seconds: 3600 } });
    const cold = await send({ DB: brokenDb }, "POST", `/api/jobs/${job}/llm-call`, rotated.virtual_key, {
      model_group: team.groups[0],
      messages: userMessage(),
    });
    expect(cold.status).toBe(503);
    expect(await cold.json()).toEqual({ detail: "Database unavailable; please retry" });
    expect(
      (await send({ DB: brokenDb }, "POST", "/api/jobs/create", rotated.virtual_key, { team_id: team.teamId, job_type: "t" })).status,
    ).toBe(503);
    expect(await upstreamRequests(inject("mockLiteLLMUrl"), team.teamId)).toHaveLength(0);
    // A key it has seen: the team's object decides and meters, D1 is not needed.
    const warm = await send({ DB: brokenDb }, "POST", `/api/jobs/${job}/llm-call`, team.key, {
      model_group: team.groups[0],
      messages: userMessage(),
    });
    expect(warm.status).toBe(200);
    expect(await upstreamRequests(inject("mockLiteLLMUrl"), team.teamId)).toHaveLength(1);
    const done = await send({ DB: brokenDb }, "POST", `/api/jobs/${job}/complete`, team.key, { status: "completed" });
    expect((await done.json<any>()).costs).toMatchObject({ total_calls: 1, credits_remaining: 2 });
    const b = await expectLedgerConsistent(team);
    expect([b.credits_remaining, b.credits_reserved]).toEqual([2, 0]);
    expect((await json("GET", "/api/organizations/down-org", 404)).detail).toMatch(/not found/);
  });

  it("team ledger down: no job, no call reaches LiteLLM, no completion", async () => {
    const team = await createTeam({ credits: 3 });
    const job = await createJob(team);
    const ledger = brokenLedger() as unknown as Env["TEAM_LEDGER"];
    const created = await send({ TEAM_LEDGER: ledger }, "POST", "/api/jobs/create", team.key, { team_id: team.teamId, job_type: "t" });
    expect(created.status).toBe(503);
    expect(await created.json()).toEqual({ detail: "Team ledger unavailable; please retry" });
    const call = await send({ TEAM_LEDGER: ledger }, "POST", `/api/jobs/${job}/llm-call`, team.key, {
      model_group: team.groups[0],
      messages: userMessage(),
    });
    expect(call.status).toBe(503);
    expect(await upstreamRequests(inject("mockLiteLLMUrl"), team.teamId)).toHaveLength(0);
    expect((await send({ TEAM_LEDGER: ledger }, "POST", `/api/jobs/${job}/complete`, team.key, { status: "completed" })).status).toBe(503);
    expect((await send({ TEAM_LEDGER: ledger }, "GET", `/api/credits/teams/${team.teamId}/balance`, team.key)).status).toBe(503);
    const b = await expectLedgerConsistent(team);
    expect([b.credits_remaining, b.credits_reserved]).toEqual([3, 1]);
  });

  it("ledger lost after the upstream answered: the answer is withheld (503), never served unmetered", async () => {
    const team = await createTeam({ credits: 3 });
    const job = await createJob(team);
    const ledger = brokenLedger(["recordCall"]) as unknown as Env["TEAM_LEDGER"];
    const call = await send({ TEAM_LEDGER: ledger }, "POST", `/api/jobs/${job}/llm-call`, team.key, {
      model_group: team.groups[0],
      messages: userMessage(),
    });
    expect(call.status).toBe(503);
    const body = await call.json<any>();
    expect(body).toEqual({
      detail:
        "The call could not be recorded, so its answer is withheld; please retry. The call is settled from its hold: at most its worst case",
    });
    // The job is still open with the call in flight; completing it settles the call from its hold
    // (unrecorded) and charges the usual 1 credit (job_based).
    const done = await json("POST", `/api/jobs/${job}/complete`, 200, { key: team.key, body: { status: "completed" } });
    expect(done.costs).toMatchObject({ credits_remaining: 2, total_calls: 1 });
    const { calls } = await json("GET", `/api/jobs/${job}`, 200, { key: team.key });
    expect(calls.map((c: { status: string }) => c.status)).toEqual(["unrecorded"]);
    expect((await balance(team)).credits_reserved).toBe(0);
    await expectLedgerConsistent(team);
  });

  it("LiteLLM refusing the gateway's own key is the operator's problem: 502, not blamed on the team's request", async () => {
    const team = await createTeam({ credits: 3 });
    const job = await createJob(team);
    const call = await send({ LITELLM_API_KEY: "sk-wrong-litellm-key" }, "POST", `/api/jobs/${job}/llm-call`, team.key, {
      model_group: team.groups[0],
      messages: userMessage(),
    });
    expect(call.status).toBe(502);
    expect((await call.json<any>()).detail).toMatch(/LITELLM_API_KEY/);
    const view = await json("GET", `/api/jobs/${job}`, 200, { key: team.key });
    expect(view.calls).toHaveLength(1);
    expect(view.calls[0].status).toBe("failed");
    await expectLedgerConsistent(team);
  });
});

describe("nothing half-written when the ledger fails during team creation", () => {
  it("the team, its key and its groups are undone in D1 (503), and the same request then succeeds", async () => {
    const org = await createOrg();
    const group = await createGroup(["gpt-4o-mini"]);
    const teamId = uid("half");
    const body = { organization_id: org, team_id: teamId, model_groups: [group], credits_allocated: 7 };
    const ledger = brokenLedger(["openAccount"]) as unknown as Env["TEAM_LEDGER"];
    const res = await send({ TEAM_LEDGER: ledger }, "POST", "/api/teams/create", ADMIN_KEY, body);
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(text).not.toMatch(/sk-[0-9a-f]{16}/);
    for (const table of ["teams", "api_keys", "team_model_groups"]) {
      const rows = await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE team_id = ?`).bind(teamId).first<number>("n");
      expect(rows, table).toBe(0);
    }
    await json("GET", `/api/teams/${teamId}`, 404);
    const created = await json("POST", "/api/teams/create", 200, { body });
    expect(created).toMatchObject({ team_id: teamId, credits_allocated: 7, credits_remaining: 7 });
    const b = await expectLedgerConsistent({ teamId, organizationId: org, key: created.virtual_key, groups: [group], created });
    expect(b.credits_remaining).toBe(7);
  });
});
