import { env } from "cloudflare:test";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { api, createGroup, createJob, createTeam, json, type TestTeam, uid } from "./helpers";

// Named admin keys with roles and organization scope (issue 18): each role against a table of
// routes, the scope of an organization's key, and revocation.

type Role = "owner" | "admin" | "billing" | "viewer";
const ROLES: Role[] = ["owner", "admin", "billing", "viewer"];

async function newAdminKey(role: Role, organizationId: string | null = null): Promise<{ key: string; keyId: string }> {
  const created = await json("POST", "/api/admin-keys", 201, { body: { name: uid(`${role}-key`), role, organization_id: organizationId } });
  expect(created.admin_key).toMatch(/^sk-admin-[0-9a-f]{64}$/);
  return { key: created.admin_key, keyId: created.key_id };
}

async function completedJob(team: TestTeam): Promise<string> {
  const jobId = await createJob(team);
  await json("POST", `/api/jobs/${jobId}/complete`, 200, { key: team.key, body: { status: "completed" } });
  return jobId;
}

type Request = { method: string; path: string; body?: unknown };
/** A route, the permission it needs, and how to build one request to it (fresh resources where a request uses them up). */
type RouteCase = { name: string; permission: string; roles: Role[]; request: () => Promise<Request> };

const ALL: Role[] = ROLES;
const WRITERS: Role[] = ["owner", "admin"];
const BILLING: Role[] = ["owner", "admin", "billing"];

let shared: TestTeam;
let jobOfShared: string;

const routes: RouteCase[] = [
  {
    name: "list organizations",
    permission: "organizations.read",
    roles: ALL,
    request: async () => ({ method: "GET", path: "/api/organizations" }),
  },
  {
    name: "get an organization",
    permission: "organizations.read",
    roles: ALL,
    request: async () => ({ method: "GET", path: `/api/organizations/${shared.organizationId}` }),
  },
  {
    name: "create an organization",
    permission: "organizations.create",
    roles: WRITERS,
    request: async () => ({ method: "POST", path: "/api/organizations/create", body: { organization_id: uid("org"), name: "Org" } }),
  },
  {
    name: "list model groups",
    permission: "model_groups.read",
    roles: ALL,
    request: async () => ({ method: "GET", path: "/api/model-groups" }),
  },
  {
    name: "create a model group",
    permission: "model_groups.write",
    roles: WRITERS,
    request: async () => ({
      method: "POST",
      path: "/api/model-groups/create",
      body: { group_name: uid("group"), models: [{ model_name: "gpt-4o-mini", priority: 0 }] },
    }),
  },
  {
    name: "replace a group's models",
    permission: "model_groups.write",
    roles: WRITERS,
    request: async () => ({
      method: "PUT",
      path: `/api/model-groups/${await createGroup(["gpt-4o-mini"])}/models`,
      body: [{ model_name: "gpt-4", priority: 0 }],
    }),
  },
  {
    name: "delete a model group",
    permission: "model_groups.write",
    roles: WRITERS,
    request: async () => ({ method: "DELETE", path: `/api/model-groups/${await createGroup(["gpt-4o-mini"])}` }),
  },
  { name: "list teams", permission: "teams.read", roles: ALL, request: async () => ({ method: "GET", path: "/api/teams" }) },
  {
    name: "get a team",
    permission: "teams.read",
    roles: ALL,
    request: async () => ({ method: "GET", path: `/api/teams/${shared.teamId}` }),
  },
  {
    name: "create a team",
    permission: "teams.write",
    roles: WRITERS,
    request: async () => ({
      method: "POST",
      path: "/api/teams/create",
      body: { organization_id: shared.organizationId, team_id: uid("team"), credits_allocated: 5 },
    }),
  },
  {
    name: "update a team",
    permission: "teams.write",
    roles: WRITERS,
    request: async () => ({ method: "PATCH", path: `/api/teams/${shared.teamId}`, body: { team_alias: uid("alias") } }),
  },
  {
    name: "assign model groups",
    permission: "teams.write",
    roles: WRITERS,
    request: async () => ({ method: "PUT", path: `/api/teams/${shared.teamId}/model-groups`, body: shared.groups }),
  },
  {
    name: "pause a team",
    permission: "teams.write",
    roles: WRITERS,
    request: async () => ({ method: "PUT", path: `/api/teams/${(await createTeam()).teamId}/pause` }),
  },
  {
    name: "rotate a team's key",
    permission: "teams.write",
    roles: WRITERS,
    request: async () => ({ method: "POST", path: `/api/teams/${(await createTeam()).teamId}/keys/rotate`, body: {} }),
  },
  {
    name: "delete a team",
    permission: "teams.write",
    roles: WRITERS,
    request: async () => ({ method: "DELETE", path: `/api/teams/${(await createTeam()).teamId}` }),
  },
  {
    name: "read a balance",
    permission: "credits.read",
    roles: ALL,
    request: async () => ({ method: "GET", path: `/api/credits/teams/${shared.teamId}/balance` }),
  },
  {
    name: "read transactions",
    permission: "credits.read",
    roles: ALL,
    request: async () => ({ method: "GET", path: `/api/credits/teams/${shared.teamId}/transactions` }),
  },
  {
    name: "add credits",
    permission: "credits.write",
    roles: BILLING,
    request: async () => ({ method: "POST", path: `/api/credits/teams/${shared.teamId}/add`, body: { credits: 3 } }),
  },
  {
    name: "change the budget mode",
    permission: "budget.write",
    roles: BILLING,
    request: async () => ({ method: "PATCH", path: `/api/credits/teams/${shared.teamId}/budget-mode`, body: { budget_mode: "job_based" } }),
  },
  {
    name: "refund a job",
    permission: "jobs.refund",
    roles: BILLING,
    request: async () => {
      const team = await createTeam();
      return {
        method: "POST",
        path: `/api/credits/teams/${team.teamId}/refund`,
        body: { job_id: await completedJob(team), reason: "test" },
      };
    },
  },
  {
    name: "read a job",
    permission: "jobs.read",
    roles: ALL,
    request: async () => ({ method: "GET", path: `/api/jobs/${jobOfShared}?team_id=${shared.teamId}` }),
  },
  {
    name: "list jobs",
    permission: "jobs.read",
    roles: ALL,
    request: async () => ({ method: "GET", path: `/api/teams/${shared.teamId}/jobs` }),
  },
  {
    name: "read usage",
    permission: "jobs.read",
    roles: ALL,
    request: async () => ({ method: "GET", path: `/api/teams/${shared.teamId}/usage` }),
  },
  { name: "read prices", permission: "pricing.read", roles: ALL, request: async () => ({ method: "GET", path: "/api/pricing" }) },
  {
    name: "set a price",
    permission: "pricing.write",
    roles: BILLING,
    request: async () => ({
      method: "PUT",
      path: "/api/pricing",
      body: { model_name: uid("model"), input_per_million_usd: 1, output_per_million_usd: 2 },
    }),
  },
  {
    name: "delete a price",
    permission: "pricing.write",
    roles: BILLING,
    request: async () => {
      const model = uid("model");
      await json("PUT", "/api/pricing", 200, { body: { model_name: model, input_per_million_usd: 1, output_per_million_usd: 2 } });
      return { method: "DELETE", path: `/api/pricing/${model}` };
    },
  },
  {
    name: "list admin keys",
    permission: "admin_keys.manage",
    roles: ["owner"],
    request: async () => ({ method: "GET", path: "/api/admin-keys" }),
  },
  {
    name: "create an admin key",
    permission: "admin_keys.manage",
    roles: ["owner"],
    request: async () => ({ method: "POST", path: "/api/admin-keys", body: { name: uid("k"), role: "viewer" } }),
  },
  {
    name: "revoke an admin key",
    permission: "admin_keys.manage",
    roles: ["owner"],
    request: async () => ({ method: "DELETE", path: `/api/admin-keys/${(await newAdminKey("viewer")).keyId}` }),
  },
  {
    name: "read an organization's usage",
    permission: "organizations.read",
    roles: ALL,
    request: async () => ({ method: "GET", path: `/api/organizations/${shared.organizationId}/usage` }),
  },
  {
    name: "read the dashboard",
    permission: "organizations.read",
    roles: ALL,
    request: async () => ({ method: "GET", path: "/api/stats/dashboard" }),
  },
  {
    name: "set a team's webhook",
    permission: "webhooks.write",
    roles: WRITERS,
    request: async () => ({
      method: "PUT",
      path: `/api/teams/${(await createTeam()).teamId}/webhook`,
      body: { url: `${inject("webhookReceiverUrl")}/roles`, events: ["job.completed"] },
    }),
  },
  {
    name: "remove an organization's webhook",
    permission: "webhooks.write",
    roles: WRITERS,
    request: async () => {
      const team = await createTeam();
      const url = `${inject("webhookReceiverUrl")}/roles`;
      await json("PUT", `/api/organizations/${team.organizationId}/webhook`, 200, { body: { url, events: ["job.completed"] } });
      return { method: "DELETE", path: `/api/organizations/${team.organizationId}/webhook` };
    },
  },
  {
    name: "read a team's webhook deliveries",
    permission: "teams.read",
    roles: ALL,
    request: async () => ({ method: "GET", path: `/api/teams/${shared.teamId}/webhook/deliveries` }),
  },
  {
    name: "read the audit log",
    permission: "audit.read",
    roles: ["owner", "admin"],
    request: async () => ({ method: "GET", path: "/api/audit-log" }),
  },
];

const keys = {} as Record<Role, string>;

beforeAll(async () => {
  shared = await createTeam({ credits: 1000 });
  jobOfShared = await completedJob(shared);
  for (const role of ROLES) keys[role] = (await newAdminKey(role)).key;
});

describe("each role against every admin route", () => {
  for (const role of ROLES) {
    for (const route of routes) {
      const allowed = route.roles.includes(role);
      it(`${role}: ${route.name} is ${allowed ? "allowed" : `refused (lacks ${route.permission})`}`, async () => {
        const request = await route.request();
        const res = await api(request.method, request.path, { key: keys[role], body: request.body });
        const text = await res.text();
        if (allowed) {
          expect(res.status, text).toBeGreaterThanOrEqual(200);
          expect(res.status, text).toBeLessThan(300);
        } else {
          expect(res.status, text).toBe(403);
          expect(JSON.parse(text).detail).toBe(`This admin key (role ${role}) lacks the permission ${route.permission}`);
        }
      });
    }
  }

  it("any admin key can ask who it is and what its role allows", async () => {
    const me = await json("GET", "/api/admin-keys/self", 200, { key: keys.billing });
    expect(me).toMatchObject({ role: "billing", organization_id: null });
    expect(me.permissions).toContain("credits.write");
    expect(me.permissions).not.toContain("teams.write");
    const bootstrap = await json("GET", "/api/admin-keys/self", 200);
    expect(bootstrap).toMatchObject({ key_id: "bootstrap", role: "owner", organization_id: null });
    expect(bootstrap.permissions).toContain("admin_keys.manage");
  });

  it("the X-Admin-Key header takes a named key too; team keys never reach admin routes", async () => {
    await json("GET", "/api/teams", 200, { key: null, headers: { "x-admin-key": keys.viewer } });
    const refused = await json("POST", `/api/credits/teams/${shared.teamId}/add`, 403, {
      key: null,
      headers: { "x-admin-key": keys.viewer },
      body: { credits: 1 },
    });
    expect(refused.detail).toContain("credits.write");
    await json("GET", "/api/teams", 403, { key: shared.key });
    // A named admin key is not a team key.
    await json("POST", "/api/jobs/create", 403, { key: keys.owner, body: { team_id: shared.teamId, job_type: "x" } });
  });
});

describe("admin keys", () => {
  it("a key is listed without its secret, and a revoked key is refused on the next request", async () => {
    const { key, keyId } = await newAdminKey("admin");
    await json("GET", "/api/teams", 200, { key });
    const listed = await json("GET", "/api/admin-keys?limit=200", 200);
    const row = listed.admin_keys.find((k: any) => k.key_id === keyId);
    expect(row).toMatchObject({ role: "admin", organization_id: null, revoked_at: null, key_prefix: key.slice(0, 17) });
    expect(JSON.stringify(listed)).not.toContain(key);
    expect(JSON.stringify(listed)).not.toContain(key.slice(17));

    await json("DELETE", `/api/admin-keys/${keyId}`, 200);
    const refused = await json("GET", "/api/teams", 401, { key });
    expect(refused.detail).toBe("Invalid API key");
    await json("GET", "/api/teams", 401, { key: null, headers: { "x-admin-key": key } });
    await json("DELETE", `/api/admin-keys/${keyId}`, 404);
    const after = await json("GET", "/api/admin-keys?limit=200", 200);
    expect(after.admin_keys.find((k: any) => k.key_id === keyId).revoked_at).not.toBeNull();
  });

  it("bad input is a 422 naming the field; a scope on an unknown organization is 404", async () => {
    const bad = await json("POST", "/api/admin-keys", 422, { body: { name: "x", role: "superuser" } });
    expect(bad.detail[0].loc).toEqual(["body", "role"]);
    await json("POST", "/api/admin-keys", 422, { body: { role: "viewer" } });
    await json("POST", "/api/admin-keys", 404, { body: { name: "x", role: "viewer", organization_id: uid("no-org") } });
    await json("DELETE", "/api/admin-keys/not-a-uuid", 422);
  });

  it("last_used_at is recorded when a key is used", async () => {
    const { key, keyId } = await newAdminKey("viewer");
    await json("GET", "/api/teams", 200, { key });
    let lastUsed: string | null = null;
    for (let i = 0; i < 50 && lastUsed === null; i++) {
      const row = await env.DB.prepare("SELECT last_used_at FROM admin_keys WHERE key_id = ?")
        .bind(keyId)
        .first<{ last_used_at: string | null }>();
      lastUsed = row?.last_used_at ?? null;
      if (lastUsed === null) await new Promise((r) => setTimeout(r, 20));
    }
    expect(lastUsed).not.toBeNull();
  });
});

describe("a key scoped to an organization", () => {
  let own: TestTeam;
  let other: TestTeam;
  let scoped: string;

  beforeAll(async () => {
    own = await createTeam({ credits: 50 });
    other = await createTeam({ credits: 50 });
    scoped = (await newAdminKey("admin", own.organizationId)).key;
  });

  it("manages its own organization's teams", async () => {
    await json("GET", `/api/teams/${own.teamId}`, 200, { key: scoped });
    const added = await json("POST", `/api/credits/teams/${own.teamId}/add`, 200, { key: scoped, body: { credits: 5 } });
    expect(added.balance.credits_remaining).toBe(55);
    const team = await json("POST", "/api/teams/create", 200, {
      key: scoped,
      body: { organization_id: own.organizationId, team_id: uid("team"), model_groups: own.groups },
    });
    expect(team.organization_id).toBe(own.organizationId);
    await json("GET", `/api/organizations/${own.organizationId}`, 200, { key: scoped });
  });

  it("finds another organization's teams, jobs and credits not found (404), and changes nothing there", async () => {
    const job = await completedJob(other);
    const before = await json("GET", `/api/credits/teams/${other.teamId}/balance`, 200);
    for (const [method, path, body] of [
      ["GET", `/api/teams/${other.teamId}`],
      ["GET", `/api/credits/teams/${other.teamId}/balance`],
      ["GET", `/api/credits/teams/${other.teamId}/transactions`],
      ["GET", `/api/teams/${other.teamId}/jobs`],
      ["GET", `/api/teams/${other.teamId}/usage`],
      ["GET", `/api/jobs/${job}?team_id=${other.teamId}`],
      ["POST", `/api/credits/teams/${other.teamId}/add`, { credits: 5 }],
      ["POST", `/api/credits/teams/${other.teamId}/refund`, { job_id: job, reason: "x" }],
      ["PATCH", `/api/teams/${other.teamId}`, { team_alias: "mine now" }],
      ["PUT", `/api/teams/${other.teamId}/suspend`],
      ["POST", `/api/teams/${other.teamId}/keys/rotate`, {}],
      ["DELETE", `/api/teams/${other.teamId}`],
      ["GET", `/api/organizations/${other.organizationId}`],
      ["GET", `/api/teams?organization_id=${other.organizationId}`],
      ["GET", `/api/organizations/${other.organizationId}/usage`],
      ["GET", `/api/stats/dashboard?organization_id=${other.organizationId}`],
      ["GET", `/api/teams/${other.teamId}/webhook/deliveries`],
      ["PUT", `/api/teams/${other.teamId}/webhook`, { url: `${inject("webhookReceiverUrl")}/x`, events: ["job.completed"] }],
      [
        "PUT",
        `/api/organizations/${other.organizationId}/webhook`,
        { url: `${inject("webhookReceiverUrl")}/x`, events: ["job.completed"] },
      ],
      ["POST", "/api/teams/create", { organization_id: other.organizationId, team_id: uid("team") }],
    ] as Array<[string, string, unknown?]>) {
      const res = await api(method, path, { key: scoped, body });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(((await res.json()) as any).detail).toMatch(/not found/);
    }
    const after = await json("GET", `/api/credits/teams/${other.teamId}/balance`, 200);
    expect(after).toEqual(before);
    await json("GET", `/api/teams/${other.teamId}`, 200);
    // The other team's key still works: it was not rotated.
    await json("GET", `/api/credits/teams/${other.teamId}/balance`, 200, { key: other.key });
  });

  it("lists only its organization and its teams", async () => {
    const orgs = await json("GET", "/api/organizations?limit=200", 200, { key: scoped });
    expect(orgs.organizations.map((o: any) => o.organization_id)).toEqual([own.organizationId]);
    const teams = await json("GET", "/api/teams?limit=200", 200, { key: scoped });
    expect(teams.teams.length).toBeGreaterThan(0);
    for (const t of teams.teams) expect(t.organization_id).toBe(own.organizationId);
    // The dashboard counts only its organization, asked for or not.
    const dashboard = await json("GET", "/api/stats/dashboard", 200, { key: scoped });
    expect(dashboard.organizations).toBe(1);
    expect(await json("GET", `/api/stats/dashboard?organization_id=${own.organizationId}`, 200, { key: scoped })).toEqual(dashboard);
  });

  it("is refused global resources (403 naming the permission) and may only read and assign model groups", async () => {
    // Even an owner: the scope takes away what every organization shares.
    const scopedOwner = (await newAdminKey("owner", own.organizationId)).key;
    for (const [method, path, body, permission] of [
      ["POST", "/api/organizations/create", { organization_id: uid("org"), name: "x" }, "organizations.create"],
      ["GET", "/api/pricing", undefined, "pricing.read"],
      ["PUT", "/api/pricing", { model_name: "m", input_per_million_usd: 1, output_per_million_usd: 1 }, "pricing.write"],
      ["GET", "/api/admin-keys", undefined, "admin_keys.manage"],
      ["POST", "/api/admin-keys", { name: "x", role: "owner" }, "admin_keys.manage"],
      ["POST", "/api/model-groups/create", { group_name: uid("g"), models: [{ model_name: "gpt-4", priority: 0 }] }, "model_groups.write"],
      ["PUT", `/api/model-groups/${own.groups[0]}/models`, [{ model_name: "gpt-4", priority: 0 }], "model_groups.write"],
      ["DELETE", `/api/model-groups/${own.groups[0]}`, undefined, "model_groups.write"],
    ] as Array<[string, string, unknown, string]>) {
      const res = await api(method, path, { key: scopedOwner, body });
      expect(res.status, `${method} ${path}`).toBe(403);
      const detail = ((await res.json()) as any).detail as string;
      expect(detail).toContain(`lacks the permission ${permission}`);
      expect(detail).toContain(own.organizationId);
    }
    await json("GET", "/api/model-groups", 200, { key: scoped });
    await json("GET", `/api/model-groups/${other.groups[0]}`, 200, { key: scoped });
    await json("PUT", `/api/teams/${own.teamId}/model-groups`, 200, { key: scoped, body: [...own.groups, other.groups[0]] });
    await json("PUT", `/api/teams/${own.teamId}/model-groups`, 404, { key: scoped, body: [uid("no-such-group")] });
  });

  it("sees its organization's audit rows only", async () => {
    const rows = await json("GET", "/api/audit-log?limit=200", 200, { key: scoped });
    expect(rows.entries.length).toBeGreaterThan(0);
    for (const r of rows.entries) expect(r.organization_id).toBe(own.organizationId);
    await json("GET", `/api/audit-log?organization_id=${other.organizationId}`, 404, { key: scoped });
    const all = await json("GET", `/api/audit-log?organization_id=${other.organizationId}&limit=200`, 200);
    expect(all.entries.length).toBeGreaterThan(0);
  });

  it("a viewer scoped to an organization reads it but cannot write", async () => {
    const viewer = (await newAdminKey("viewer", own.organizationId)).key;
    await json("GET", `/api/credits/teams/${own.teamId}/balance`, 200, { key: viewer });
    const refused = await json("POST", `/api/credits/teams/${own.teamId}/add`, 403, { key: viewer, body: { credits: 1 } });
    expect(refused.detail).toBe("This admin key (role viewer) lacks the permission credits.write");
    await json("GET", `/api/credits/teams/${other.teamId}/balance`, 404, { key: viewer });
  });
});

describe("organization creation", () => {
  it("an unscoped admin creates an organization, and a key can be scoped to it at once", async () => {
    const admin = (await newAdminKey("admin")).key;
    const id = uid("org");
    await json("POST", "/api/organizations/create", 200, { key: admin, body: { organization_id: id, name: "New" } });
    await json("GET", `/api/organizations/${id}`, 200, { key: (await newAdminKey("viewer", id)).key });
  });
});
