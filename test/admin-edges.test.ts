import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import { Repository } from "../src/db/repository";
import type { TeamLedger } from "../src/ledger/team-ledger";
import { api, createGroup, createJob, createOrg, createTeam, json, type TestTeam, uid, upstreamRequests, userMessage } from "./helpers";

// Admin and input edges: what an organization's key learns from a refused creation, a usage send
// that lands after its team was deleted, bodies nested too deep, ids that could not be read back,
// and listings as long as the documented maximum.

async function scopedKey(organizationId: string): Promise<string> {
  const created = await json("POST", "/api/admin-keys", 201, {
    body: { name: uid("org-key"), role: "admin", organization_id: organizationId },
  });
  return created.admin_key;
}

describe("an organization-scoped key creating a team id taken elsewhere", () => {
  it("learns only that the id is not available: the same 400 as for nothing it could see, never 'already exists'", async () => {
    const elsewhere = await createTeam();
    const own = await createOrg();
    const key = await scopedKey(own);
    await json("GET", `/api/teams/${elsewhere.teamId}`, 404, { key });

    const refused = await json("POST", "/api/teams/create", 400, { key, body: { organization_id: own, team_id: elsewhere.teamId } });
    expect(refused.detail).toBe(`Team id '${elsewhere.teamId}' is not available; choose another`);
    expect(refused.detail).not.toMatch(/exist|organization/i);
    // The id stays the other organization's: nothing was created or changed.
    const other = await json("GET", `/api/teams/${elsewhere.teamId}`, 200);
    expect(other.organization_id).toBe(elsewhere.organizationId);
    expect((await json("GET", `/api/teams?organization_id=${own}`, 200, { key })).teams).toEqual([]);

    // A team of its own organization is a duplicate it can see: the SPEC's answer.
    const mine = uid("team");
    await json("POST", "/api/teams/create", 200, { key, body: { organization_id: own, team_id: mine } });
    const duplicate = await json("POST", "/api/teams/create", 400, { key, body: { organization_id: own, team_id: mine } });
    expect(duplicate.detail).toBe(`Team '${mine}' already exists`);
  });

  it("the unscoped admin key still gets the SPEC's 400 'already exists'", async () => {
    const elsewhere = await createTeam();
    const own = await createOrg();
    const duplicate = await json("POST", "/api/teams/create", 400, { body: { organization_id: own, team_id: elsewhere.teamId } });
    expect(duplicate.detail).toBe(`Team '${elsewhere.teamId}' already exists`);
  });
});

describe("a usage send under way when its team is deleted", () => {
  it("writes nothing: the deleted team's rows do not come back into the reports", async () => {
    const team = await createTeam({ credits: 50 });
    const jobId = await createJob(team, "summarize");
    await json("POST", `/api/jobs/${jobId}/complete`, 200, { key: team.key, body: { status: "completed" } });

    // The object's send reaches D1 only once the team's deletion has been written.
    let sendStarted!: () => void;
    const started = new Promise<void>((resolve) => (sendStarted = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const heldBack = new Proxy(env.DB, {
      get(target, prop) {
        const value = Reflect.get(target, prop);
        if (typeof value !== "function") return value;
        if (prop === "batch") {
          return async (statements: D1PreparedStatement[]) => {
            sendStarted();
            await released;
            return target.batch(statements);
          };
        }
        return value.bind(target);
      },
    });
    const ledger = env.TEAM_LEDGER.getByName(team.teamId);
    await runInDurableObject(ledger, (instance: TeamLedger) => {
      (instance as unknown as { background: { usageFlush: { d1: Repository } } }).background.usageFlush.d1 = new Repository(heldBack);
    });
    const sending = runDurableObjectAlarm(ledger);
    await started;
    await json("DELETE", `/api/teams/${team.teamId}`, 200);
    release();
    await sending;

    const rows = await env.DB.prepare("SELECT count(*) AS n FROM team_usage_daily WHERE team_id = ?")
      .bind(team.teamId)
      .first<{ n: number }>();
    expect(rows?.n).toBe(0);
    expect((await json("GET", `/api/organizations/${team.organizationId}/usage`, 200)).teams).toEqual({});
  });
});

/** `[[[...]]]` nested `depth` levels. */
function nestedArray(depth: number): string {
  return `${"[".repeat(depth)}${"]".repeat(depth)}`;
}

function nestedObject(depth: number): string {
  return `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
}

async function send(method: string, path: string, rawBody: string, key?: string) {
  return api(method, path, { key, rawBody, headers: { "content-type": "application/json" } });
}

describe("deeply nested JSON bodies", () => {
  it("an array nested 2,000 levels to an admin write route is 422 with a clear message, and nothing is written", async () => {
    const group = uid("group");
    const res = await send("POST", "/api/model-groups/create", `{"group_name":"${group}","models":${nestedArray(2000)}}`);
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual({
      detail: [{ loc: ["body"], msg: "body is nested more than 64 levels deep", type: "json_too_deep" }],
    });
    await json("GET", `/api/model-groups/${group}`, 404);

    const models = await send("PUT", `/api/model-groups/${await createGroup(["gpt-4o-mini"])}/models`, nestedArray(2000));
    expect(models.status).toBe(422);
  });

  it("team routes and /v1 refuse them too (OpenAI's error shape on /v1), at any depth up to the body limit", async () => {
    const team = await createTeam({ credits: 10 });
    const deep = nestedObject(100_000);
    const job = await send("POST", "/api/jobs/create", `{"team_id":"${team.teamId}","job_type":"t","metadata":${deep}}`, team.key);
    expect(job.status).toBe(422);
    expect(JSON.stringify(await job.json())).toContain("nested more than 64 levels");

    const v1 = await send("POST", "/v1/chat/completions", `{"model":"${team.groups[0]}","messages":${nestedArray(100_000)}}`, team.key);
    expect(v1.status).toBe(422);
    expect(((await v1.json()) as any).error.message).toContain("nested more than 64 levels");

    const credits = await send("POST", `/api/credits/teams/${team.teamId}/add`, `{"credits":1,"reason":${nestedArray(100_000)}}`);
    expect(credits.status).toBe(422);
    expect((await json("GET", `/api/credits/teams/${team.teamId}/balance`, 200)).credits_allocated).toBe(10);
  });

  it("64 levels are accepted where the route takes them (65 are not), and brackets inside strings do not count", async () => {
    const team = await createTeam({ credits: 10 });
    // The body is 4 levels down to a tool's parameters ({ tools: [{ function: { parameters } }] }).
    const callWithParametersOf = (levels: number) => {
      const parameters = JSON.parse(nestedObject(levels - 1).replace("1", '{"type":"object"}'));
      const tools = [{ type: "function", function: { name: "deep", parameters } }];
      return api("POST", "/v1/chat/completions", {
        key: team.key,
        body: { model: team.groups[0], messages: [{ role: "user", content: "[{".repeat(5000) }], tools },
      });
    };
    expect((await callWithParametersOf(60)).status).toBe(200);
    expect((await callWithParametersOf(61)).status).toBe(422);
  });
});

describe("ids that can always be read back", () => {
  it("'.' and '..' are refused as organization, team and model group ids (422), as is any character outside [A-Za-z0-9._-]", async () => {
    const org = await createOrg();
    for (const bad of [".", "..", "a/b", "a b", "é", "x".repeat(129), ""]) {
      for (const [path, body] of [
        ["/api/organizations/create", { organization_id: bad, name: "x" }],
        ["/api/teams/create", { organization_id: org, team_id: bad }],
        ["/api/model-groups/create", { group_name: bad, models: [{ model_name: "gpt-4o-mini" }] }],
      ] as const) {
        const res = await api("POST", path, { body });
        expect(res.status, `${path} ${JSON.stringify(bad)}`).toBe(422);
      }
    }
    const dots = await json("POST", "/api/organizations/create", 422, { body: { organization_id: "..", name: "x" } });
    expect(dots.detail[0]).toMatchObject({ loc: ["body", "organization_id"], msg: "field 'organization_id' must not be '.' or '..'" });
    // Dots are fine inside an id.
    const dotted = `${uid("a")}..b.`;
    await json("POST", "/api/organizations/create", 200, { body: { organization_id: dotted, name: "x" } });
    await json("GET", `/api/organizations/${dotted}`, 200);
  });

  it("a priced model named provider/model can be read and deleted through its URL-encoded name; '.' and '..' are refused", async () => {
    const model = `openai/${uid("gpt-4o")}`;
    await json("PUT", "/api/pricing", 200, { body: { model_name: model, input_per_million_usd: 2.5, output_per_million_usd: 10 } });
    const path = `/api/pricing/${encodeURIComponent(model)}`;
    expect(path).toContain("%2F");
    expect(await json("GET", path, 200)).toMatchObject({ model_name: model, input_per_million_usd: 2.5, output_per_million_usd: 10 });
    expect(await json("DELETE", path, 200)).toMatchObject({ model_name: model });
    await json("GET", path, 404);
    await json("DELETE", path, 404);

    for (const bad of [".", "..", "openai/..", "../x", "a/./b"]) {
      const res = await api("PUT", "/api/pricing", { body: { model_name: bad, input_per_million_usd: 1, output_per_million_usd: 1 } });
      expect(res.status, bad).toBe(422);
      const inGroup = await api("POST", "/api/model-groups/create", { body: { group_name: uid("group"), models: [{ model_name: bad }] } });
      expect(inGroup.status, bad).toBe(422);
    }
  });

  it("a model group of provider/model names is created and called", async () => {
    const model = "openai/gpt-4o-mini";
    const team = await createTeam({ credits: 10, models: [[model]] });
    const group = await json("GET", `/api/model-groups/${team.groups[0]}`, 200);
    expect(group.models).toEqual([{ model_name: model, priority: 0 }]);
    const res = await api("POST", "/api/jobs/create-and-call", {
      key: team.key,
      body: { team_id: team.teamId, job_type: "t", model_group: team.groups[0], messages: userMessage() },
    });
    // The mock serves no provider prefix (502, every model failed); what matters is the name reached it whole.
    expect(res.status).toBe(502);
    const sent = await upstreamRequests(inject("mockLiteLLMUrl"), team.teamId);
    expect(sent.map((r) => r.body.model)).toEqual([model]);
  });
});

describe("listings at the documented maximum of 200 a page", () => {
  it("GET /api/teams?limit=200 lists 200 teams with their groups and key prefixes", async () => {
    const org = await createOrg();
    const groups = [await createGroup(["gpt-4o-mini"]), await createGroup(["gpt-4"])];
    const teams: TestTeam[] = [];
    for (let batch = 0; batch < 21; batch++) {
      const created = await Promise.all(
        Array.from({ length: 10 }, async (_, i) => {
          const teamId = `${org}-t${String(batch * 10 + i).padStart(3, "0")}`;
          const model_groups = (batch * 10 + i) % 2 === 0 ? groups : [groups[1]];
          const body = { organization_id: org, team_id: teamId, model_groups };
          const team = await json("POST", "/api/teams/create", 200, { body });
          return { teamId, organizationId: org, key: team.virtual_key, groups: model_groups, created: team };
        }),
      );
      teams.push(...created);
    }
    for (const limit of [100, 200]) {
      const page = await json("GET", `/api/teams?organization_id=${org}&limit=${limit}`, 200);
      expect(page.teams).toHaveLength(limit);
      expect(page.has_more).toBe(true);
      for (const [i, t] of page.teams.entries()) {
        expect(t.team_id).toBe(teams[i].teamId);
        expect(t.model_groups).toEqual([...teams[i].groups].sort());
        expect(t.key_prefix).toBe(teams[i].created.key_prefix);
      }
    }
    const rest = await json("GET", `/api/teams?organization_id=${org}&limit=200&offset=200`, 200);
    expect(rest.teams.map((t: any) => t.team_id)).toEqual(teams.slice(200).map((t) => t.teamId));
    expect(rest.has_more).toBe(false);
  });

  it("GET /api/model-groups?limit=200 lists 200 groups with their models", async () => {
    const prefix = uid("lg");
    const names: string[] = [];
    for (let batch = 0; batch < 21; batch++) {
      names.push(
        ...(await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            createGroup(["gpt-4o-mini", "gpt-4"], `${prefix}-${String(batch * 10 + i).padStart(3, "0")}`),
          ),
        )),
      );
    }
    const seen = new Map<string, any>();
    for (let offset = 0; ; offset += 200) {
      const page = await json("GET", `/api/model-groups?limit=200&offset=${offset}`, 200);
      for (const g of page.model_groups) seen.set(g.group_name, g);
      if (!page.has_more) break;
      expect(page.model_groups).toHaveLength(200);
    }
    for (const name of names) {
      expect(seen.get(name)?.models).toEqual([
        { model_name: "gpt-4o-mini", priority: 0 },
        { model_name: "gpt-4", priority: 1 },
      ]);
    }
  });
});
