import { createExecutionContext, env, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import worker from "../src/index";
import { ADMIN_KEY, createGroup, createTeam, expectLedgerConsistent, json, type TestTeam, upstreamRequests, userMessage } from "./helpers";

// The hot path: a warm team's calls, jobs and reads go to the team's object and never to D1,
// and the object decides on every request whether the key, the team and the group are still
// good, so a rotation, a deletion, a suspension or an unassigned group applies to the very next
// request even in an isolate that has seen the key before.

const mockUrl = inject("mockLiteLLMUrl");

/** env.DB, counting every statement the Worker prepares (the Worker's own D1 reads and writes). */
function countingDb() {
  const counter = { statements: 0 };
  const wrap = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(t, prop) {
        const value = Reflect.get(t, prop);
        if (typeof value !== "function") return value;
        if (prop === "prepare" || prop === "exec") {
          return (...args: unknown[]) => {
            counter.statements += 1;
            return value.apply(t, args);
          };
        }
        if (prop === "withSession") return (...args: unknown[]) => wrap(value.apply(t, args));
        return value.bind(t);
      },
    });
  return { db: wrap(env.DB), counter };
}

/** The Worker with a counting D1 and, optionally, a ledger namespace standing in for the real one. */
function gateway(ledger?: Env["TEAM_LEDGER"]) {
  const { db, counter } = countingDb();
  const send = async (method: string, path: string, key: string, body?: unknown) => {
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(`http://gateway.test${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
      { ...env, DB: db, ...(ledger ? { TEAM_LEDGER: ledger } : {}) } as Env,
      ctx,
    );
    const text = await res.text();
    await waitOnExecutionContext(ctx);
    return { status: res.status, text, body: text.startsWith("{") ? JSON.parse(text) : null };
  };
  return { send, counter };
}

const call = (team: TestTeam, group = team.groups[0]) => ({ model_group: group, messages: userMessage() });

/** A team whose key this isolate has already seen (one request through the Worker). */
async function warmTeam(options: Parameters<typeof createTeam>[0] = {}) {
  const team = await createTeam(options);
  const gw = gateway();
  expect((await gw.send("GET", `/api/credits/teams/${team.teamId}/balance`, team.key)).status).toBe(200);
  gw.counter.statements = 0;
  return { team, gw };
}

describe("a warm call reads nothing from D1", () => {
  it("calls, streams, one-request jobs, job creation and completion, and reads: 0 D1 statements", async () => {
    const { team, gw } = await warmTeam({ credits: 50 });
    for (let i = 0; i < 3; i++) {
      const job = await gw.send("POST", "/api/jobs/create", team.key, { team_id: team.teamId, job_type: "hot" });
      expect(job.status, job.text).toBe(200);
      const id = job.body.job_id;
      expect((await gw.send("POST", `/api/jobs/${id}/llm-call`, team.key, call(team))).status).toBe(200);
      const streamed = await gw.send("POST", `/api/jobs/${id}/llm-call-stream`, team.key, call(team));
      expect(streamed.status).toBe(200);
      expect(streamed.text.trimEnd().endsWith("data: [DONE]")).toBe(true);
      expect((await gw.send("POST", `/api/jobs/${id}/complete`, team.key, { status: "completed" })).status).toBe(200);
      const oneShot = await gw.send("POST", "/api/jobs/create-and-call", team.key, {
        team_id: team.teamId,
        job_type: "hot",
        ...call(team),
      });
      expect(oneShot.status, oneShot.text).toBe(200);
      const oneStream = await gw.send("POST", "/api/jobs/create-and-call-stream", team.key, {
        team_id: team.teamId,
        job_type: "hot",
        ...call(team),
      });
      expect(oneStream.text).toContain("event: job_summary");
      for (const path of [
        `/api/jobs/${id}`,
        `/api/credits/teams/${team.teamId}/balance`,
        `/api/credits/teams/${team.teamId}/transactions`,
        `/api/teams/${team.teamId}/jobs`,
        `/api/teams/${team.teamId}/usage`,
      ]) {
        expect((await gw.send("GET", path, team.key)).status, path).toBe(200);
      }
    }
    expect(gw.counter.statements).toBe(0);
    const b = await expectLedgerConsistent(team);
    expect(b.credits_remaining).toBe(50 - 9);
  });

  it("an llm-call takes two round trips to the team's object (admit, settle); create-and-call three (open and admit, settle, close)", async () => {
    const team = await createTeam({ credits: 10 });
    const rpcs: string[] = [];
    const counting = {
      getByName(name: string) {
        const real = env.TEAM_LEDGER.getByName(name) as unknown as Record<string, (...a: unknown[]) => unknown>;
        return new Proxy(real, {
          get(target, prop: string) {
            return (...args: unknown[]) => {
              rpcs.push(prop);
              return target[prop](...args);
            };
          },
        });
      },
    } as unknown as Env["TEAM_LEDGER"];
    const gw = gateway(counting);
    const job = await gw.send("POST", "/api/jobs/create", team.key, { team_id: team.teamId, job_type: "hot" });
    expect(rpcs).toHaveLength(1);
    rpcs.length = 0;
    expect((await gw.send("POST", `/api/jobs/${job.body.job_id}/llm-call`, team.key, call(team))).status).toBe(200);
    expect(rpcs).toHaveLength(2);
    rpcs.length = 0;
    expect((await gw.send("POST", `/api/jobs/${job.body.job_id}/complete`, team.key, { status: "completed" })).status).toBe(200);
    expect(rpcs).toHaveLength(1);
    rpcs.length = 0;
    const oneShot = await gw.send("POST", "/api/jobs/create-and-call", team.key, { team_id: team.teamId, job_type: "hot", ...call(team) });
    expect(oneShot.status).toBe(200);
    expect(rpcs).toHaveLength(3);
    await expectLedgerConsistent(team);
  });
});

describe("keys nobody was issued", () => {
  it("cost one D1 read, not one per request, and a key issued afterwards works at once", async () => {
    const gw = gateway();
    const madeUp = `sk-team-${crypto.randomUUID()}`;
    for (let i = 0; i < 5; i++) {
      const res = await gw.send("GET", "/api/credits/teams/some-team/balance", madeUp);
      expect(res.status).toBe(401);
      expect(res.body.detail).toBe("Invalid API key");
    }
    expect(gw.counter.statements).toBe(1);
    // Another made-up key is looked up on its own.
    expect((await gw.send("GET", "/api/credits/teams/some-team/balance", `${madeUp}x`)).status).toBe(401);
    expect(gw.counter.statements).toBe(2);
    // A key issued after the isolate has remembered others as unknown is not held back by them.
    const team = await createTeam();
    expect((await gw.send("GET", `/api/credits/teams/${team.teamId}/balance`, team.key)).status).toBe(200);
  });
});

describe("the team's object decides at once, even for a key the isolate knows", () => {
  it("rotation without grace: the old key is 401 on the very next request, the new one works, still with no D1 read", async () => {
    const { team, gw } = await warmTeam();
    const rotated = await json("POST", `/api/teams/${team.teamId}/keys/rotate`, 200, { body: { grace_seconds: 0 } });
    const old = await gw.send("POST", "/api/jobs/create", team.key, { team_id: team.teamId, job_type: "t" });
    expect([old.status, old.body]).toEqual([401, { detail: "Invalid API key" }]);
    expect(gw.counter.statements).toBe(0);
    expect((await gw.send("GET", `/api/credits/teams/${team.teamId}/balance`, rotated.virtual_key)).status).toBe(200);
    gw.counter.statements = 0;
    expect((await gw.send("GET", `/api/credits/teams/${team.teamId}/balance`, rotated.virtual_key)).status).toBe(200);
    expect(gw.counter.statements).toBe(0);
    await expectLedgerConsistent(team);
  });

  it("rotation with a grace period: the old key works until it ends, then is 401", async () => {
    const { team, gw } = await warmTeam();
    await json("POST", `/api/teams/${team.teamId}/keys/rotate`, 200, { body: { grace_seconds: 1 } });
    expect((await gw.send("GET", `/api/credits/teams/${team.teamId}/balance`, team.key)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100));
    const late = await gw.send("GET", `/api/credits/teams/${team.teamId}/balance`, team.key);
    expect([late.status, late.body]).toEqual([401, { detail: "Invalid API key" }]);
    expect(gw.counter.statements).toBe(0);
  });

  it("a deleted team's key is 401 on the next request, also on a team re-created with the same id", async () => {
    const { team, gw } = await warmTeam();
    await json("DELETE", `/api/teams/${team.teamId}`, 200);
    const gone = await gw.send("GET", `/api/credits/teams/${team.teamId}/balance`, team.key);
    expect([gone.status, gone.body]).toEqual([401, { detail: "Invalid API key" }]);
    expect(gw.counter.statements).toBe(0);
    const group = await createGroup(["gpt-4o-mini"]);
    await json("POST", "/api/teams/create", 200, {
      body: { organization_id: team.organizationId, team_id: team.teamId, model_groups: [group], credits_allocated: 5 },
    });
    const reused = await gw.send("POST", "/api/jobs/create", team.key, { team_id: team.teamId, job_type: "t" });
    expect([reused.status, reused.body]).toEqual([401, { detail: "Invalid API key" }]);
  });

  it("suspension is 403 on the next request, and resuming restores it", async () => {
    const { team, gw } = await warmTeam();
    await json("PUT", `/api/teams/${team.teamId}/suspend`, 200);
    const suspended = await gw.send("POST", "/api/jobs/create", team.key, { team_id: team.teamId, job_type: "t" });
    expect([suspended.status, suspended.body]).toEqual([403, { detail: `Team '${team.teamId}' is suspended` }]);
    await json("PUT", `/api/teams/${team.teamId}/resume`, 200);
    expect((await gw.send("POST", "/api/jobs/create", team.key, { team_id: team.teamId, job_type: "t" })).status).toBe(200);
    expect(gw.counter.statements).toBe(0);
  });

  it("an unassigned group is 403 on the next call; a group's new model list is used by the next call", async () => {
    const { team, gw } = await warmTeam({ models: [["gpt-4o-mini"], ["gpt-4o-mini"]] });
    const [kept, dropped] = team.groups;
    const job = (await gw.send("POST", "/api/jobs/create", team.key, { team_id: team.teamId, job_type: "t" })).body.job_id;
    expect((await gw.send("POST", `/api/jobs/${job}/llm-call`, team.key, call(team, dropped))).status).toBe(200);
    await json("PUT", `/api/teams/${team.teamId}/model-groups`, 200, { body: [kept] });
    const refused = await gw.send("POST", `/api/jobs/${job}/llm-call`, team.key, call(team, dropped));
    expect([refused.status, refused.body]).toEqual([403, { detail: `Model group '${dropped}' is not assigned to this team` }]);

    await json("PUT", `/api/model-groups/${kept}/models`, 200, { body: { models: [{ model_name: "gpt-4", priority: 0 }] } });
    gw.counter.statements = 0;
    expect((await gw.send("POST", `/api/jobs/${job}/llm-call`, team.key, call(team, kept))).status).toBe(200);
    expect((await upstreamRequests(mockUrl, team.teamId)).at(-1).body.model).toBe("gpt-4");
    expect(gw.counter.statements).toBe(0);
    await expectLedgerConsistent(team);
  });

  it("an Idempotency-Key replay is not served to a revoked key", async () => {
    const { team } = await warmTeam();
    const headers = { authorization: `Bearer ${team.key}`, "content-type": "application/json", "idempotency-key": "replay-1" };
    const body = JSON.stringify({ team_id: team.teamId, job_type: "t" });
    const first = await worker.fetch(
      new Request("http://gateway.test/api/jobs/create", { method: "POST", headers, body }),
      env,
      createExecutionContext(),
    );
    expect(first.status).toBe(200);
    await json("POST", `/api/teams/${team.teamId}/keys/rotate`, 200, { body: {} });
    const replay = await worker.fetch(
      new Request("http://gateway.test/api/jobs/create", { method: "POST", headers, body }),
      env,
      createExecutionContext(),
    );
    expect(replay.status).toBe(401);
    expect(await replay.json()).toEqual({ detail: "Invalid API key" });
  });
});

describe("teams whose object predates its access list, and pushes that fail", () => {
  it("an object without keys or groups loads them from D1 once, honouring a rotation made before", async () => {
    const team = await createTeam();
    const rotated = await json("POST", `/api/teams/${team.teamId}/keys/rotate`, 200, { body: { grace_seconds: 0 } });
    await runInDurableObject(env.TEAM_LEDGER.getByName(team.teamId), (_instance, state) => {
      for (const table of ["access_keys", "access_groups", "access_state"]) state.storage.sql.exec(`DELETE FROM ${table}`);
    });
    const gw = gateway();
    const old = await gw.send("GET", `/api/credits/teams/${team.teamId}/balance`, team.key);
    expect(old.status).toBe(401);
    const job = await gw.send("POST", "/api/jobs/create", rotated.virtual_key, { team_id: team.teamId, job_type: "t" });
    expect(job.status).toBe(200);
    expect((await gw.send("POST", `/api/jobs/${job.body.job_id}/llm-call`, rotated.virtual_key, call(team))).status).toBe(200);
    await expectLedgerConsistent(team);
  });

  it("a model list that cannot reach a team's object is 503, and the same request again finishes it", async () => {
    const { team, gw } = await warmTeam();
    const group = team.groups[0];
    const down = {
      getByName() {
        return new Proxy({}, { get: () => async () => Promise.reject(new Error("Durable Object is overloaded")) });
      },
    } as unknown as Env["TEAM_LEDGER"];
    const admin = gateway(down);
    const change = { models: [{ model_name: "gpt-4", priority: 0 }] };
    const failed = await admin.send("PUT", `/api/model-groups/${group}/models`, ADMIN_KEY, change);
    expect(failed.status).toBe(503);
    expect(failed.body.detail).toMatch(/send the same request again to finish it/);
    await json("PUT", `/api/model-groups/${group}/models`, 200, { body: change });
    const job = (await gw.send("POST", "/api/jobs/create", team.key, { team_id: team.teamId, job_type: "t" })).body.job_id;
    expect((await gw.send("POST", `/api/jobs/${job}/llm-call`, team.key, call(team))).status).toBe(200);
    expect((await upstreamRequests(mockUrl, team.teamId)).at(-1).body.model).toBe("gpt-4");
  });
});

describe("admin listings may be served by a D1 read replica", () => {
  it("lists are read through a Sessions API session ('first-unconstrained'); writes and key lookups use the primary", async () => {
    const team = await createTeam();
    const sessions: unknown[] = [];
    const db = new Proxy(env.DB, {
      get(target, prop) {
        const value = Reflect.get(target, prop);
        if (prop === "withSession") {
          return (constraint: unknown) => {
            sessions.push(constraint);
            return value.call(target, constraint);
          };
        }
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const send = async (method: string, path: string, key = ADMIN_KEY, body?: unknown) => {
      const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
      const request = new Request(`http://gateway.test${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return (await worker.fetch(request, { ...env, DB: db } as Env, createExecutionContext())).status;
    };
    for (const path of ["/api/organizations", "/api/model-groups", `/api/teams?organization_id=${team.organizationId}`, "/api/pricing"]) {
      expect(await send("GET", path), path).toBe(200);
    }
    expect(sessions).toEqual(Array(4).fill("first-unconstrained"));
    expect(await send("POST", "/api/organizations/create", ADMIN_KEY, { organization_id: `${team.organizationId}-2`, name: "x" })).toBe(
      200,
    );
    expect(await send("GET", `/api/teams/${team.teamId}`)).toBe(200);
    expect(sessions).toHaveLength(4);
  });
});
