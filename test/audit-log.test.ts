import { createScheduledController, env } from "cloudflare:test";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { AUDITED_ACTIONS } from "../src/http/middleware/audit";
import worker from "../src/index";
import { ADMIN_KEY, api, createGroup, createJob, createTeam, json, type TestTeam, uid } from "./helpers";

// The audit log (issue 18): one row per admin write, allowed or refused, with the actor, the
// action, what it acted on and the outcome; never a secret; append-only; purged past retention.

type AuditRow = {
  actor_key_id: string;
  actor_name: string;
  actor_role: string | null;
  action: string;
  resource_type: string;
  resource_id: string | null;
  organization_id: string | null;
  summary: string;
  request_id: string;
  client_ip: string | null;
  status: number | null;
};

async function rowsOf(requestId: string): Promise<AuditRow[]> {
  const { results } = await env.DB.prepare("SELECT * FROM audit_log WHERE request_id = ?").bind(requestId).all<AuditRow>();
  return results;
}

/** Sends one admin write with its own request id and returns its one audit row. */
async function write(method: string, path: string, options: { key?: string; body?: unknown; status: number }): Promise<AuditRow> {
  const requestId = uid("req");
  const res = await api(method, path, {
    key: options.key,
    body: options.body,
    headers: { "x-request-id": requestId, "cf-connecting-ip": "203.0.113.7" },
  });
  const text = await res.text();
  expect(res.status, `${method} ${path}: ${text}`).toBe(options.status);
  const rows = await rowsOf(requestId);
  expect(rows, `${method} ${path} leaves exactly one audit row`).toHaveLength(1);
  expect(rows[0].client_ip).toBe("203.0.113.7");
  expect(rows[0].status).toBe(options.status);
  return rows[0];
}

const secrets: string[] = [ADMIN_KEY, env.KEY_PEPPER];
const exercised = new Set<string>();

function expectRow(row: AuditRow, expected: Partial<AuditRow>) {
  expect(row).toMatchObject(expected);
  exercised.add(row.action);
}

describe("every admin write leaves one audit row", () => {
  let team: TestTeam;
  let owner: { key: string; keyId: string; name: string };

  beforeAll(async () => {
    team = await createTeam({ credits: 100 });
    secrets.push(team.key);
    const name = uid("ops-owner");
    const created = await json("POST", "/api/admin-keys", 201, { body: { name, role: "owner" } });
    owner = { key: created.admin_key, keyId: created.key_id, name };
    secrets.push(owner.key);
  });

  it("records who did what to which resource, in which organization, and how it ended", async () => {
    const actor = { actor_key_id: owner.keyId, actor_name: owner.name, actor_role: "owner" };
    const k = { key: owner.key };
    const org = uid("org");
    expectRow(await write("POST", "/api/organizations/create", { ...k, body: { organization_id: org, name: "Audited" }, status: 200 }), {
      ...actor,
      action: "organization.create",
      resource_type: "organization",
      resource_id: org,
      organization_id: org,
    });
    const placed = await write("PATCH", `/api/organizations/${org}`, {
      ...k,
      body: { placement: { jurisdiction: "eu", location_hint: "weur" } },
      status: 200,
    });
    expectRow(placed, {
      ...actor,
      action: "organization.placement",
      resource_type: "organization",
      resource_id: org,
      organization_id: org,
    });
    expect(JSON.parse(placed.summary)).toEqual({ placement: { jurisdiction: "eu", location_hint: "weur" } });
    const group = uid("group");
    const models = [{ model_name: "gpt-4o-mini", priority: 0 }];
    expectRow(await write("POST", "/api/model-groups/create", { ...k, body: { group_name: group, models }, status: 200 }), {
      action: "model_group.create",
      resource_id: group,
      organization_id: null,
    });
    expectRow(await write("PUT", `/api/model-groups/${group}/models`, { ...k, body: models, status: 200 }), {
      action: "model_group.update_models",
      resource_id: group,
    });
    const cache = { ttl_seconds: 60, scope: "team", hit_price_percent: 10 };
    const cached = await write("PATCH", `/api/model-groups/${group}`, { ...k, body: { cache }, status: 200 });
    expectRow(cached, { action: "model_group.update", resource_id: group });
    expect(JSON.parse(cached.summary)).toEqual({ cache });
    const teamId = uid("team");
    const created = await write("POST", "/api/teams/create", {
      ...k,
      body: { organization_id: org, team_id: teamId, model_groups: [group], credits_allocated: 7 },
      status: 200,
    });
    expectRow(created, { ...actor, action: "team.create", resource_type: "team", resource_id: teamId, organization_id: org });
    expect(JSON.parse(created.summary)).toMatchObject({ team_id: teamId, credits_allocated: 7, model_groups: [group] });
    const onTeam = { resource_type: "team", resource_id: team.teamId, organization_id: team.organizationId };
    const credits = await write("POST", `/api/credits/teams/${team.teamId}/add`, {
      ...k,
      body: { credits: 9, reason: "goodwill" },
      status: 200,
    });
    expectRow(credits, { ...actor, action: "credits.add", ...onTeam });
    expect(JSON.parse(credits.summary)).toEqual({ credits: 9, reason: "goodwill" });
    expectRow(
      await write("PATCH", `/api/credits/teams/${team.teamId}/budget-mode`, { ...k, body: { budget_mode: "job_based" }, status: 200 }),
      { action: "credits.budget_mode", ...onTeam },
    );
    const grantBody = { credits: 4, source: "promotional", expires_at: "2099-01-01T00:00:00Z", external_ref: "audit-ref" };
    const granted = await write("POST", `/api/credits/teams/${team.teamId}/grants`, { ...k, body: grantBody, status: 200 });
    expectRow(granted, { ...actor, action: "credits.grant", ...onTeam });
    expect(JSON.parse(granted.summary)).toEqual(grantBody);
    const [grant] = (await json("GET", `/api/credits/teams/${team.teamId}/grants?status=live`, 200)).grants;
    expectRow(await write("DELETE", `/api/credits/teams/${team.teamId}/grants/${grant.grant_id}`, { ...k, status: 200 }), {
      action: "credits.grant_void",
      ...onTeam,
    });
    const allowance = { credits: 20, period: "week", anchor: 1, rollover: "none" };
    const allowanceSet = await write("PUT", `/api/credits/teams/${team.teamId}/allowance`, { ...k, body: allowance, status: 200 });
    expectRow(allowanceSet, { action: "credits.allowance_set", ...onTeam });
    expect(JSON.parse(allowanceSet.summary)).toEqual(allowance);
    expectRow(await write("DELETE", `/api/credits/teams/${team.teamId}/allowance`, { ...k, status: 200 }), {
      action: "credits.allowance_delete",
      ...onTeam,
    });
    const job = await createJob(team);
    await json("POST", `/api/jobs/${job}/complete`, 200, { key: team.key, body: { status: "completed" } });
    expectRow(
      await write("POST", `/api/credits/teams/${team.teamId}/refund`, { ...k, body: { job_id: job, reason: "bad answer" }, status: 200 }),
      { action: "job.refund", resource_type: "job", resource_id: job, organization_id: team.organizationId },
    );
    const patched = await write("PATCH", `/api/teams/${team.teamId}`, {
      ...k,
      body: { team_alias: "A", metadata: { secret_note: "x" } },
      status: 200,
    });
    expectRow(patched, { action: "team.update", ...onTeam });
    expect(JSON.parse(patched.summary)).toEqual({ team_alias: "A", metadata_changed: true });
    expectRow(await write("PUT", `/api/teams/${team.teamId}/model-groups`, { ...k, body: team.groups, status: 200 }), {
      action: "team.model_groups",
      ...onTeam,
    });
    for (const verb of ["suspend", "pause", "resume"]) {
      expectRow(await write("PUT", `/api/teams/${team.teamId}/${verb}`, { ...k, status: 200 }), { action: `team.${verb}`, ...onTeam });
    }
    const rotateRequest = uid("req");
    const rotated = await json("POST", `/api/teams/${team.teamId}/keys/rotate`, 200, {
      ...k,
      body: { grace_seconds: 60 },
      headers: { "x-request-id": rotateRequest },
    });
    secrets.push(rotated.virtual_key);
    const [rotateRow] = await rowsOf(rotateRequest);
    expectRow(rotateRow, { action: "key.rotate", ...onTeam, status: 200 });
    expect(JSON.parse(rotateRow.summary)).toEqual({ grace_seconds: 60 });
    const keyCreateRequest = uid("req");
    const named = await json("POST", `/api/teams/${team.teamId}/keys`, 200, {
      ...k,
      body: { name: "batch", budget: { credits: 5, period: "day" } },
      headers: { "x-request-id": keyCreateRequest },
    });
    secrets.push(named.virtual_key);
    const [keyCreateRow] = await rowsOf(keyCreateRequest);
    const onKey = { resource_type: "key", resource_id: named.key_id, organization_id: team.organizationId };
    expectRow(keyCreateRow, { action: "key.create", ...onKey, status: 200 });
    expect(JSON.parse(keyCreateRow.summary)).toEqual({ name: "batch" });
    expectRow(await write("PATCH", `/api/teams/${team.teamId}/keys/${named.key_id}`, { ...k, body: { name: "nightly" }, status: 200 }), {
      action: "key.update",
      ...onKey,
    });
    expectRow(await write("DELETE", `/api/teams/${team.teamId}/keys/${named.key_id}`, { ...k, status: 200 }), {
      action: "key.revoke",
      ...onKey,
    });
    const hook = { url: `${inject("webhookReceiverUrl")}/audit`, events: ["job.completed"] };
    const teamHookRequest = uid("req");
    const teamHook = await json("PUT", `/api/teams/${team.teamId}/webhook`, 200, {
      ...k,
      body: hook,
      headers: { "x-request-id": teamHookRequest },
    });
    secrets.push(teamHook.secret);
    const [teamHookRow] = await rowsOf(teamHookRequest);
    expectRow(teamHookRow, { action: "team.webhook_set", ...onTeam, status: 200 });
    expect(JSON.parse(teamHookRow.summary)).toEqual(hook);
    expectRow(await write("DELETE", `/api/teams/${team.teamId}/webhook`, { ...k, status: 200 }), {
      action: "team.webhook_delete",
      ...onTeam,
    });
    const orgHookRequest = uid("req");
    const orgHook = await json("PUT", `/api/organizations/${org}/webhook`, 200, {
      ...k,
      body: hook,
      headers: { "x-request-id": orgHookRequest },
    });
    secrets.push(orgHook.secret);
    const [orgHookRow] = await rowsOf(orgHookRequest);
    expectRow(orgHookRow, { action: "organization.webhook_set", resource_type: "organization", resource_id: org, organization_id: org });
    expectRow(await write("DELETE", `/api/organizations/${org}/webhook`, { ...k, status: 200 }), {
      action: "organization.webhook_delete",
      resource_id: org,
      organization_id: org,
    });
    const model = uid("model");
    expectRow(
      await write("PUT", "/api/pricing", {
        ...k,
        body: { model_name: model, input_per_million_usd: 1, output_per_million_usd: 2 },
        status: 200,
      }),
      { action: "pricing.set", resource_type: "pricing", resource_id: model },
    );
    expectRow(await write("DELETE", `/api/pricing/${model}`, { ...k, status: 200 }), { action: "pricing.delete", resource_id: model });
    const keyRequest = uid("req");
    const newKey = await json("POST", "/api/admin-keys", 201, {
      ...k,
      body: { name: "billing bot", role: "billing", organization_id: org },
      headers: { "x-request-id": keyRequest },
    });
    secrets.push(newKey.admin_key);
    const [keyRow] = await rowsOf(keyRequest);
    expectRow(keyRow, {
      action: "admin_key.create",
      resource_type: "admin_key",
      resource_id: newKey.key_id,
      organization_id: org,
      status: 201,
    });
    expect(JSON.parse(keyRow.summary)).toEqual({ name: "billing bot", role: "billing", organization_id: org });
    expectRow(await write("DELETE", `/api/admin-keys/${newKey.key_id}`, { ...k, status: 200 }), {
      action: "admin_key.revoke",
      resource_id: newKey.key_id,
    });
    expectRow(await write("DELETE", `/api/teams/${teamId}`, { ...k, status: 200 }), {
      action: "team.delete",
      resource_id: teamId,
      organization_id: org,
    });
    expectRow(await write("DELETE", `/api/model-groups/${group}`, { ...k, status: 200 }), {
      action: "model_group.delete",
      resource_id: group,
    });
    // The bootstrap key is an actor too.
    expectRow(await write("POST", `/api/credits/teams/${team.teamId}/add`, { body: { credits: 1 }, status: 200 }), {
      actor_key_id: "bootstrap",
      actor_name: "bootstrap",
      actor_role: "owner",
    });
    expect([...exercised].sort()).toEqual(Object.keys(AUDITED_ACTIONS).sort());
  });

  it("records refused writes: a missing permission (403), an unknown key (401), out of scope (404), invalid input (422)", async () => {
    const viewerName = uid("viewer");
    const viewer = await json("POST", "/api/admin-keys", 201, { body: { name: viewerName, role: "viewer" } });
    secrets.push(viewer.admin_key);
    const before = await json("GET", `/api/credits/teams/${team.teamId}/balance`, 200);
    expectRow(await write("POST", `/api/credits/teams/${team.teamId}/add`, { key: viewer.admin_key, body: { credits: 50 }, status: 403 }), {
      actor_key_id: viewer.key_id,
      actor_name: viewerName,
      actor_role: "viewer",
      action: "credits.add",
      resource_id: team.teamId,
    });
    const forged = `sk-admin-${"0".repeat(64)}`;
    secrets.push(forged);
    expectRow(await write("POST", `/api/credits/teams/${team.teamId}/add`, { key: forged, body: { credits: 50 }, status: 401 }), {
      actor_key_id: "-",
      actor_name: "unauthenticated",
      actor_role: null,
      organization_id: null,
    });
    // An unknown key cannot file rows under an organization it names.
    expectRow(
      await write("POST", "/api/teams/create", {
        key: forged,
        body: { organization_id: team.organizationId, team_id: uid("t") },
        status: 401,
      }),
      { action: "team.create", organization_id: null },
    );
    // A team key on an admin write is refused and recorded.
    expectRow(await write("POST", `/api/credits/teams/${team.teamId}/add`, { key: team.key, body: { credits: 50 }, status: 403 }), {
      action: "credits.add",
      actor_name: "unauthenticated",
    });
    const other = await createTeam();
    const scoped = await json("POST", "/api/admin-keys", 201, {
      body: { name: uid("scoped"), role: "admin", organization_id: other.organizationId },
    });
    secrets.push(scoped.admin_key);
    expectRow(await write("POST", `/api/credits/teams/${team.teamId}/add`, { key: scoped.admin_key, body: { credits: 50 }, status: 404 }), {
      actor_key_id: scoped.key_id,
      organization_id: other.organizationId,
    });
    expectRow(await write("POST", `/api/credits/teams/${team.teamId}/add`, { body: { credits: -1 }, status: 422 }), {
      action: "credits.add",
    });
    expect(await json("GET", `/api/credits/teams/${team.teamId}/balance`, 200)).toEqual(before);
  });

  it("no row holds a key, the admin key or the pepper", async () => {
    await createGroup(["gpt-4"]);
    const { results } = await env.DB.prepare("SELECT * FROM audit_log").all();
    expect(results.length).toBeGreaterThan(20);
    const dump = JSON.stringify(results);
    for (const secret of secrets) {
      expect(dump).not.toContain(secret);
      expect(dump).not.toContain(secret.slice(-24));
    }
  });

  it("is read newest first, filtered and paged; owner and admin only", async () => {
    const all = await json("GET", "/api/audit-log?limit=200", 200);
    const seqs = all.entries.map((e: any) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a: number, b: number) => b - a));
    const refunds = await json("GET", "/api/audit-log?action=job.refund", 200);
    expect(refunds.entries.length).toBeGreaterThan(0);
    for (const e of refunds.entries) expect(e.action).toBe("job.refund");
    const byActor = await json("GET", "/api/audit-log?actor=bootstrap&limit=5", 200);
    expect(byActor.entries).toHaveLength(5);
    expect(byActor.has_more).toBe(true);
    for (const e of byActor.entries) expect(e.actor_key_id).toBe("bootstrap");
    const onTeam = await json("GET", `/api/audit-log?resource_id=${team.teamId}&organization_id=${team.organizationId}&limit=200`, 200);
    expect(onTeam.entries.length).toBeGreaterThan(5);
    for (const e of onTeam.entries) expect(e).toMatchObject({ resource_id: team.teamId, organization_id: team.organizationId });
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await json("GET", `/api/audit-log?since=${future}`, 200)).entries).toEqual([]);
    expect((await json("GET", `/api/audit-log?until=${future}&limit=1`, 200)).entries).toHaveLength(1);
    await json("GET", "/api/audit-log?since=yesterday", 422);
    const billing = await json("POST", "/api/admin-keys", 201, { body: { name: uid("b"), role: "billing" } });
    expect((await json("GET", "/api/audit-log", 403, { key: billing.admin_key })).detail).toContain("audit.read");
  });

  it("exports every matching row as CSV, newest first, page after page, with a header row", async () => {
    const action = uid("test.export");
    const insert = env.DB.prepare(
      "INSERT INTO audit_log (at, actor_key_id, actor_name, actor_role, action, resource_type, resource_id, organization_id, summary, request_id, client_ip, status) VALUES (?1, 'bootstrap', 'bootstrap', 'owner', ?2, 'team', ?3, NULL, ?4, ?5, NULL, 200)",
    );
    const count = 1203; // more than two of the export's 500-row pages
    await env.DB.batch(
      Array.from({ length: count }, (_, i) =>
        insert.bind(
          new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
          action,
          `team-${i}`,
          JSON.stringify({ reason: `a, "quoted" ${i}` }),
          `req-${i}`,
        ),
      ),
    );
    const res = await api("GET", `/api/audit-log?action=${action}&format=csv&limit=5`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    const lines = (await res.text()).split("\r\n").filter(Boolean);
    expect(lines[0]).toBe(
      "seq,at,actor_key_id,actor_name,actor_role,action,resource_type,resource_id,organization_id,summary,request_id,client_ip,status",
    );
    expect(lines).toHaveLength(count + 1);
    // Newest first: the last row inserted comes first; the summary is JSON, quoted as RFC 4180 asks.
    expect(lines[1]).toContain(`,team-${count - 1},,"{""reason"":""a, \\""quoted\\"" ${count - 1}""}",req-${count - 1},,200`);
    expect(lines[count]).toContain(`,team-0,`);
    const seqs = lines.slice(1).map((line) => Number(line.split(",")[0]));
    expect(new Set(seqs).size).toBe(count);
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    // Accept: text/csv asks the same; the JSON answer is unchanged.
    const accepted = await api("GET", `/api/audit-log?action=${action}`, { headers: { accept: "text/csv" } });
    expect(accepted.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect((await accepted.text()).split("\r\n").filter(Boolean)).toHaveLength(count + 1);
    expect((await json("GET", `/api/audit-log?action=${action}&limit=5`, 200)).entries).toHaveLength(5);
  });

  it("is append-only: no route edits or deletes a row", async () => {
    for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
      expect([404, 405]).toContain((await api(method, "/api/audit-log", { body: {} })).status);
      expect([404, 405]).toContain((await api(method, "/api/audit-log/1", { body: {} })).status);
    }
  });

  it("the cron purges rows past the retention (400 days) and keeps the rest", async () => {
    const old = uid("req");
    await env.DB.prepare(
      "INSERT INTO audit_log (at, actor_key_id, actor_name, action, resource_type, summary, request_id, status) VALUES (?, 'bootstrap', 'bootstrap', 'credits.add', 'team', '{}', ?, 200)",
    )
      .bind(new Date(Date.now() - 401 * 24 * 60 * 60 * 1000).toISOString(), old)
      .run();
    const recent = await write("POST", `/api/credits/teams/${team.teamId}/add`, { body: { credits: 1 }, status: 200 });
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "17 * * * *" }), env);
    expect(await rowsOf(old)).toHaveLength(0);
    expect(await rowsOf(recent.request_id)).toHaveLength(1);
  });

  it("an admin write whose audit row cannot be written is refused (503) and changes nothing", async () => {
    const before = await json("GET", `/api/credits/teams/${team.teamId}/balance`, 200);
    await env.DB.prepare("ALTER TABLE audit_log RENAME TO audit_log_away").run();
    try {
      const res = await api("POST", `/api/credits/teams/${team.teamId}/add`, { body: { credits: 5 } });
      expect(res.status).toBe(503);
    } finally {
      await env.DB.prepare("ALTER TABLE audit_log_away RENAME TO audit_log").run();
    }
    expect(await json("GET", `/api/credits/teams/${team.teamId}/balance`, 200)).toEqual(before);
  });
});
