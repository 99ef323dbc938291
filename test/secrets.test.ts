import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, inject, it, vi } from "vitest";
import { ADMIN_KEY, api, type CallOptions, uid, userMessage } from "./helpers";

// A representative run of every route (successes, errors, call paths, streams) with every
// response body, response header and log line collected; then no secret may appear in any of
// them: not the admin key, not LiteLLM's key, not the pepper, and not a virtual key anywhere but
// the one response that issued it. D1 and the team ledgers are scanned for them too.

const mockUrl = inject("mockLiteLLMUrl");

interface Seen {
  method: string;
  path: string;
  status: number;
  headers: string;
  body: string;
  /** The virtual key this response issued (team creation, rotation), allowed here and only here. */
  issues?: string;
  /** The webhook signing secret this response issued (PUT .../webhook), allowed here and only here. */
  issuesSecret?: string;
}

const seen: Seen[] = [];
const logLines: string[] = [];
const virtualKeys = new Set<string>();
const webhookSecrets = new Set<string>();

async function send(method: string, path: string, options: CallOptions = {}): Promise<{ status: number; body: any; text: string }> {
  const res = await api(method, path, options);
  const text = await res.text(); // streams are read to the end
  let body: any = null;
  try {
    body = JSON.parse(text);
  } catch {
    // SSE, HTML docs
  }
  const issued = typeof body?.virtual_key === "string" ? body.virtual_key : undefined;
  if (issued) virtualKeys.add(issued);
  const issuedSecret = typeof body?.secret === "string" ? body.secret : undefined;
  if (issuedSecret) webhookSecrets.add(issuedSecret);
  seen.push({
    method,
    path,
    status: res.status,
    headers: JSON.stringify([...res.headers]),
    body: text,
    issues: issued,
    issuesSecret: issuedSecret,
  });
  return { status: res.status, body, text };
}

async function expectStatus(expected: number, method: string, path: string, options: CallOptions = {}) {
  const r = await send(method, path, options);
  expect(r.status, `${method} ${path}: ${r.text.slice(0, 300)}`).toBe(expected);
  return r.body;
}

/** The parts of a secret that must not leak: the whole, and for a virtual key what follows its displayed prefix. */
function fragments(secret: string): string[] {
  return secret.startsWith("sk-") && secret.length > 40 ? [secret, secret.slice(11), secret.slice(11, 43)] : [secret];
}

describe("no secret in any response, header or log line", () => {
  beforeEach(() => {
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        logLines.push(
          args
            .map((a) => (typeof a === "string" ? a : a instanceof Error ? `${a.name}: ${a.message}\n${a.stack}` : JSON.stringify(a)))
            .join(" "),
        );
      });
    }
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("a run of every route, including errors and every call path, leaks nothing", async () => {
    const admin = { key: ADMIN_KEY };
    const xAdmin = { key: null, headers: { "x-admin-key": ADMIN_KEY } };

    // Public documents.
    await expectStatus(200, "GET", "/health", { key: null });
    const openapi = await expectStatus(200, "GET", "/openapi.json", { key: null });
    await expectStatus(200, "GET", "/docs", { key: null });

    // Organizations.
    const org = uid("org");
    await expectStatus(200, "POST", "/api/organizations/create", {
      ...admin,
      body: { organization_id: org, name: "Acme", metadata: { tier: "gold" } },
      headers: { "idempotency-key": `org-${org}` },
    });
    await expectStatus(200, "POST", "/api/organizations/create", {
      ...admin,
      body: { organization_id: org, name: "Acme", metadata: { tier: "gold" } },
      headers: { "idempotency-key": `org-${org}` },
    });
    await expectStatus(400, "POST", "/api/organizations/create", { ...xAdmin, body: { organization_id: org, name: "Again" } });
    await expectStatus(200, "GET", `/api/organizations/${org}`, xAdmin);
    await expectStatus(200, "PATCH", `/api/organizations/${org}`, { ...admin, body: { placement: { location_hint: "enam" } } });
    await expectStatus(404, "GET", `/api/organizations/${uid("none")}`, admin);
    await expectStatus(200, "GET", "/api/organizations?limit=2", admin);

    // Model groups: healthy, falling back, failing, rejecting, refusing our LiteLLM key.
    const groups = {
      ok: uid("ok"),
      fallback: uid("fallback"),
      broken: uid("broken"),
      rejects: uid("rejects"),
      badKey: uid("badkey"),
      streamCut: uid("cut"),
      spare: uid("spare"),
      embed: uid("embed"),
    };
    const models: Record<keyof typeof groups, string[]> = {
      ok: ["gpt-4o-mini"],
      fallback: ["gpt-4o-mini+fail=500", "gpt-3.5-turbo"],
      broken: ["gpt-4o-mini+fail=reset", "gpt-3.5-turbo+fail=html"],
      rejects: ["gpt-4o-mini+fail=400"],
      badKey: ["gpt-4o-mini+fail=401"],
      streamCut: ["gpt-4o-mini+fail=midstream"],
      spare: ["gpt-4"],
      embed: ["text-embedding-3-small"],
    };
    for (const [name, group] of Object.entries(groups)) {
      await expectStatus(200, "POST", "/api/model-groups/create", {
        ...admin,
        body: { group_name: group, models: models[name as keyof typeof groups].map((model_name, priority) => ({ model_name, priority })) },
      });
    }
    await expectStatus(400, "POST", "/api/model-groups/create", {
      ...admin,
      body: { group_name: groups.ok, models: [{ model_name: "gpt-4" }] },
    });
    await expectStatus(200, "GET", `/api/model-groups/${groups.ok}`, admin);
    await expectStatus(200, "GET", "/api/model-groups?limit=3", admin);
    await expectStatus(200, "PUT", `/api/model-groups/${groups.spare}/models`, { ...admin, body: [{ model_name: "gpt-4-turbo" }] });
    await expectStatus(422, "PUT", `/api/model-groups/${groups.spare}/models`, { ...admin, body: [] });
    await expectStatus(200, "PATCH", `/api/model-groups/${groups.spare}`, {
      ...admin,
      body: { cache: { ttl_seconds: 60, hit_price_percent: 0 } },
    });
    await expectStatus(422, "PATCH", `/api/model-groups/${groups.spare}`, {
      ...admin,
      body: { cache: { ttl_seconds: -1, hit_price_percent: 0 } },
    });
    await expectStatus(200, "GET", `/api/model-groups/${groups.ok}/usage`, admin);

    // Teams: created with an Idempotency-Key, so its replay is seen too.
    const teamId = uid("team");
    const createBody = {
      organization_id: org,
      team_id: teamId,
      model_groups: Object.values(groups).filter((g) => g !== groups.spare),
      credits_allocated: 50,
    };
    const created = await expectStatus(200, "POST", "/api/teams/create", {
      ...admin,
      body: createBody,
      headers: { "idempotency-key": `team-${teamId}` },
    });
    const replayed = await expectStatus(200, "POST", "/api/teams/create", {
      ...admin,
      body: createBody,
      headers: { "idempotency-key": `team-${teamId}` },
    });
    expect(replayed.virtual_key).toBe(created.virtual_key);
    let key: string = created.virtual_key;
    const team = { key };
    await expectStatus(400, "POST", "/api/teams/create", { ...admin, body: createBody });
    await expectStatus(200, "GET", `/api/teams/${teamId}`, admin);
    await expectStatus(200, "GET", `/api/teams?organization_id=${org}`, admin);
    await expectStatus(200, "PUT", `/api/teams/${teamId}/model-groups`, { ...admin, body: { model_groups: createBody.model_groups } });
    await expectStatus(200, "PATCH", `/api/teams/${teamId}`, {
      ...admin,
      body: { team_alias: "Support", metadata: { cost_center: "42" } },
    });
    await expectStatus(400, "DELETE", `/api/model-groups/${groups.ok}`, admin);
    await expectStatus(200, "DELETE", `/api/model-groups/${groups.spare}`, admin);

    // Credits and pricing.
    await expectStatus(200, "GET", `/api/credits/teams/${teamId}/balance`, team);
    await expectStatus(200, "POST", `/api/credits/teams/${teamId}/add`, {
      ...admin,
      body: { credits: 5, reason: "top-up" },
      headers: { "idempotency-key": `add-${teamId}` },
    });
    await expectStatus(200, "POST", `/api/credits/teams/${teamId}/add`, {
      ...admin,
      body: { credits: 5, reason: "top-up" },
      headers: { "idempotency-key": `add-${teamId}` },
    });
    await expectStatus(200, "GET", `/api/credits/teams/${teamId}/transactions?limit=5`, team);
    await expectStatus(200, "PATCH", `/api/credits/teams/${teamId}/budget-mode`, { ...admin, body: { budget_mode: "job_based" } });
    await expectStatus(200, "PUT", "/api/pricing", {
      ...admin,
      body: { model_name: "gpt-4-turbo", input_per_million_usd: 10, output_per_million_usd: 30 },
    });
    await expectStatus(200, "GET", "/api/pricing", admin);
    await expectStatus(200, "GET", "/api/pricing/gpt-4-turbo", admin);
    await expectStatus(200, "DELETE", "/api/pricing/gpt-4-turbo", admin);
    await expectStatus(404, "GET", "/api/pricing/gpt-4-turbo", admin);
    await expectStatus(404, "DELETE", "/api/pricing/gpt-4-turbo", admin);

    // A job through every call path.
    const job = (
      await expectStatus(200, "POST", "/api/jobs/create", {
        ...team,
        body: { team_id: teamId, job_type: "support", metadata: { ticket: 1 } },
        headers: { "idempotency-key": `job-${teamId}` },
      })
    ).job_id;
    const call = (group: string, extra: Record<string, unknown> = {}) => ({
      ...team,
      body: { model_group: group, messages: userMessage(), purpose: "p", ...extra },
    });
    await expectStatus(200, "POST", `/api/jobs/${job}/llm-call`, call(groups.ok));
    await expectStatus(200, "POST", `/api/jobs/${job}/llm-call`, call(groups.fallback));
    await expectStatus(502, "POST", `/api/jobs/${job}/llm-call`, call(groups.broken));
    await expectStatus(400, "POST", `/api/jobs/${job}/llm-call`, call(groups.rejects));
    await expectStatus(502, "POST", `/api/jobs/${job}/llm-call`, call(groups.badKey));
    await expectStatus(403, "POST", `/api/jobs/${job}/llm-call`, call(uid("unassigned")));
    await expectStatus(422, "POST", `/api/jobs/${job}/llm-call`, call(groups.ok, { temperature: 9 }));
    await expectStatus(200, "POST", `/api/jobs/${job}/llm-call-stream`, call(groups.ok));
    await expectStatus(200, "POST", `/api/jobs/${job}/llm-call-stream`, call(groups.streamCut));
    await expectStatus(502, "POST", `/api/jobs/${job}/llm-call-stream`, call(groups.broken));
    await expectStatus(200, "GET", `/api/jobs/${job}`, team);
    await expectStatus(200, "GET", `/api/jobs/${job}?team_id=${teamId}`, admin);
    await expectStatus(200, "GET", `/api/jobs/${job}/costs`, team);
    await expectStatus(200, "GET", `/api/jobs/${job}/costs?team_id=${teamId}`, admin);
    await expectStatus(200, "PATCH", `/api/jobs/${job}/metadata`, { ...team, body: { metadata: { stage: "done" } } });
    await expectStatus(200, "POST", `/api/jobs/${job}/complete`, { ...team, body: { status: "completed" } });
    await expectStatus(200, "POST", `/api/jobs/${job}/complete`, { ...team, body: { status: "completed" } });
    await expectStatus(409, "POST", `/api/jobs/${job}/complete`, { ...team, body: { status: "failed" } });
    await expectStatus(409, "POST", `/api/jobs/${job}/llm-call`, call(groups.ok));
    await expectStatus(404, "GET", `/api/jobs/${crypto.randomUUID()}`, team);
    await expectStatus(200, "POST", "/api/jobs/create-and-call", {
      ...team,
      body: { team_id: teamId, job_type: "one-shot", model_group: groups.ok, messages: userMessage() },
    });
    await expectStatus(200, "POST", "/api/jobs/create-and-call-stream", {
      ...team,
      body: { team_id: teamId, job_type: "one-shot", model_group: groups.ok, messages: userMessage() },
    });
    // The OpenAI-compatible surface: one-request jobs, a call in a job, errors in OpenAI's shape.
    const v1Chat = (group: string, extra: Record<string, unknown> = {}) => ({
      ...team,
      body: { model: group, messages: userMessage(), ...extra },
    });
    await expectStatus(200, "POST", "/v1/chat/completions", v1Chat(groups.ok));
    await expectStatus(200, "POST", "/v1/chat/completions", v1Chat(groups.ok, { stream: true }));
    await expectStatus(502, "POST", "/v1/chat/completions", v1Chat(groups.broken));
    await expectStatus(502, "POST", "/v1/chat/completions", v1Chat(groups.badKey));
    await expectStatus(400, "POST", "/v1/chat/completions", v1Chat(groups.rejects));
    await expectStatus(404, "POST", "/v1/chat/completions", v1Chat(uid("unassigned")));
    await expectStatus(401, "POST", "/v1/chat/completions", { ...v1Chat(groups.ok), key: "sk-wrong" });
    await expectStatus(200, "POST", "/v1/embeddings", { ...team, body: { model: groups.embed, input: "hello" } });
    await expectStatus(200, "GET", "/v1/models", team);
    // OpenAI's Responses and Anthropic's Messages: the same paths in their own dialects, labels included.
    const responses = (group: string, extra: Record<string, unknown> = {}) => ({
      ...team,
      headers: { "x-gateway-tags": "secrets-run", "x-end-user-id": "customer-1" },
      body: { model: group, input: "Hi", ...extra },
    });
    await expectStatus(200, "POST", "/v1/responses", responses(groups.ok));
    await expectStatus(200, "POST", "/v1/responses", responses(groups.ok, { stream: true }));
    await expectStatus(502, "POST", "/v1/responses", responses(groups.badKey));
    await expectStatus(400, "POST", "/v1/responses", responses(groups.ok, { previous_response_id: "resp_1" }));
    const messages = (group: string, extra: Record<string, unknown> = {}, apiKey = team.key) => ({
      key: null,
      headers: { "x-api-key": apiKey, "anthropic-version": "2023-06-01" },
      body: { model: group, max_tokens: 50, messages: userMessage(), metadata: { user_id: "customer-1" }, ...extra },
    });
    await expectStatus(200, "POST", "/v1/messages", messages(groups.ok));
    await expectStatus(200, "POST", "/v1/messages", messages(groups.ok, { stream: true }));
    await expectStatus(200, "POST", "/v1/messages", messages(groups.streamCut, { stream: true }));
    await expectStatus(502, "POST", "/v1/messages", messages(groups.broken));
    await expectStatus(502, "POST", "/v1/messages", messages(groups.badKey));
    await expectStatus(400, "POST", "/v1/messages", messages(groups.rejects));
    await expectStatus(404, "POST", "/v1/messages", messages(uid("unassigned")));
    await expectStatus(401, "POST", "/v1/messages", messages(groups.ok, {}, "sk-wrong"));
    await expectStatus(200, "GET", "/v1/models", { key: null, headers: { "x-api-key": team.key, "anthropic-version": "2023-06-01" } });
    await expectStatus(200, "GET", `/api/teams/${teamId}/usage?group_by=tag`, team);
    await expectStatus(200, "GET", `/api/teams/${teamId}/usage?group_by=end_user&format=csv`, admin);
    await expectStatus(200, "GET", `/api/teams/${teamId}/jobs?status=completed`, team);
    await expectStatus(200, "GET", `/api/teams/${teamId}/usage`, team);
    await expectStatus(200, "GET", `/api/teams/${teamId}/usage?format=csv`, admin);
    await expectStatus(200, "GET", `/api/credits/teams/${teamId}/transactions?format=csv`, team);
    await expectStatus(200, "GET", `/api/organizations/${org}/usage`, admin);
    await expectStatus(200, "GET", `/api/organizations/${org}/usage`, { ...admin, headers: { accept: "text/csv" } });
    await expectStatus(200, "GET", `/api/stats/dashboard?organization_id=${org}`, admin);
    await expectStatus(200, "POST", `/api/credits/teams/${teamId}/refund`, { ...admin, body: { job_id: job, reason: "goodwill" } });
    await expectStatus(409, "POST", `/api/credits/teams/${teamId}/refund`, { ...admin, body: { job_id: job, reason: "goodwill" } });

    // Webhooks (team and organization): the signing secret is shown by the PUT that made it only.
    const hookUrl = `${inject("webhookReceiverUrl")}/hook/${uid("secrets")}`;
    await expectStatus(200, "PUT", `/api/teams/${teamId}/webhook`, { ...admin, body: { url: hookUrl, low_balance_threshold: 5 } });
    await expectStatus(422, "PUT", `/api/teams/${teamId}/webhook`, {
      ...admin,
      body: { url: "https://10.0.0.1/h", events: ["job.failed"] },
    });
    await expectStatus(200, "GET", `/api/teams/${teamId}/webhook`, xAdmin);
    await expectStatus(200, "PUT", `/api/organizations/${org}/webhook`, { ...admin, body: { url: hookUrl, events: ["team.suspended"] } });
    await expectStatus(200, "GET", `/api/organizations/${org}/webhook`, admin);

    // Status changes.
    await expectStatus(200, "PUT", `/api/teams/${teamId}/pause`, admin);
    await expectStatus(429, "POST", "/api/jobs/create", { ...team, body: { team_id: teamId, job_type: "t" } });
    await expectStatus(200, "PUT", `/api/teams/${teamId}/suspend`, admin);
    await expectStatus(403, "GET", `/api/credits/teams/${teamId}/balance`, team);
    await expectStatus(200, "PUT", `/api/teams/${teamId}/resume`, admin);

    // Every way to be refused, with keys close to the real ones.
    for (const wrong of [`${ADMIN_KEY}x`, ADMIN_KEY.slice(0, -1), `${key}0`, key.slice(0, -1), env.LITELLM_API_KEY!, env.KEY_PEPPER!]) {
      await expectStatus(401, "GET", "/api/organizations", { key: wrong });
      await expectStatus(401, "GET", `/api/credits/teams/${teamId}/balance`, { key: wrong });
      await expectStatus(401, "GET", "/api/organizations", { key: null, headers: { "x-admin-key": wrong } });
    }
    await expectStatus(401, "GET", "/api/organizations", { key: null, headers: { authorization: `Basic ${btoa(`admin:${ADMIN_KEY}`)}` } });
    await expectStatus(401, "GET", "/api/organizations", { key: null, headers: { authorization: `Token ${ADMIN_KEY}` } });
    await expectStatus(403, "GET", "/api/organizations", team);
    await expectStatus(403, "POST", "/api/jobs/create", { ...admin, body: { team_id: teamId, job_type: "t" } });
    await expectStatus(413, "POST", "/api/jobs/create", {
      ...team,
      body: { team_id: teamId, job_type: "t", metadata: { blob: "x".repeat(1_100_000) } },
    });
    await expectStatus(422, "POST", "/api/organizations/create", {
      ...admin,
      rawBody: "{bad json",
      headers: { "content-type": "application/json" },
    });

    // Rotation (with grace, then without), each with a replay.
    const rotate = async (body: unknown, idem: string) => {
      const first = await expectStatus(200, "POST", `/api/teams/${teamId}/keys/rotate`, {
        ...admin,
        body,
        headers: { "idempotency-key": idem },
      });
      const again = await expectStatus(200, "POST", `/api/teams/${teamId}/keys/rotate`, {
        ...admin,
        body,
        headers: { "idempotency-key": idem },
      });
      expect(again.virtual_key).toBe(first.virtual_key);
      return first.virtual_key as string;
    };
    const graceful = await rotate({ grace_seconds: 60 }, `rotate-1-${teamId}`);
    await expectStatus(200, "GET", `/api/credits/teams/${teamId}/balance`, { key });
    key = await rotate({}, `rotate-2-${teamId}`);
    await expectStatus(401, "GET", `/api/credits/teams/${teamId}/balance`, { key: graceful });
    await expectStatus(200, "GET", `/api/credits/teams/${teamId}/balance`, { key });

    // Grants, the allowance and the statement.
    const grant = await expectStatus(200, "POST", `/api/credits/teams/${teamId}/grants`, {
      ...admin,
      body: { credits: 5, source: "promotional", expires_at: "2099-01-01T00:00:00Z", external_ref: `ref-${teamId}` },
    });
    await expectStatus(400, "POST", `/api/credits/teams/${teamId}/grants`, {
      ...admin,
      body: { credits: 6, source: "promotional", external_ref: `ref-${teamId}` },
    });
    await expectStatus(403, "POST", `/api/credits/teams/${teamId}/grants`, { key, body: { credits: 5, source: "paid" } });
    await expectStatus(200, "GET", `/api/credits/teams/${teamId}/grants`, { key });
    await expectStatus(200, "DELETE", `/api/credits/teams/${teamId}/grants/${grant.grant.grant_id}?reason=test`, admin);
    await expectStatus(409, "DELETE", `/api/credits/teams/${teamId}/grants/${grant.grant.grant_id}`, admin);
    await expectStatus(404, "GET", `/api/credits/teams/${teamId}/allowance`, { key });
    await expectStatus(200, "PUT", `/api/credits/teams/${teamId}/allowance`, { ...admin, body: { credits: 10, period: "month" } });
    await expectStatus(200, "GET", `/api/credits/teams/${teamId}/allowance`, { key });
    await expectStatus(200, "DELETE", `/api/credits/teams/${teamId}/allowance`, admin);
    const month = new Date().toISOString().slice(0, 7);
    await expectStatus(200, "GET", `/api/credits/teams/${teamId}/statement?period=${month}`, { key });
    await expectStatus(200, "GET", `/api/credits/teams/${teamId}/statement?period=${month}&format=csv`, admin);
    await expectStatus(422, "GET", `/api/credits/teams/${teamId}/statement?period=last-month`, { key });
    // Named keys: created (shown once), listed, changed, rotated, used, revoked.
    const teamKey = await expectStatus(200, "POST", `/api/teams/${teamId}/keys`, {
      ...admin,
      body: { name: "batch", budget: { credits: 5, period: "day" } },
      headers: { "idempotency-key": `key-${teamId}` },
    });
    await expectStatus(200, "GET", `/api/teams/${teamId}/keys`, admin);
    await expectStatus(200, "GET", `/api/teams/${teamId}/keys`, { key });
    await expectStatus(200, "PATCH", `/api/teams/${teamId}/keys/${teamKey.key_id}`, { ...admin, body: { name: "batch-2" } });
    const teamKeyRotated = await expectStatus(200, "POST", `/api/teams/${teamId}/keys/${teamKey.key_id}/rotate`, { ...admin, body: {} });
    await expectStatus(200, "GET", `/api/credits/teams/${teamId}/balance`, { key: teamKeyRotated.virtual_key });
    await expectStatus(401, "GET", `/api/credits/teams/${teamId}/balance`, { key: teamKey.virtual_key });
    await expectStatus(200, "DELETE", `/api/teams/${teamId}/keys/${teamKey.key_id}`, admin);
    await expectStatus(401, "GET", `/api/credits/teams/${teamId}/balance`, { key: teamKeyRotated.virtual_key });
    await expectStatus(404, "DELETE", `/api/teams/${teamId}/keys/${crypto.randomUUID()}`, admin);

    await expectStatus(200, "GET", `/api/teams/${teamId}/webhook/deliveries`, admin);
    await expectStatus(200, "DELETE", `/api/organizations/${org}/webhook`, admin);
    await expectStatus(200, "DELETE", `/api/teams/${teamId}/webhook`, admin);
    expect(webhookSecrets.size).toBe(2);

    // Deletion last.
    await expectStatus(200, "DELETE", `/api/teams/${teamId}`, admin);
    await expectStatus(404, "DELETE", `/api/teams/${teamId}`, admin);
    await expectStatus(401, "GET", `/api/credits/teams/${teamId}/balance`, { key });

    // Named admin keys and the audit log (which the at-rest check below also reads).
    const named = await expectStatus(201, "POST", "/api/admin-keys", {
      ...admin,
      body: { name: "ops", role: "admin", organization_id: org },
    });
    await expectStatus(200, "GET", "/api/admin-keys/self", { key: named.admin_key });
    await expectStatus(200, "GET", "/api/admin-keys", admin);
    await expectStatus(200, "GET", "/api/audit-log?limit=200", { key: named.admin_key });
    await expectStatus(403, "POST", "/api/admin-keys", { key: named.admin_key, body: { name: "x", role: "owner" } });
    await expectStatus(200, "DELETE", `/api/admin-keys/${named.key_id}`, admin);
    await expectStatus(401, "GET", "/api/audit-log", { key: named.admin_key });

    // --- Every documented operation was exercised.
    const ran = seen.map((s) => `${s.method} ${s.path.split("?")[0]}`);
    for (const [template, operations] of Object.entries(openapi.paths as Record<string, Record<string, unknown>>)) {
      const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`);
      for (const method of Object.keys(operations)) {
        expect(
          ran.some((r) => r.startsWith(`${method.toUpperCase()} `) && pattern.test(r.slice(method.length + 1))),
          `${method.toUpperCase()} ${template} was not exercised`,
        ).toBe(true);
      }
    }
    expect(virtualKeys.size).toBe(5); // the team's, two rotations of it, a named key and its rotation
    // One request line each, at least: each is written just after its answer went out.
    await vi.waitFor(() => expect(logLines.length).toBeGreaterThanOrEqual(seen.length), { timeout: 10_000, interval: 20 });

    // --- Nothing leaked.
    const fixed = { ADMIN_API_KEY: env.ADMIN_API_KEY!, KEY_PEPPER: env.KEY_PEPPER!, LITELLM_API_KEY: env.LITELLM_API_KEY! };
    for (const [name, secret] of Object.entries(fixed)) expect(secret, name).toBeTruthy();
    for (const s of seen) {
      const where = `${s.method} ${s.path} → ${s.status}`;
      for (const [name, secret] of Object.entries(fixed)) {
        expect(s.body, `${name} in the body of ${where}`).not.toContain(secret);
        expect(s.headers, `${name} in the headers of ${where}`).not.toContain(secret);
      }
      for (const secret of webhookSecrets) {
        if (s.issuesSecret !== secret) expect(s.body + s.headers, `a webhook secret in ${where}`).not.toContain(secret.slice(6));
      }
      for (const vk of virtualKeys) {
        if (s.issues === vk) continue;
        for (const part of fragments(vk)) {
          expect(s.body, `a virtual key in the body of ${where}`).not.toContain(part);
          expect(s.headers, `a virtual key in the headers of ${where}`).not.toContain(part);
        }
      }
    }
    const logs = logLines.join("\n");
    for (const [name, secret] of Object.entries(fixed)) expect(logs, `${name} in a log line`).not.toContain(secret);
    for (const vk of virtualKeys) for (const part of fragments(vk)) expect(logs, "a virtual key in a log line").not.toContain(part);
    for (const secret of webhookSecrets) expect(logs, "a webhook secret in a log line").not.toContain(secret.slice(6));

    // --- At rest: D1 and the team's ledger hold none of them either (keys only as keyed hashes).
    const tables = (
      await env.DB.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'",
      ).all<{ name: string }>()
    ).results;
    expect(tables.map((t) => t.name)).toContain("idempotency_records");
    const d1 = [];
    for (const { name } of tables) d1.push(JSON.stringify((await env.DB.prepare(`SELECT * FROM "${name}"`).all()).results));
    const ledgers = [];
    for (const id of [teamId]) {
      const stub = env.TEAM_LEDGER.getByName(id);
      ledgers.push(
        await runInDurableObject(stub, (_instance, state) => {
          const names = state.storage.sql
            .exec<{ name: string }>(
              "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'",
            )
            .toArray();
          return JSON.stringify(names.map(({ name }) => state.storage.sql.exec(`SELECT * FROM "${name}"`).toArray()));
        }),
      );
    }
    // D1 keeps webhook secrets sealed (the team's object keeps its own in clear: it signs with them).
    for (const secret of webhookSecrets) for (const stored of d1) expect(stored, "a webhook secret in D1").not.toContain(secret.slice(6));
    for (const stored of [...d1, ...ledgers]) {
      for (const [name, secret] of Object.entries(fixed)) expect(stored, `${name} stored`).not.toContain(secret);
      for (const vk of virtualKeys)
        for (const part of fragments(vk)) expect(stored, "a virtual key stored in plain text").not.toContain(part);
    }
    // The call paths really reached LiteLLM (so its key was in play) and it never got a virtual key.
    const upstream = await fetch(`${mockUrl}/__mock/requests?user=${encodeURIComponent(teamId)}`).then((r) =>
      r.json<{ requests: unknown[] }>(),
    );
    expect(upstream.requests.length).toBeGreaterThan(5);
    for (const vk of virtualKeys) expect(JSON.stringify(upstream)).not.toContain(vk.slice(11));
  });
});
