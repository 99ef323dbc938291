import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { ADMIN_KEY, api, createGroup, json, uid, userMessage } from "./helpers";
import { gatewayWith } from "./worker-harness";

// Where a team's object lives. An organization's placement (a location hint, a jurisdiction) is
// given to each team created in it, for good; the jurisdiction is part of the object's address,
// so every request for the team reaches it in that jurisdiction's namespace. Local workerd
// implements no jurisdiction, so these tests give the Worker a stand-in namespace that records
// how each object was addressed (and keeps a jurisdiction's objects apart from the default
// namespace's, under the names EMULATE_JURISDICTIONS gives them), with emulation off: the
// Worker then takes the production path, `TEAM_LEDGER.jurisdiction(j).getByName(team)`.

interface Addressed {
  jurisdiction: string | null;
  name: string;
  locationHint: string | undefined;
}

function recordingNamespace() {
  const addressed: Addressed[] = [];
  const inJurisdiction = (jurisdiction: string | null) => ({
    getByName(name: string, options?: { locationHint?: string }) {
      addressed.push({ jurisdiction, name, locationHint: options?.locationHint });
      return env.TEAM_LEDGER.getByName(jurisdiction === null ? name : `${jurisdiction}:${name}`);
    },
  });
  const namespace = { ...inJurisdiction(null), jurisdiction: (j: string) => inJurisdiction(j) };
  return { namespace: namespace as unknown as Env["TEAM_LEDGER"], addressed };
}

/** The Worker as deployed (no emulation), its team objects reached through the recording stand-in. */
function placedGateway() {
  const { namespace, addressed } = recordingNamespace();
  return { ...gatewayWith({ TEAM_LEDGER: namespace, EMULATE_JURISDICTIONS: "false" }), addressed };
}

async function orgWith(placement?: Record<string, unknown>) {
  const id = uid("org");
  const org = await json("POST", "/api/organizations/create", 200, { body: { organization_id: id, name: id, placement } });
  return { id, org };
}

describe("a team in jurisdiction eu is addressed in the EU namespace", () => {
  it("created there near its hint, and every request of it (key, admin, calls, streams) reaches the EU object", async () => {
    const { id: organizationId, org } = await orgWith({ jurisdiction: "eu", location_hint: "weur" });
    expect(org.placement).toEqual({ jurisdiction: "eu", location_hint: "weur" });
    const group = await createGroup(["gpt-4o-mini"]);
    const gw = placedGateway();
    const teamId = uid("team");
    const created = await gw.send("POST", "/api/teams/create", ADMIN_KEY, {
      organization_id: organizationId,
      team_id: teamId,
      model_groups: [group],
      credits_allocated: 20,
    });
    expect(created.status, created.text).toBe(200);
    expect(created.body.placement).toEqual({ jurisdiction: "eu", location_hint: "weur" });
    // The object is created in the EU namespace, near western Europe.
    expect(gw.addressed[0]).toEqual({ jurisdiction: "eu", name: teamId, locationHint: "weur" });

    const key = created.body.virtual_key;
    const job = await gw.send("POST", "/api/jobs/create", key, { job_type: "placed" });
    expect(job.status, job.text).toBe(200);
    const jobId = job.body.job_id;
    const call = { model_group: group, messages: userMessage() };
    expect((await gw.send("POST", `/api/jobs/${jobId}/llm-call`, key, call)).status).toBe(200);
    const streamed = await gw.send("POST", `/api/jobs/${jobId}/llm-call-stream`, key, call);
    expect(streamed.text.trimEnd().endsWith("data: [DONE]")).toBe(true);
    expect((await gw.send("POST", `/api/jobs/${jobId}/complete`, key, { status: "completed" })).status).toBe(200);
    const oneShot = await gw.send("POST", "/api/jobs/create-and-call", key, { team_id: teamId, job_type: "placed", ...call });
    expect(oneShot.status, oneShot.text).toBe(200);
    const byAdmin = await gw.send("GET", `/api/credits/teams/${teamId}/balance`, ADMIN_KEY);
    expect(byAdmin.body.credits_remaining).toBe(18);

    const forTeam = gw.addressed.filter((a) => a.name === teamId);
    expect(forTeam.length).toBeGreaterThan(8);
    expect(forTeam.every((a) => a.jurisdiction === "eu")).toBe(true);
    // The default namespace has no object for the team: the same id there is another, empty object.
    const elsewhere = await env.TEAM_LEDGER.getByName(teamId).getBalance({ kind: "admin" });
    expect(elsewhere).toMatchObject({ ok: false, code: "ACCOUNT_NOT_FOUND" });
    const inEu = await env.TEAM_LEDGER.getByName(`eu:${teamId}`).getBalance({ kind: "admin" });
    expect(inEu).toMatchObject({ ok: true, value: { credits_remaining: 18 } });
  });

  it("a warm team key finds its team's jurisdiction without D1", async () => {
    const { id: organizationId } = await orgWith({ jurisdiction: "eu" });
    const group = await createGroup(["gpt-4o-mini"]);
    const gw = placedGateway();
    const created = await gw.send("POST", "/api/teams/create", ADMIN_KEY, {
      organization_id: organizationId,
      team_id: uid("team"),
      model_groups: [group],
      credits_allocated: 5,
    });
    const key = created.body.virtual_key;
    const job = await gw.send("POST", "/api/jobs/create", key, { job_type: "warm" });
    gw.counter.statements = 0;
    gw.addressed.length = 0;
    const called = await gw.send("POST", `/api/jobs/${job.body.job_id}/llm-call`, key, { model_group: group, messages: userMessage() });
    expect(called.status, called.text).toBe(200);
    expect(gw.counter.statements).toBe(0);
    expect(gw.addressed.map((a) => a.jurisdiction)).toEqual(["eu", "eu"]);
  });
});

describe("a team in jurisdiction eu keeps its cached answers in the EU namespace", () => {
  it("its group's response cache keeps and finds its answers in the EU object of the scope, never the default one", async () => {
    const { id: organizationId } = await orgWith({ jurisdiction: "eu" });
    const group = uid("cached");
    await json("POST", "/api/model-groups/create", 200, {
      body: { group_name: group, models: [{ model_name: "gpt-4o-mini", priority: 0 }], cache: { ttl_seconds: 600, hit_price_percent: 10 } },
    });
    // The test pool emulates jurisdictions: the EU object of scope `team:<id>` is named `eu:team:<id>`.
    const teamId = uid("team");
    const created = await json("POST", "/api/teams/create", 200, {
      body: { organization_id: organizationId, team_id: teamId, model_groups: [group], credits_allocated: 20 },
    });
    const call = { model_group: group, messages: userMessage() };
    const job = await json("POST", "/api/jobs/create", 200, { key: created.virtual_key, body: { job_type: "cached" } });
    const miss = await api("POST", `/api/jobs/${job.job_id}/llm-call`, { key: created.virtual_key, body: call });
    expect(miss.headers.get("x-gateway-cache")).toBe("MISS");
    const count = (name: string) =>
      runInDurableObject(
        env.ANSWER_CACHE.getByName(name),
        (_o, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM answers").one().n,
      );
    await vi.waitFor(async () => expect(await count(`eu:team:${teamId}`)).toBe(1), { timeout: 5_000, interval: 25 });
    const hit = await api("POST", `/api/jobs/${job.job_id}/llm-call`, { key: created.virtual_key, body: call });
    expect(hit.headers.get("x-gateway-cache")).toBe("HIT");
    expect(await count(`team:${teamId}`)).toBe(0);
  });
});

describe("a team keeps the placement it was created with", () => {
  it("a placement changed later places the organization's new teams; its existing teams stay where they are", async () => {
    const { id: organizationId } = await orgWith();
    const group = await createGroup(["gpt-4o-mini"]);
    const gw = placedGateway();
    const create = (teamId: string) =>
      gw.send("POST", "/api/teams/create", ADMIN_KEY, { organization_id: organizationId, team_id: teamId, model_groups: [group] });
    const before = uid("team");
    expect((await create(before)).body.placement).toEqual({ jurisdiction: null, location_hint: null });

    const patched = await json("PATCH", `/api/organizations/${organizationId}`, 200, {
      body: { placement: { jurisdiction: "eu", location_hint: "eeur" } },
    });
    expect(patched.placement).toEqual({ jurisdiction: "eu", location_hint: "eeur" });
    const after = uid("team");
    expect((await create(after)).body.placement).toEqual({ jurisdiction: "eu", location_hint: "eeur" });

    gw.addressed.length = 0;
    for (const teamId of [before, after]) {
      const team = await gw.send("GET", `/api/teams/${teamId}`, ADMIN_KEY);
      expect(team.status, team.text).toBe(200);
    }
    // Each is asked twice (its balance and its budget policy), each time where it was created.
    expect(gw.addressed).toEqual([
      { jurisdiction: null, name: before, locationHint: undefined },
      { jurisdiction: null, name: before, locationHint: undefined },
      { jurisdiction: "eu", name: after, locationHint: undefined },
      { jurisdiction: "eu", name: after, locationHint: undefined },
    ]);
    const listed = await json("GET", `/api/teams?organization_id=${organizationId}`, 200);
    expect(Object.fromEntries(listed.teams.map((t: any) => [t.team_id, t.placement.jurisdiction]))).toEqual({
      [before]: null,
      [after]: "eu",
    });
  });

  it("a placement outside Cloudflare's hints and jurisdictions is 422", async () => {
    const { id } = await orgWith();
    await json("PATCH", `/api/organizations/${id}`, 422, { body: { placement: { jurisdiction: "mars" } } });
    await json("POST", "/api/organizations/create", 422, {
      body: { organization_id: uid("org"), name: "x", placement: { location_hint: "antarctica" } },
    });
  });
});

describe("a jurisdiction the runtime cannot honour", () => {
  it("is never replaced by the default namespace: the team is not created (503) and nothing of it is left", async () => {
    // Local workerd throws on TEAM_LEDGER.jurisdiction(); deployed, it is real.
    const { id: organizationId } = await orgWith({ jurisdiction: "eu" });
    const group = await createGroup(["gpt-4o-mini"]);
    const gw = gatewayWith({ EMULATE_JURISDICTIONS: "false" });
    const teamId = uid("team");
    const refused = await gw.send("POST", "/api/teams/create", ADMIN_KEY, {
      organization_id: organizationId,
      team_id: teamId,
      model_groups: [group],
    });
    expect(refused.status, refused.text).toBe(503);
    await json("GET", `/api/teams/${teamId}`, 404);
    expect(await env.TEAM_LEDGER.getByName(teamId).getBalance({ kind: "admin" })).toMatchObject({ code: "ACCOUNT_NOT_FOUND" });
  });
});
