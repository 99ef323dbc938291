import { env } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import {
  api,
  balance,
  createGroup,
  createJob,
  createOrg,
  createTeam,
  json,
  llmCall,
  type TestTeam,
  uid,
  upstreamRequests,
  userMessage,
} from "./helpers";

const mockUrl = inject("mockLiteLLMUrl");
/** KEY_PEPPER from vitest.config.ts TEST_SECRETS (that file cannot be imported inside workerd). */
const TEST_PEPPER = "pepper-test-5b8e2d1c9f7a4e3b";

async function hmacHex(pepper: string, message: string): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", encoder.encode(pepper), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(message));
  return Array.from(new Uint8Array(mac), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Status and detail of a response, with one id replaced, so two answers can be compared. */
async function answer(res: Response, id: string): Promise<{ status: number; detail: string }> {
  const body = (await res.json()) as { detail: string };
  return { status: res.status, detail: JSON.stringify(body.detail).replaceAll(id, "<job>") };
}

/** B has a job with a call in it; A is an unrelated team. */
async function twoTeams(): Promise<{ a: TestTeam; b: TestTeam; bJob: string }> {
  const a = await createTeam({ credits: 10 });
  const b = await createTeam({ credits: 10 });
  const bJob = await createJob(b);
  expect((await llmCall(b, bJob)).status).toBe(200);
  return { a, b, bJob };
}

describe("team isolation", () => {
  it("team A gets 404 on team B's job (get, call, complete), exactly as for a job that does not exist", async () => {
    const { a, b, bJob } = await twoTeams();
    const random = crypto.randomUUID();
    const asA = {
      get: (id: string) => api("GET", `/api/jobs/${id}`, { key: a.key }),
      call: (id: string) => llmCall(a, id),
      complete: (id: string) => api("POST", `/api/jobs/${id}/complete`, { key: a.key, body: { status: "cancelled" } }),
    };
    for (const [name, send] of Object.entries(asA)) {
      const theirs = await answer(await send(bJob), bJob);
      const nobody = await answer(await send(random), random);
      expect(theirs.status, name).toBe(404);
      expect(theirs, name).toEqual(nobody);
    }
    // B's job is untouched: still open, one call, nothing forwarded for A.
    const job = await json("GET", `/api/jobs/${bJob}`, 200, { key: b.key });
    expect(job.status).toBe("in_progress");
    expect(job.calls).toHaveLength(1);
    expect(await upstreamRequests(mockUrl, a.teamId)).toEqual([]);
    expect(await balance(b)).toMatchObject({ credits_remaining: 10, credits_reserved: 1 });
    expect(await balance(a)).toMatchObject({ credits_remaining: 10, credits_reserved: 0 });
  });

  it("team A gets 403 on team B's balance, transactions, job list and usage", async () => {
    const { a, b } = await twoTeams();
    for (const path of [
      `/api/credits/teams/${b.teamId}/balance`,
      `/api/credits/teams/${b.teamId}/transactions`,
      `/api/teams/${b.teamId}/jobs`,
      `/api/teams/${b.teamId}/usage`,
    ]) {
      const res = await api("GET", path, { key: a.key });
      const text = await res.text();
      expect(res.status, path).toBe(403);
      expect(typeof JSON.parse(text).detail, path).toBe("string");
      expect(text, path).not.toMatch(/credits_|transaction_id|job_id/);
    }
    // The same reads of an unknown team are 403 as well, so a team cannot probe which teams exist.
    expect((await api("GET", `/api/credits/teams/${uid("nope")}/balance`, { key: a.key })).status).toBe(403);
  });

  it("team A cannot use team B's model group", async () => {
    const { a, b } = await twoTeams();
    const aJob = await createJob(a);
    const res = await llmCall(a, aJob, b.groups[0]);
    expect(res.status).toBe(403);
    expect(await upstreamRequests(mockUrl, a.teamId)).toEqual([]);
  });

  it("a team key gets 403 on every admin route, and nothing changes", async () => {
    const team = await createTeam({ credits: 10 });
    const other = await createTeam({ credits: 10 });
    const org = team.organizationId;
    const group = team.groups[0];
    const models = [{ model_name: "gpt-4o-mini" }];
    const routes: Array<[string, string, unknown?]> = [
      ["POST", "/api/organizations/create", { organization_id: uid("org"), name: "x" }],
      ["GET", "/api/organizations"],
      ["GET", `/api/organizations/${org}`],
      ["POST", "/api/model-groups/create", { group_name: uid("g"), models }],
      ["GET", "/api/model-groups"],
      ["GET", `/api/model-groups/${group}`],
      ["PUT", `/api/model-groups/${group}/models`, models],
      ["DELETE", `/api/model-groups/${group}`],
      ["POST", "/api/teams/create", { organization_id: org, team_id: uid("t"), credits_allocated: 1000 }],
      ["GET", "/api/teams"],
      ["GET", `/api/teams/${team.teamId}`],
      ["GET", `/api/teams/${other.teamId}`],
      ["PUT", `/api/teams/${team.teamId}/model-groups`, [group]],
      ["PATCH", `/api/teams/${team.teamId}`, { team_alias: "hijacked" }],
      ["PUT", `/api/teams/${team.teamId}/suspend`],
      ["PUT", `/api/teams/${team.teamId}/pause`],
      ["PUT", `/api/teams/${team.teamId}/resume`],
      ["POST", `/api/teams/${team.teamId}/keys/rotate`, {}],
      ["POST", `/api/teams/${other.teamId}/keys/rotate`, {}],
      ["DELETE", `/api/teams/${other.teamId}`],
      ["DELETE", `/api/teams/${team.teamId}`],
      ["POST", `/api/credits/teams/${team.teamId}/add`, { credits: 1000 }],
      ["PATCH", `/api/credits/teams/${team.teamId}/budget-mode`, { budget_mode: "consumption_usd" }],
      ["POST", `/api/credits/teams/${team.teamId}/refund`, { job_id: crypto.randomUUID(), reason: "x" }],
      ["GET", "/api/pricing"],
      ["PUT", "/api/pricing", { model_name: "gpt-4o-mini", input_per_million_usd: 0, output_per_million_usd: 0 }],
      ["DELETE", "/api/pricing/gpt-4o-mini"],
    ];
    for (const [method, path, body] of routes) {
      const res = await api(method, path, { key: team.key, body });
      const text = await res.text();
      expect(res.status, `${method} ${path}: ${text}`).toBe(403);
      expect(typeof JSON.parse(text).detail).toBe("string");
    }
    // Nothing happened: both teams still work with their keys, unchanged.
    expect(await balance(team)).toMatchObject({ credits_allocated: 10, status: "active", budget_mode: "job_based" });
    expect(await balance(other)).toMatchObject({ credits_allocated: 10, status: "active" });
    const got = await json("GET", `/api/teams/${team.teamId}`, 200);
    expect(got.team_alias).toBeNull();
    expect(got.model_groups).toEqual([group]);
    await json("GET", `/api/model-groups/${group}`, 200);
  });

  it("the admin key on a team-only route is refused, not treated as a team", async () => {
    const team = await createTeam();
    const res = await api("POST", "/api/jobs/create", { body: { team_id: team.teamId, job_type: "x" } });
    expect(res.status).toBe(403);
    expect((await balance(team)).credits_reserved).toBe(0);
  });
});

describe("virtual keys at rest", () => {
  it("a key is stored only as HMAC-SHA-256(KEY_PEPPER, key): no column holds it", async () => {
    const team = await createTeam();
    const rows = (await env.DB.prepare("SELECT * FROM api_keys WHERE team_id = ?").bind(team.teamId).all()).results;
    expect(rows).toHaveLength(1);
    const row = rows[0] as Record<string, unknown>;
    const secretPart = team.key.slice(3);
    for (const [column, value] of Object.entries(row)) {
      const text = String(value);
      expect(text, column).not.toContain(team.key);
      expect(text, column).not.toContain(secretPart);
      expect(text, column).not.toContain(secretPart.slice(0, 32));
      expect(text, column).not.toContain(secretPart.slice(32));
    }
    expect(row.key_hash).toBe(await hmacHex(TEST_PEPPER, team.key));
    // Keyed: a bare SHA-256 of the key is not what is stored.
    const bare = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(team.key))), (b) =>
      b.toString(16).padStart(2, "0"),
    ).join("");
    expect(row.key_hash).not.toBe(bare);
    expect(team.created.key_prefix).toBe(row.key_prefix);
  });

  it("no other D1 table holds the key either", async () => {
    const team = await createTeam();
    const tables = (
      await env.DB.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'",
      ).all<{ name: string }>()
    ).results;
    expect(tables.length).toBeGreaterThan(3);
    for (const { name } of tables) {
      const rows = (await env.DB.prepare(`SELECT * FROM "${name}"`).all()).results;
      expect(JSON.stringify(rows), name).not.toContain(team.key.slice(3, 35));
    }
  });

  it("a rotated key is stored as its keyed hash too, and the old hash no longer admits", async () => {
    const team = await createTeam();
    const rotated = await json("POST", `/api/teams/${team.teamId}/keys/rotate`, 200, { body: {} });
    const rows = (await env.DB.prepare("SELECT key_hash FROM api_keys WHERE team_id = ?").bind(team.teamId).all<{ key_hash: string }>())
      .results;
    expect(rows.map((r) => r.key_hash)).toContain(await hmacHex(TEST_PEPPER, rotated.virtual_key));
    expect(JSON.stringify(rows)).not.toContain(rotated.virtual_key.slice(3));
    expect((await api("GET", `/api/credits/teams/${team.teamId}/balance`, { key: team.key })).status).toBe(401);
  });

  it("the key never appears in any response after creation", async () => {
    const org = await createOrg();
    const group = await createGroup(["gpt-4o-mini"]);
    const teamId = uid("team");
    const created = await json("POST", "/api/teams/create", 200, {
      body: { organization_id: org, team_id: teamId, model_groups: [group], credits_allocated: 5 },
    });
    const key: string = created.virtual_key;
    const responses: Response[] = [];
    const send = async (method: string, path: string, options: Parameters<typeof api>[2] = {}) => {
      const res = await api(method, path, options);
      responses.push(res);
      return res;
    };
    const job = (await (await send("POST", "/api/jobs/create", { key, body: { team_id: teamId, job_type: "x" } })).clone().json()) as any;
    await send("POST", `/api/jobs/${job.job_id}/llm-call`, { key, body: { model_group: group, messages: userMessage() } });
    await send("POST", `/api/jobs/${job.job_id}/llm-call`, { key, body: { model_group: uid("nope"), messages: userMessage() } });
    await send("GET", `/api/jobs/${job.job_id}`, { key });
    await send("POST", `/api/jobs/${job.job_id}/complete`, { key, body: { status: "completed" } });
    await send("GET", `/api/credits/teams/${teamId}/balance`, { key });
    await send("GET", `/api/credits/teams/${teamId}/transactions`, { key });
    await send("GET", `/api/teams/${teamId}/jobs`, { key });
    await send("GET", `/api/teams/${teamId}/usage`, { key });
    await send("GET", `/api/teams/${teamId}`);
    await send("GET", `/api/teams?organization_id=${org}`);
    await send("PATCH", `/api/teams/${teamId}`, { body: { team_alias: "x" } });
    await send("PUT", `/api/teams/${teamId}/suspend`);
    await send("GET", `/api/credits/teams/${teamId}/balance`, { key });
    await send("PUT", `/api/teams/${teamId}/resume`);
    await send("GET", "/api/organizations");
    await send("GET", "/openapi.json", { key: null });
    // Errors that concern the key itself.
    await send("GET", "/api/organizations", { key });
    await send("GET", `/api/credits/teams/${teamId}/balance`, { key: `${key}x` });
    await send("GET", `/api/credits/teams/${teamId}/balance`, { key: null, headers: { authorization: `Token ${key}` } });
    await send("GET", "/api/organizations", { key: null, headers: { "x-admin-key": key } });

    expect(responses.length).toBeGreaterThan(15);
    for (const res of responses) {
      const text = await res.text();
      expect(text, `${res.status} ${text.slice(0, 200)}`).not.toContain(key.slice(3, 35));
      for (const [name, value] of res.headers) expect(value, name).not.toContain(key.slice(3, 35));
    }
  });
});
