import { exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { GatewayBinding } from "../client/src/index.js";
import { api, createGroup, createJob, createTeam, expectLedgerConsistent, json, llmCall, type TestTeam, userMessage } from "./helpers";

// A team's named keys: created, listed, changed, rotated and revoked by the admin; each decided by
// the team's object on the very next request, whichever door it comes through; a key narrowed to
// some groups; jobs and usage that say which key they were made with.

const rpc = (exports as unknown as { GatewayRpc: GatewayBinding }).GatewayRpc;

async function createKey(team: TestTeam, body: Record<string, unknown>) {
  return json("POST", `/api/teams/${team.teamId}/keys`, 200, { body });
}

async function keysOf(team: TestTeam, key?: string) {
  return (await json("GET", `/api/teams/${team.teamId}/keys`, 200, key ? { key } : {})).keys as any[];
}

/** The team as a key of it sees it: the same team, another key. */
const withKey = (team: TestTeam, key: string): TestTeam => ({ ...team, key });

function v1Chat(key: string, group: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  return api("POST", "/v1/chat/completions", { key, headers, body: { model: group, messages: userMessage(), ...extra } });
}

describe("keys: the team's first key and new ones", () => {
  it("a new team's key is its first key, named default, with the team's prefix and no budget", async () => {
    const team = await createTeam();
    const keys = await keysOf(team);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({
      name: "default",
      key_prefix: team.created.key_prefix,
      budget: null,
      model_groups: null,
      expires_at: null,
    });
    expect(JSON.stringify(keys)).not.toContain(team.key);
    // The team's own key may list its keys; never another team's.
    expect((await keysOf(team, team.key)).map((k) => k.name)).toEqual(["default"]);
    const other = await createTeam();
    expect((await api("GET", `/api/teams/${other.teamId}/keys`, { key: team.key })).status).toBe(403);
  });

  it("creates a key shown once, with its budget and groups; lists it without its secret; refuses a duplicate name", async () => {
    const team = await createTeam({ models: [["gpt-4o-mini"], ["gpt-4"]] });
    const created = await createKey(team, { name: "staging", budget: { credits: 50, period: "week" }, model_groups: [team.groups[0]] });
    expect(created.virtual_key).toMatch(/^sk-[0-9a-f]{64}$/);
    expect(created.key_prefix).toBe(created.virtual_key.slice(0, 11));
    expect(created).toMatchObject({ name: "staging", model_groups: [team.groups[0]] });
    expect(created.budget).toMatchObject({ credits: 50, period: "week", spent_credits: 0, held_credits: 0 });
    expect(new Date(created.budget.resets_at).getUTCDay()).toBe(1); // a Monday, 00:00 UTC
    const listed = await keysOf(team);
    expect(listed.map((k) => k.name)).toEqual(["default", "staging"]);
    expect(JSON.stringify(listed)).not.toContain(created.virtual_key);

    const duplicate = await api("POST", `/api/teams/${team.teamId}/keys`, { body: { name: "staging" } });
    expect(duplicate.status).toBe(400);
    expect((await duplicate.json<any>()).detail).toContain("already exists");
    const notTheTeams = await api("POST", `/api/teams/${team.teamId}/keys`, {
      body: { name: "x", model_groups: [await createGroup(["gpt-4"])] },
    });
    expect(notTheTeams.status).toBe(400);
    const bad = await api("POST", `/api/teams/${team.teamId}/keys`, { body: { name: "y", budget: { credits: 0, period: "hour" } } });
    expect(bad.status).toBe(422);
    // Keys are the admin's to make: a team key cannot.
    expect((await api("POST", `/api/teams/${team.teamId}/keys`, { key: team.key, body: { name: "z" } })).status).toBe(403);
    expect((await api("POST", "/api/teams/no-such-team/keys", { body: { name: "z" } })).status).toBe(404);
  });

  it("a key narrowed to some groups may use only those (403 otherwise); the team's other keys keep them all", async () => {
    const team = await createTeam({ models: [["gpt-4o-mini"], ["gpt-4"]] });
    const narrow = await createKey(team, { name: "contractor", model_groups: [team.groups[0]] });
    const job = await createJob(withKey(team, narrow.virtual_key));
    expect((await llmCall(withKey(team, narrow.virtual_key), job, team.groups[0])).status).toBe(200);
    const refused = await llmCall(withKey(team, narrow.virtual_key), job, team.groups[1]);
    expect(refused.status).toBe(403);
    expect((await refused.json<any>()).detail).toContain("not available to the key 'contractor'");
    const v1 = await v1Chat(narrow.virtual_key, team.groups[1]);
    expect(v1.status).toBe(404); // /v1 names a group the caller may not use model_not_found
    expect((await v1Chat(team.key, team.groups[1])).status).toBe(200);
    const listed = await json("GET", "/v1/models", 200, { key: narrow.virtual_key });
    expect(listed.data.map((m: any) => m.id)).toEqual([team.groups[0]]);
    expect((await json("GET", "/v1/models", 200, { key: team.key })).data.map((m: any) => m.id).sort()).toEqual([...team.groups].sort());

    // Widened by PATCH, the next request may use the other group.
    const patched = await json("PATCH", `/api/teams/${team.teamId}/keys/${narrow.key_id}`, 200, {
      body: { model_groups: null, name: "contractor-2" },
    });
    expect(patched).toMatchObject({ name: "contractor-2", model_groups: null });
    expect((await llmCall(withKey(team, narrow.virtual_key), job, team.groups[1])).status).toBe(200);
    await json("POST", `/api/jobs/${job}/complete`, 200, { key: narrow.virtual_key, body: { status: "completed" } });
    await expectLedgerConsistent(team);
  });

  it("a job's calls are made with the key that opened it", async () => {
    const team = await createTeam();
    const other = await createKey(team, { name: "other" });
    const job = await createJob(team);
    const refused = await llmCall(withKey(team, other.virtual_key), job);
    expect(refused.status).toBe(403);
    expect((await refused.json<any>()).detail).toContain("opened with another key");
    expect((await llmCall(team, job)).status).toBe(200);
  });
});

describe("keys: rotation and revocation take effect on the next request", () => {
  it("a revoked key is refused on the very next request through HTTP, /v1 and RPC; the team's other keys go on", async () => {
    const team = await createTeam();
    const doomed = await createKey(team, { name: "doomed" });
    const job = await createJob(withKey(team, doomed.virtual_key));
    // Each door works before...
    expect((await llmCall(withKey(team, doomed.virtual_key), job)).status).toBe(200);
    expect((await v1Chat(doomed.virtual_key, team.groups[0])).status).toBe(200);
    expect((await rpc.balance(doomed.virtual_key, team.teamId)).ok).toBe(true);

    const revoked = await json("DELETE", `/api/teams/${team.teamId}/keys/${doomed.key_id}`, 200);
    expect(revoked.message).toContain("doomed");
    // ...and each refuses the very next request.
    expect((await llmCall(withKey(team, doomed.virtual_key), job)).status).toBe(401);
    expect((await api("POST", "/api/jobs/create", { key: doomed.virtual_key, body: { team_id: team.teamId, job_type: "t" } })).status).toBe(
      401,
    );
    expect((await v1Chat(doomed.virtual_key, team.groups[0])).status).toBe(401);
    expect(await rpc.balance(doomed.virtual_key, team.teamId)).toMatchObject({ ok: false, status: 401 });
    expect(await rpc.createJob(doomed.virtual_key, { team_id: team.teamId, job_type: "t" })).toMatchObject({ ok: false, status: 401 });

    expect((await v1Chat(team.key, team.groups[0])).status).toBe(200);
    expect((await keysOf(team)).map((k) => k.name)).toEqual(["default"]);
    // Revoking again answers the same; an unknown key is 404.
    await json("DELETE", `/api/teams/${team.teamId}/keys/${doomed.key_id}`, 200);
    expect((await api("DELETE", `/api/teams/${team.teamId}/keys/${crypto.randomUUID()}`)).status).toBe(404);
  });

  it("a rotated key keeps its id, name and budget; its old secret stops at once, or after grace_seconds", async () => {
    const team = await createTeam();
    const key = await createKey(team, { name: "prod", budget: { credits: 10, period: "day" } });
    await createJob(withKey(team, key.virtual_key));
    const rotated = await json("POST", `/api/teams/${team.teamId}/keys/${key.key_id}/rotate`, 200, { body: {} });
    expect(rotated).toMatchObject({ key_id: key.key_id, previous_secrets_valid_until: null });
    expect(rotated.virtual_key).not.toBe(key.virtual_key);
    expect((await api("POST", "/api/jobs/create", { key: key.virtual_key, body: { team_id: team.teamId, job_type: "t" } })).status).toBe(
      401,
    );
    await createJob(withKey(team, rotated.virtual_key));
    const [, prod] = await keysOf(team);
    expect(prod).toMatchObject({ key_id: key.key_id, name: "prod", key_prefix: rotated.key_prefix });
    expect(prod.budget.held_credits).toBe(2); // both jobs, across the rotation

    const graced = await json("POST", `/api/teams/${team.teamId}/keys/${key.key_id}/rotate`, 200, { body: { grace_seconds: 600 } });
    expect(Date.parse(graced.previous_secrets_valid_until)).toBeGreaterThan(Date.now() + 590_000);
    await createJob(withKey(team, rotated.virtual_key));
    await createJob(withKey(team, graced.virtual_key));
    // The team's default key is untouched by rotating another.
    await createJob(team);
  });

  it("POST /keys/rotate rotates the team's default key, as before", async () => {
    const team = await createTeam();
    const other = await createKey(team, { name: "other" });
    const rotated = await json("POST", `/api/teams/${team.teamId}/keys/rotate`, 200, { body: {} });
    expect(rotated).toMatchObject({ team_id: team.teamId, previous_keys_valid_until: null });
    expect((await api("GET", `/api/credits/teams/${team.teamId}/balance`, { key: team.key })).status).toBe(401);
    expect((await api("GET", `/api/credits/teams/${team.teamId}/balance`, { key: rotated.virtual_key })).status).toBe(200);
    expect((await api("GET", `/api/credits/teams/${team.teamId}/balance`, { key: other.virtual_key })).status).toBe(200);
    const team2 = await json("GET", `/api/teams/${team.teamId}`, 200);
    expect(team2.key_prefix).toBe(rotated.key_prefix);
  });

  it("a key past its expires_at is refused on its next request; the team's other keys go on", async () => {
    const team = await createTeam();
    const soon = new Date(Date.now() + 60_000).toISOString();
    const key = await createKey(team, { name: "temp", expires_at: soon });
    expect(key.expires_at).toBe(soon);
    await createJob(withKey(team, key.virtual_key));
    // A controlled clock (Date in this isolate, where the objects run too) one second past the expiry.
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.parse(soon) + 1_000);
      const refused = await api("POST", "/api/jobs/create", { key: key.virtual_key, body: { team_id: team.teamId, job_type: "t" } });
      expect(refused.status).toBe(401);
      expect((await api("POST", "/api/jobs/create", { key: team.key, body: { team_id: team.teamId, job_type: "t" } })).status).toBe(200);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("keys: usage, jobs and calls say which key", () => {
  it("job and call views carry the key's id and name; usage totals per key with ?group_by=key, in JSON and CSV", async () => {
    const team = await createTeam({ credits: 50 });
    const batch = await createKey(team, { name: "batch" });
    const batchTeam = withKey(team, batch.virtual_key);
    for (const t of [team, batchTeam, batchTeam]) {
      const job = await createJob(t);
      expect((await llmCall(t, job)).status).toBe(200);
      await json("POST", `/api/jobs/${job}/complete`, 200, { key: t.key, body: { status: "completed" } });
    }
    const [defaultKey] = await keysOf(team);
    const jobs = (await json("GET", `/api/teams/${team.teamId}/jobs`, 200)).jobs;
    expect(jobs.map((j: any) => j.key_name).sort()).toEqual(["batch", "batch", "default"]);
    const batchJob = jobs.find((j: any) => j.key_name === "batch");
    expect(batchJob.key_id).toBe(batch.key_id);
    const view = await json("GET", `/api/jobs/${batchJob.job_id}`, 200, { key: batch.virtual_key });
    expect(view).toMatchObject({ key_id: batch.key_id, key_name: "batch" });
    expect(view.calls[0]).toMatchObject({ key_id: batch.key_id, key_name: "batch" });
    const costs = await json("GET", `/api/jobs/${batchJob.job_id}/costs`, 200, { key: batch.virtual_key });
    expect(costs.calls[0]).toMatchObject({ key_id: batch.key_id, key_name: "batch" });

    const usage = await json("GET", `/api/teams/${team.teamId}/usage?group_by=key`, 200, { key: team.key });
    expect(usage.keys[batch.key_id]).toMatchObject({ name: "batch", jobs: 2, completed: 2, calls: 2, credits_charged: 2 });
    expect(usage.keys[defaultKey.key_id]).toMatchObject({ name: "default", jobs: 1, credits_charged: 1 });
    expect(usage.summary.credits_charged).toBe(3);
    expect((await json("GET", `/api/teams/${team.teamId}/usage`, 200)).keys).toBeUndefined();

    const csv = await api("GET", `/api/teams/${team.teamId}/usage?group_by=key&format=csv`, { key: team.key });
    const lines = (await csv.text()).trim().split("\r\n");
    expect(lines[0]).toBe(
      "period,team_id,key_id,key_name,jobs,completed,failed,cancelled,expired,calls,credits_charged,prompt_tokens,completion_tokens,total_tokens,client_cost_usd,cache_hits,cache_saved_usd",
    );
    expect(lines.slice(1).find((l) => l.includes(batch.key_id))).toContain(`,${batch.key_id},batch,2,2,0,0,0,2,2,`);
    expect((await api("GET", `/api/teams/${team.teamId}/usage?group_by=tagz`)).status).toBe(422);

    // A renamed key is named by its new name everywhere.
    await json("PATCH", `/api/teams/${team.teamId}/keys/${batch.key_id}`, 200, { body: { name: "nightly" } });
    expect((await json("GET", `/api/jobs/${batchJob.job_id}`, 200, { key: batch.virtual_key })).key_name).toBe("nightly");
    await expectLedgerConsistent(team);
  });
});
