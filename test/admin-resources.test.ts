import { describe, expect, inject, it } from "vitest";
import { ADMIN_KEY, api, balance, createGroup, createJob, createOrg, createTeam, json, llmCall, uid, upstreamRequests } from "./helpers";

const mockUrl = inject("mockLiteLLMUrl");
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** Every row of a paginated admin listing, following has_more. */
async function listAll(path: string, field: string): Promise<any[]> {
  const rows: any[] = [];
  const sep = path.includes("?") ? "&" : "?";
  for (let offset = 0; ; offset += 200) {
    const page = await json("GET", `${path}${sep}limit=200&offset=${offset}`, 200);
    rows.push(...page[field]);
    if (!page.has_more) return rows;
  }
}

/** A 422 body in FastAPI's shape: detail is a non-empty list of {loc, msg, type}. */
function expectValidationBody(body: any, loc: Array<string | number>) {
  expect(Array.isArray(body.detail)).toBe(true);
  expect(body.detail.length).toBeGreaterThan(0);
  for (const issue of body.detail) {
    expect(Object.keys(issue).sort()).toEqual(["loc", "msg", "type"]);
    expect(Array.isArray(issue.loc)).toBe(true);
    expect(typeof issue.msg).toBe("string");
    expect(issue.msg.length).toBeGreaterThan(0);
    expect(typeof issue.type).toBe("string");
  }
  expect(body.detail.map((d: any) => d.loc)).toContainEqual(loc);
}

describe("organizations", () => {
  it("an organization is created, read back and listed with the same fields", async () => {
    const id = uid("org");
    const created = await json("POST", "/api/organizations/create", 200, {
      body: { organization_id: id, name: "Acme Corp", metadata: { industry: "retail" } },
    });
    expect(created).toMatchObject({ organization_id: id, name: "Acme Corp", status: "active", metadata: { industry: "retail" } });
    expect(created.created_at).toMatch(ISO_UTC);
    expect(created.updated_at).toMatch(ISO_UTC);

    expect(await json("GET", `/api/organizations/${id}`, 200)).toEqual(created);
    const listed = await listAll("/api/organizations", "organizations");
    expect(listed.filter((o) => o.organization_id === id)).toEqual([created]);
  });

  it("the organization list pages with limit and offset", async () => {
    await createOrg();
    await createOrg();
    const first = await json("GET", "/api/organizations?limit=1&offset=0", 200);
    const second = await json("GET", "/api/organizations?limit=1&offset=1", 200);
    expect(first.organizations).toHaveLength(1);
    expect(first.has_more).toBe(true);
    expect(second.organizations).toHaveLength(1);
    expect(second.organizations[0].organization_id).not.toBe(first.organizations[0].organization_id);
  });

  it("a duplicate organization is 400 with a string detail containing 'already exists'", async () => {
    const id = await createOrg();
    const body = await json("POST", "/api/organizations/create", 400, { body: { organization_id: id, name: "Again" } });
    expect(typeof body.detail).toBe("string");
    expect(body.detail).toContain("already exists");
    expect(body.detail).toContain(id);
    // The original is untouched.
    expect((await json("GET", `/api/organizations/${id}`, 200)).name).toBe(`Org ${id}`);
  });

  it("an unknown organization is 404 with a string detail", async () => {
    const body = await json("GET", `/api/organizations/${uid("nope")}`, 404);
    expect(typeof body.detail).toBe("string");
  });

  it("invalid input is 422 with detail a list of {loc, msg, type}, and nothing is created", async () => {
    const id = uid("org");
    const missingName = await json("POST", "/api/organizations/create", 422, { body: { organization_id: id } });
    expectValidationBody(missingName, ["body", "name"]);
    await json("GET", `/api/organizations/${id}`, 404);

    const badId = await json("POST", "/api/organizations/create", 422, { body: { organization_id: "has space/slash", name: "x" } });
    expectValidationBody(badId, ["body", "organization_id"]);

    const tooLong = await json("POST", "/api/organizations/create", 422, { body: { organization_id: "a".repeat(129), name: "x" } });
    expectValidationBody(tooLong, ["body", "organization_id"]);

    const notJson = await json("POST", "/api/organizations/create", 422, {
      rawBody: "{not json",
      headers: { "content-type": "application/json" },
    });
    expect(Array.isArray(notJson.detail)).toBe(true);

    const badPaging = await json("GET", "/api/organizations?limit=0", 422);
    expectValidationBody(badPaging, ["query", "limit"]);
  });

  it("unknown body fields are ignored", async () => {
    const id = uid("org");
    const created = await json("POST", "/api/organizations/create", 200, { body: { organization_id: id, name: "N", surprise: 1 } });
    expect(created).not.toHaveProperty("surprise");
  });
});

describe("model groups", () => {
  it("a group's models come back sorted by priority, on create, get and list", async () => {
    const name = uid("group");
    const created = await json("POST", "/api/model-groups/create", 200, {
      body: {
        group_name: name,
        display_name: "Fast",
        description: "cheap models",
        models: [
          { model_name: "gpt-4", priority: 2 },
          { model_name: "gpt-4o-mini", priority: 0 },
          { model_name: "gpt-3.5-turbo", priority: 1 },
        ],
      },
    });
    const sorted = [
      { model_name: "gpt-4o-mini", priority: 0 },
      { model_name: "gpt-3.5-turbo", priority: 1 },
      { model_name: "gpt-4", priority: 2 },
    ];
    expect(created).toMatchObject({
      group_name: name,
      display_name: "Fast",
      description: "cheap models",
      status: "active",
      models: sorted,
    });
    expect(created.created_at).toMatch(ISO_UTC);

    const got = await json("GET", `/api/model-groups/${name}`, 200);
    expect(got.models).toEqual(sorted);
    const listed = await listAll("/api/model-groups", "model_groups");
    expect(listed.find((g) => g.group_name === name)?.models).toEqual(sorted);
  });

  it("a duplicate group is 400 'already exists' and keeps the original models", async () => {
    const name = await createGroup(["gpt-4o-mini"]);
    const body = await json("POST", "/api/model-groups/create", 400, { body: { group_name: name, models: [{ model_name: "gpt-4" }] } });
    expect(typeof body.detail).toBe("string");
    expect(body.detail).toContain("already exists");
    expect((await json("GET", `/api/model-groups/${name}`, 200)).models).toEqual([{ model_name: "gpt-4o-mini", priority: 0 }]);
  });

  it("invalid groups are 422: no models, a model twice, a negative priority", async () => {
    expectValidationBody(await json("POST", "/api/model-groups/create", 422, { body: { group_name: uid("g"), models: [] } }), [
      "body",
      "models",
    ]);
    expectValidationBody(
      await json("POST", "/api/model-groups/create", 422, {
        body: { group_name: uid("g"), models: [{ model_name: "gpt-4" }, { model_name: "gpt-4", priority: 1 }] },
      }),
      ["body", "models"],
    );
    expectValidationBody(
      await json("POST", "/api/model-groups/create", 422, {
        body: { group_name: uid("g"), models: [{ model_name: "gpt-4", priority: -1 }] },
      }),
      ["body", "models", 0, "priority"],
    );
  });

  it("PUT models replaces the list, as a bare array or as {models}", async () => {
    const name = await createGroup(["gpt-4o-mini"]);
    const bare = await json("PUT", `/api/model-groups/${name}/models`, 200, {
      body: [
        { model_name: "gpt-4-turbo", priority: 1 },
        { model_name: "gpt-4", priority: 0 },
      ],
    });
    expect(bare.models).toEqual([
      { model_name: "gpt-4", priority: 0 },
      { model_name: "gpt-4-turbo", priority: 1 },
    ]);
    const wrapped = await json("PUT", `/api/model-groups/${name}/models`, 200, { body: { models: [{ model_name: "gpt-3.5-turbo" }] } });
    expect(wrapped.models).toEqual([{ model_name: "gpt-3.5-turbo", priority: 0 }]);
    expect((await json("GET", `/api/model-groups/${name}`, 200)).models).toEqual([{ model_name: "gpt-3.5-turbo", priority: 0 }]);

    await json("PUT", `/api/model-groups/${uid("nope")}/models`, 404, { body: [{ model_name: "gpt-4" }] });
    expectValidationBody(await json("PUT", `/api/model-groups/${name}/models`, 422, { body: [] }), ["body"]);
  });

  it("after PUT models, a team's calls go to the new models", async () => {
    const team = await createTeam({ models: [["gpt-4o-mini"]] });
    await json("PUT", `/api/model-groups/${team.groups[0]}/models`, 200, { body: [{ model_name: "gpt-3.5-turbo" }] });
    const jobId = await createJob(team);
    const res = await llmCall(team, jobId);
    expect(res.status).toBe(200);
    const sent = await upstreamRequests(mockUrl, team.teamId);
    expect(sent.map((r) => r.body.model)).toEqual(["gpt-3.5-turbo"]);
  });

  it("DELETE removes a group; it is 404 afterwards", async () => {
    const name = await createGroup(["gpt-4o-mini"]);
    const deleted = await json("DELETE", `/api/model-groups/${name}`, 200);
    expect(deleted.group_name).toBe(name);
    await json("GET", `/api/model-groups/${name}`, 404);
    await json("DELETE", `/api/model-groups/${name}`, 404);
  });

  it("DELETE is 400 while a team uses the group, and works once no team does", async () => {
    const team = await createTeam();
    const name = team.groups[0];
    const refused = await json("DELETE", `/api/model-groups/${name}`, 400);
    expect(typeof refused.detail).toBe("string");
    expect((await json("GET", `/api/model-groups/${name}`, 200)).models).toHaveLength(1);
    // The team can still call through it.
    expect((await llmCall(team, await createJob(team))).status).toBe(200);

    await json("PUT", `/api/teams/${team.teamId}/model-groups`, 200, { body: [] });
    await json("DELETE", `/api/model-groups/${name}`, 200);
    await json("GET", `/api/model-groups/${name}`, 404);
  });

  it("an unknown group is 404", async () => {
    const body = await json("GET", `/api/model-groups/${uid("nope")}`, 404);
    expect(typeof body.detail).toBe("string");
  });
});

describe("teams", () => {
  it("create returns the virtual key once; GET shows only its prefix", async () => {
    const org = await createOrg();
    const group = await createGroup(["gpt-4o-mini"]);
    const teamId = uid("team");
    const created = await json("POST", "/api/teams/create", 200, {
      body: { organization_id: org, team_id: teamId, team_alias: "Support", model_groups: [group], credits_allocated: 100 },
    });
    expect(created).toMatchObject({
      team_id: teamId,
      organization_id: org,
      team_alias: "Support",
      model_groups: [group],
      credits_allocated: 100,
      credits_remaining: 100,
      status: "active",
    });
    expect(created.virtual_key).toMatch(/^sk-[0-9a-f]{64}$/);
    expect(created.key_prefix).toBe(created.virtual_key.slice(0, created.key_prefix.length));
    expect(created.key_prefix.length).toBeLessThan(20);
    expect(typeof created.message).toBe("string");

    const res = await api("GET", `/api/teams/${teamId}`);
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).not.toContain(created.virtual_key);
    expect(text).not.toContain(created.virtual_key.slice(3));
    const got = JSON.parse(text);
    expect(got).not.toHaveProperty("virtual_key");
    expect(got).toMatchObject({
      team_id: teamId,
      organization_id: org,
      key_prefix: created.key_prefix,
      credits_remaining: 100,
      model_groups: [group],
    });

    const listed = await listAll(`/api/teams?organization_id=${org}`, "teams");
    expect(JSON.stringify(listed)).not.toContain(created.virtual_key);
    expect(listed.map((t) => t.key_prefix)).toEqual([created.key_prefix]);
  });

  it("the team list filters by organization_id", async () => {
    const a = await createTeam();
    const orgB = await createOrg();
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const teamId = uid("team");
      await json("POST", "/api/teams/create", 200, { body: { organization_id: orgB, team_id: teamId } });
      ids.push(teamId);
    }
    const listedB = await listAll(`/api/teams?organization_id=${orgB}`, "teams");
    expect(listedB.map((t) => t.team_id).sort()).toEqual(ids.sort());
    expect(listedB.every((t) => t.organization_id === orgB)).toBe(true);
    const listedA = await listAll(`/api/teams?organization_id=${a.organizationId}`, "teams");
    expect(listedA.map((t) => t.team_id)).toEqual([a.teamId]);
    const all = await listAll("/api/teams", "teams");
    expect(all.map((t) => t.team_id)).toEqual(expect.arrayContaining([a.teamId, ...ids]));
  });

  it("create is 404 for an unknown organization or group, and leaves no team behind", async () => {
    const org = await createOrg();
    const group = await createGroup(["gpt-4o-mini"]);
    const t1 = uid("team");
    const noOrg = await json("POST", "/api/teams/create", 404, {
      body: { organization_id: uid("nope"), team_id: t1, model_groups: [group] },
    });
    expect(typeof noOrg.detail).toBe("string");
    await json("GET", `/api/teams/${t1}`, 404);
    const t2 = uid("team");
    const noGroup = await json("POST", "/api/teams/create", 404, {
      body: { organization_id: org, team_id: t2, model_groups: [group, uid("nope")] },
    });
    expect(typeof noGroup.detail).toBe("string");
    await json("GET", `/api/teams/${t2}`, 404);
  });

  it("a duplicate team is 400 'already exists'; the original keeps its key and balance", async () => {
    const team = await createTeam({ credits: 7 });
    const body = await json("POST", "/api/teams/create", 400, {
      body: { organization_id: team.organizationId, team_id: team.teamId, credits_allocated: 500 },
    });
    expect(typeof body.detail).toBe("string");
    expect(body.detail).toContain("already exists");
    const b = await balance(team);
    expect([b.credits_allocated, b.credits_remaining]).toEqual([7, 7]);
  });

  it("create validates its body (422)", async () => {
    const org = await createOrg();
    expectValidationBody(
      await json("POST", "/api/teams/create", 422, { body: { organization_id: org, team_id: uid("t"), credits_allocated: -5 } }),
      ["body", "credits_allocated"],
    );
    expectValidationBody(await json("POST", "/api/teams/create", 422, { body: { organization_id: org } }), ["body", "team_id"]);
    expectValidationBody(
      await json("POST", "/api/teams/create", 422, { body: { organization_id: org, team_id: uid("t"), budget_mode: "free_lunch" } }),
      ["body", "budget_mode"],
    );
  });

  it("PUT model-groups replaces the team's groups: the removed group is refused, the new one works", async () => {
    const team = await createTeam({ models: [["gpt-4o-mini"]] });
    const newGroup = await createGroup(["gpt-3.5-turbo"]);
    const updated = await json("PUT", `/api/teams/${team.teamId}/model-groups`, 200, { body: [newGroup] });
    expect(updated.model_groups).toEqual([newGroup]);
    expect((await json("GET", `/api/teams/${team.teamId}`, 200)).model_groups).toEqual([newGroup]);

    const jobId = await createJob(team);
    expect((await llmCall(team, jobId, team.groups[0])).status).toBe(403);
    expect((await llmCall(team, jobId, newGroup)).status).toBe(200);

    const wrapped = await json("PUT", `/api/teams/${team.teamId}/model-groups`, 200, {
      body: { model_groups: [team.groups[0], newGroup] },
    });
    expect(wrapped.model_groups).toEqual([team.groups[0], newGroup].sort());

    await json("PUT", `/api/teams/${team.teamId}/model-groups`, 404, { body: [uid("nope")] });
    expect((await json("GET", `/api/teams/${team.teamId}`, 200)).model_groups).toEqual([team.groups[0], newGroup].sort());
    await json("PUT", `/api/teams/${uid("nope")}/model-groups`, 404, { body: [newGroup] });
  });

  it("PATCH updates alias, metadata and budget settings", async () => {
    const team = await createTeam();
    const patched = await json("PATCH", `/api/teams/${team.teamId}`, 200, {
      body: { team_alias: "Renamed", metadata: { cost_center: "42" }, budget_mode: "consumption_tokens", tokens_per_credit: 500 },
    });
    expect(patched).toMatchObject({
      team_alias: "Renamed",
      metadata: { cost_center: "42" },
      budget_mode: "consumption_tokens",
      tokens_per_credit: 500,
    });
    const got = await json("GET", `/api/teams/${team.teamId}`, 200);
    expect(got).toMatchObject({
      team_alias: "Renamed",
      metadata: { cost_center: "42" },
      budget_mode: "consumption_tokens",
      tokens_per_credit: 500,
    });
    expect((await balance(team)).budget_mode).toBe("consumption_tokens");

    await json("PATCH", `/api/teams/${uid("nope")}`, 404, { body: { team_alias: "x" } });
    expectValidationBody(await json("PATCH", `/api/teams/${team.teamId}`, 422, { body: { budget_mode: "nope" } }), ["body", "budget_mode"]);
  });

  it("a suspended team gets 403 on its team routes (reads too); the admin still reads; resume restores it", async () => {
    const team = await createTeam();
    const openJob = await createJob(team);
    const suspended = await json("PUT", `/api/teams/${team.teamId}/suspend`, 200);
    expect(suspended).toMatchObject({ team_id: team.teamId, status: "suspended" });

    const key = team.key;
    const refused = [
      await api("GET", `/api/credits/teams/${team.teamId}/balance`, { key }),
      await api("GET", `/api/credits/teams/${team.teamId}/transactions`, { key }),
      await api("GET", `/api/teams/${team.teamId}/jobs`, { key }),
      await api("GET", `/api/teams/${team.teamId}/usage`, { key }),
      await api("GET", `/api/jobs/${openJob}`, { key }),
      await api("POST", "/api/jobs/create", { key, body: { team_id: team.teamId, job_type: "x" } }),
      await llmCall(team, openJob),
      await api("POST", `/api/jobs/${openJob}/complete`, { key, body: { status: "completed" } }),
    ];
    for (const res of refused) {
      const body = (await res.json()) as any;
      expect(res.status, JSON.stringify(body)).toBe(403);
      expect(typeof body.detail).toBe("string");
    }
    expect(await upstreamRequests(mockUrl, team.teamId)).toEqual([]);

    const adminView = await json("GET", `/api/credits/teams/${team.teamId}/balance`, 200);
    expect(adminView).toMatchObject({ status: "suspended", credits_remaining: 100, credits_reserved: 1 });
    expect((await json("GET", `/api/teams/${team.teamId}`, 200)).status).toBe("suspended");

    expect(await json("PUT", `/api/teams/${team.teamId}/resume`, 200)).toMatchObject({ status: "active" });
    expect((await balance(team)).status).toBe("active");
    const done = await json("POST", `/api/jobs/${openJob}/complete`, 200, { key, body: { status: "completed" } });
    expect(done.costs.credits_remaining).toBe(99);
    await json("PUT", `/api/teams/${uid("nope")}/suspend`, 404);
  });

  it("rotating the key stops the old one at once and shows the new one once", async () => {
    const team = await createTeam();
    const rotated = await json("POST", `/api/teams/${team.teamId}/keys/rotate`, 200, { body: {} });
    expect(rotated.team_id).toBe(team.teamId);
    expect(rotated.virtual_key).toMatch(/^sk-[0-9a-f]{64}$/);
    expect(rotated.virtual_key).not.toBe(team.key);
    expect(rotated.key_prefix).toBe(rotated.virtual_key.slice(0, rotated.key_prefix.length));

    const old = await api("GET", `/api/credits/teams/${team.teamId}/balance`, { key: team.key });
    expect(old.status).toBe(401);
    await json("GET", `/api/credits/teams/${team.teamId}/balance`, 200, { key: rotated.virtual_key });

    const got = await api("GET", `/api/teams/${team.teamId}`);
    const text = await got.text();
    expect(text).not.toContain(rotated.virtual_key);
    expect(JSON.parse(text).key_prefix).toBe(rotated.key_prefix);
  });

  it("rotating with grace_seconds keeps the old key working alongside the new one", async () => {
    const team = await createTeam();
    const rotated = await json("POST", `/api/teams/${team.teamId}/keys/rotate`, 200, { body: { grace_seconds: 300 } });
    await json("GET", `/api/credits/teams/${team.teamId}/balance`, 200, { key: team.key });
    await json("GET", `/api/credits/teams/${team.teamId}/balance`, 200, { key: rotated.virtual_key });
    const until = Date.parse(rotated.previous_keys_valid_until);
    expect(until - Date.now()).toBeGreaterThan(250_000);
    expect(until - Date.now()).toBeLessThanOrEqual(300_000);

    await json("POST", `/api/teams/${uid("nope")}/keys/rotate`, 404, { body: {} });
    expectValidationBody(await json("POST", `/api/teams/${team.teamId}/keys/rotate`, 422, { body: { grace_seconds: -1 } }), [
      "body",
      "grace_seconds",
    ]);
  });

  it("DELETE removes the team: its key stops working and it is 404 afterwards", async () => {
    const team = await createTeam();
    const deleted = await json("DELETE", `/api/teams/${team.teamId}`, 200);
    expect(deleted.team_id).toBe(team.teamId);
    expect((await api("GET", `/api/credits/teams/${team.teamId}/balance`, { key: team.key })).status).toBe(401);
    expect((await api("POST", "/api/jobs/create", { key: team.key, body: { team_id: team.teamId, job_type: "x" } })).status).toBe(401);
    await json("GET", `/api/teams/${team.teamId}`, 404);
    await json("GET", `/api/credits/teams/${team.teamId}/balance`, 404);
    await json("DELETE", `/api/teams/${team.teamId}`, 404);
    // Its group is free to delete now.
    await json("DELETE", `/api/model-groups/${team.groups[0]}`, 200);
  });

  it("a team id reused after deletion starts with a fresh ledger", async () => {
    const team = await createTeam({ credits: 10 });
    await createJob(team);
    await json("DELETE", `/api/teams/${team.teamId}`, 200);
    const again = await json("POST", "/api/teams/create", 200, {
      body: { organization_id: team.organizationId, team_id: team.teamId, credits_allocated: 3 },
    });
    expect(again.virtual_key).not.toBe(team.key);
    const b = await json("GET", `/api/credits/teams/${team.teamId}/balance`, 200, { key: again.virtual_key });
    expect([b.credits_allocated, b.credits_remaining, b.credits_reserved]).toEqual([3, 3, 0]);
    const tx = await json("GET", `/api/credits/teams/${team.teamId}/transactions`, 200);
    expect(tx.transactions.map((t: any) => [t.kind, t.amount])).toEqual([["allocation", 3]]);
  });
});

describe("pricing", () => {
  it("a price is set, listed, updated and removed", async () => {
    const model = uid("model");
    const saved = await json("PUT", "/api/pricing", 200, {
      body: { model_name: model, input_per_million_usd: 0.15, output_per_million_usd: 0.6 },
    });
    expect(saved).toMatchObject({ model_name: model, input_per_million_usd: 0.15, output_per_million_usd: 0.6 });
    expect(saved.updated_at).toMatch(ISO_UTC);
    let listed = (await json("GET", "/api/pricing", 200)).prices;
    expect(listed.filter((p: any) => p.model_name === model)).toEqual([saved]);

    await json("PUT", "/api/pricing", 200, { body: { model_name: model, input_per_million_usd: 1, output_per_million_usd: 2 } });
    listed = (await json("GET", "/api/pricing", 200)).prices;
    expect(listed.filter((p: any) => p.model_name === model).map((p: any) => [p.input_per_million_usd, p.output_per_million_usd])).toEqual([
      [1, 2],
    ]);

    expect((await json("DELETE", `/api/pricing/${model}`, 200)).model_name).toBe(model);
    listed = (await json("GET", "/api/pricing", 200)).prices;
    expect(listed.some((p: any) => p.model_name === model)).toBe(false);
    await json("DELETE", `/api/pricing/${model}`, 404);
  });

  it("a negative or missing price is 422", async () => {
    expectValidationBody(
      await json("PUT", "/api/pricing", 422, { body: { model_name: uid("m"), input_per_million_usd: -1, output_per_million_usd: 1 } }),
      ["body", "input_per_million_usd"],
    );
    expectValidationBody(await json("PUT", "/api/pricing", 422, { body: { model_name: uid("m"), input_per_million_usd: 1 } }), [
      "body",
      "output_per_million_usd",
    ]);
  });
});

describe("admin authentication", () => {
  it("the admin key works as Authorization: Bearer and as X-Admin-Key", async () => {
    const id = await createOrg();
    await json("GET", `/api/organizations/${id}`, 200, { key: ADMIN_KEY });
    await json("GET", `/api/organizations/${id}`, 200, { key: null, headers: { "x-admin-key": ADMIN_KEY } });
    const viaHeader = uid("org");
    await json("POST", "/api/organizations/create", 200, {
      key: null,
      headers: { "x-admin-key": ADMIN_KEY },
      body: { organization_id: viaHeader, name: "x" },
    });
    await json("GET", `/api/organizations/${viaHeader}`, 200);
  });

  it("a missing, wrong or malformed admin key is 401, and the detail never echoes it", async () => {
    const wrong = "sk-admin-wrong-guess-1234567890";
    const cases: Array<[string, Record<string, string>, string | null]> = [
      ["missing", {}, null],
      ["wrong bearer", {}, wrong],
      ["wrong X-Admin-Key", { "x-admin-key": wrong }, null],
      ["not a bearer", { authorization: `Basic ${ADMIN_KEY}` }, null],
      ["admin key with a suffix", {}, `${ADMIN_KEY}x`],
    ];
    for (const [label, headers, key] of cases) {
      const res = await api("GET", "/api/organizations", { key, headers });
      const text = await res.text();
      expect(res.status, label).toBe(401);
      expect(typeof JSON.parse(text).detail, label).toBe("string");
      expect(text, label).not.toContain(wrong);
      expect(text, label).not.toContain(ADMIN_KEY);
      expect(res.headers.get("x-request-id"), label).toBeTruthy();
    }
  });

  it("a team key on an admin route is 403 and changes nothing", async () => {
    const team = await createTeam();
    const orgId = uid("org");
    const res = await api("POST", "/api/organizations/create", { key: team.key, body: { organization_id: orgId, name: "x" } });
    expect(res.status).toBe(403);
    expect(typeof ((await res.json()) as any).detail).toBe("string");
    await json("GET", `/api/organizations/${orgId}`, 404);
    expect((await api("POST", `/api/credits/teams/${team.teamId}/add`, { key: team.key, body: { credits: 5 } })).status).toBe(403);
    expect((await balance(team)).credits_remaining).toBe(100);
  });
});
