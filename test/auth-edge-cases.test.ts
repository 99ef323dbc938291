import { describe, expect, inject, it } from "vitest";
import {
  ADMIN_KEY,
  api,
  balance,
  createJob,
  createTeam,
  expectLedgerConsistent,
  json,
  llmCall,
  type TestTeam,
  upstreamRequests,
  userMessage,
} from "./helpers";

// Credentials at the edges: missing, malformed, unknown, revoked, rotated, the wrong kind of key,
// and a team probing for another team's jobs. The happy paths and the per-route 403s for team
// keys on admin routes are in isolation.test.ts.

const mockUrl = inject("mockLiteLLMUrl");

async function status(res: Response): Promise<{ status: number; detail: unknown }> {
  const text = await res.text();
  expect(res.headers.get("content-type"), text).toMatch(/^application\/json/);
  return { status: res.status, detail: JSON.parse(text).detail };
}

/** A balance read and a job creation with a raw Authorization header (or none). */
async function asHeader(team: TestTeam, headers: Record<string, string>) {
  return {
    read: await status(await api("GET", `/api/credits/teams/${team.teamId}/balance`, { key: null, headers })),
    create: await status(await api("POST", "/api/jobs/create", { key: null, headers, body: { team_id: team.teamId, job_type: "t" } })),
    admin: await status(await api("GET", "/api/organizations", { key: null, headers })),
  };
}

describe("missing and malformed credentials are 401", () => {
  it("no Authorization header at all", async () => {
    const team = await createTeam({ credits: 3 });
    const answers = await asHeader(team, {});
    for (const a of Object.values(answers))
      expect(a).toEqual({ status: 401, detail: "Missing credentials: send 'Authorization: Bearer <key>'" });
    expect((await balance(team)).credits_reserved).toBe(0);
  });

  const MALFORMED: Array<[string, (key: string) => string]> = [
    ["an empty header", () => ""],
    ["'Bearer' with no key", () => "Bearer"],
    ["'Bearer ' with only spaces", () => "Bearer    "],
    ["Basic credentials", (key) => `Basic ${btoa(`team:${key}`)}`],
    ["'Basic x'", () => "Basic x"],
    ["another scheme", (key) => `Token ${key}`],
    ["the key with no scheme", (key) => key],
    ["no space after Bearer", (key) => `Bearer${key}`],
    ["a tab instead of a space", (key) => `Bearer\t${key}`],
    ["two keys", (key) => `Bearer ${key} ${key}`],
    ["the key and a trailing word", (key) => `Bearer ${key} please`],
    ["a comma-joined second credential", (key) => `Bearer ${key}, Basic x`],
  ];
  for (const [what, header] of MALFORMED) {
    it(`${what}: 401, even with the team's real key in it`, async () => {
      const team = await createTeam({ credits: 3 });
      const answers = await asHeader(team, { authorization: header(team.key) });
      for (const a of Object.values(answers)) {
        expect(a.status).toBe(401);
        expect(a.detail).toMatch(/^(Malformed Authorization header|Missing credentials)/);
      }
      expect((await balance(team)).credits_reserved).toBe(0);
    });
  }

  it("what RFC 7235/6750 allow is accepted: a lowercase scheme and several spaces; with a bad key they are 401", async () => {
    const team = await createTeam({ credits: 3 });
    for (const header of [`bearer ${team.key}`, `BEARER ${team.key}`, `Bearer  ${team.key}`]) {
      expect(
        (await status(await api("GET", `/api/credits/teams/${team.teamId}/balance`, { key: null, headers: { authorization: header } })))
          .status,
        header,
      ).toBe(200);
    }
    for (const header of [`bearer ${team.key}x`, `Bearer  sk-${"0".repeat(64)}`]) {
      expect(
        await status(await api("GET", `/api/credits/teams/${team.teamId}/balance`, { key: null, headers: { authorization: header } })),
      ).toEqual({ status: 401, detail: "Invalid API key" });
    }
  });

  it("a body is not looked at before the caller is known: an invalid body without a key is 401, not 422", async () => {
    const team = await createTeam({ credits: 3 });
    const job = await createJob(team);
    for (const [method, path, body] of [
      ["POST", "/api/organizations/create", { organization_id: "bad id" }],
      ["POST", "/api/jobs/create", { team_id: 7 }],
      ["POST", `/api/jobs/${job}/llm-call`, { messages: "x" }],
      ["POST", `/api/jobs/${job}/complete`, { status: "DONE" }],
      ["POST", `/api/credits/teams/${team.teamId}/add`, { credits: -1 }],
    ] as const) {
      expect((await api(method, path, { key: null, body })).status, path).toBe(401);
      expect((await api(method, path, { key: `sk-${"f".repeat(64)}`, body })).status, path).toBe(401);
    }
    expect(await upstreamRequests(mockUrl, team.teamId)).toEqual([]);
  });
});

describe("unknown, revoked and rotated keys are 401", () => {
  it("a well-formed key nobody was given, a prefix of a real key, and a real key with a changed letter", async () => {
    const team = await createTeam({ credits: 3 });
    const flipped = team.key.slice(0, -1) + (team.key.endsWith("0") ? "1" : "0");
    for (const key of [
      `sk-${"a".repeat(64)}`,
      team.key.slice(0, 11),
      team.key.slice(0, -1),
      `${team.key}0`,
      flipped,
      team.key.toUpperCase(),
      "x".repeat(10_000),
    ]) {
      const answers = await asHeader(team, { authorization: `Bearer ${key}` });
      for (const a of Object.values(answers)) expect(a).toEqual({ status: 401, detail: "Invalid API key" });
    }
    expect((await balance(team)).credits_reserved).toBe(0);
  });

  it("a rotated key stops at once: 401 on the next request, with the new key working", async () => {
    const team = await createTeam({ credits: 3 });
    const job = await createJob(team);
    const rotated = await json("POST", `/api/teams/${team.teamId}/keys/rotate`, 200, { body: {} });
    for (const send of [
      () => api("GET", `/api/jobs/${job}`, { key: team.key }),
      () => llmCall(team, job),
      () => api("POST", `/api/jobs/${job}/complete`, { key: team.key, body: { status: "completed" } }),
      () => api("GET", `/api/credits/teams/${team.teamId}/balance`, { key: team.key }),
    ]) {
      expect(await status(await send())).toEqual({ status: 401, detail: "Invalid API key" });
    }
    expect(await upstreamRequests(mockUrl, team.teamId)).toEqual([]);
    const renewed = { ...team, key: rotated.virtual_key };
    expect((await llmCall(renewed, job)).status).toBe(200);
    const done = await json("POST", `/api/jobs/${job}/complete`, 200, { key: renewed.key, body: { status: "completed" } });
    expect(done.costs.credits_remaining).toBe(2);
    await expectLedgerConsistent(team);
  });

  it("with grace_seconds the old key works until a second rotation without grace revokes every older key", async () => {
    const team = await createTeam({ credits: 3 });
    const first = await json("POST", `/api/teams/${team.teamId}/keys/rotate`, 200, { body: { grace_seconds: 3600 } });
    expect(first.previous_keys_valid_until).toMatch(/Z$/);
    expect((await api("GET", `/api/credits/teams/${team.teamId}/balance`, { key: team.key })).status).toBe(200);
    expect((await api("GET", `/api/credits/teams/${team.teamId}/balance`, { key: first.virtual_key })).status).toBe(200);
    const second = await json("POST", `/api/teams/${team.teamId}/keys/rotate`, 200, { body: { grace_seconds: 0 } });
    for (const key of [team.key, first.virtual_key]) {
      expect(await status(await api("GET", `/api/credits/teams/${team.teamId}/balance`, { key }))).toEqual({
        status: 401,
        detail: "Invalid API key",
      });
    }
    expect((await api("GET", `/api/credits/teams/${team.teamId}/balance`, { key: second.virtual_key })).status).toBe(200);
  });

  it("a deleted team's key is 401 (not 403 or 404): the team is gone", async () => {
    const team = await createTeam({ credits: 3 });
    const job = await createJob(team);
    await json("DELETE", `/api/teams/${team.teamId}`, 200);
    expect(await status(await api("GET", `/api/jobs/${job}`, { key: team.key }))).toEqual({ status: 401, detail: "Invalid API key" });
    expect(await status(await api("POST", "/api/jobs/create", { key: team.key, body: { team_id: team.teamId, job_type: "t" } }))).toEqual({
      status: 401,
      detail: "Invalid API key",
    });
  });
});

describe("the wrong kind of key", () => {
  it("a team key cannot act as admin on its own team: no self-funding, no key rotation, no settings", async () => {
    const team = await createTeam({ credits: 3 });
    for (const [method, path, body] of [
      ["POST", `/api/credits/teams/${team.teamId}/add`, { credits: 1_000_000 }],
      ["PATCH", `/api/credits/teams/${team.teamId}/budget-mode`, { budget_mode: "consumption_tokens", tokens_per_credit: 1_000_000_000 }],
      ["POST", `/api/teams/${team.teamId}/keys/rotate`, {}],
      ["PUT", `/api/teams/${team.teamId}/resume`, undefined],
      ["GET", `/api/teams/${team.teamId}`, undefined],
    ] as const) {
      const a = await status(await api(method, path, { key: team.key, body }));
      expect(a, path).toEqual({ status: 403, detail: "This route needs the admin key; a team key cannot use it" });
    }
    expect(await balance(team)).toMatchObject({ credits_allocated: 3, credits_remaining: 3, budget_mode: "job_based" });
    expect((await api("GET", `/api/credits/teams/${team.teamId}/balance`, { key: team.key })).status).toBe(200);
    await expectLedgerConsistent(team);
  });

  it("a team key sent as X-Admin-Key is 401 'Invalid admin key', on admin and team routes alike", async () => {
    const team = await createTeam({ credits: 3 });
    for (const [method, path] of [
      ["GET", "/api/organizations"],
      ["GET", `/api/credits/teams/${team.teamId}/balance`],
      ["POST", "/api/jobs/create"],
    ] as const) {
      const res = await api(method, path, {
        key: null,
        headers: { "x-admin-key": team.key },
        body: method === "POST" ? { team_id: team.teamId, job_type: "t" } : undefined,
      });
      expect(await status(res)).toEqual({ status: 401, detail: "Invalid admin key" });
    }
  });

  it("a wrong X-Admin-Key is not rescued by a valid Bearer key", async () => {
    const team = await createTeam({ credits: 3 });
    const res = await api("GET", "/api/organizations", { key: ADMIN_KEY, headers: { "x-admin-key": "sk-admin-guess" } });
    expect(await status(res)).toEqual({ status: 401, detail: "Invalid admin key" });
    const asTeam = await api("GET", `/api/credits/teams/${team.teamId}/balance`, { key: team.key, headers: { "x-admin-key": "" } });
    expect((await status(asTeam)).status).toBe(401);
  });

  it("near-misses of the admin key are 401: case, an extra character, a prefix, doubled", async () => {
    for (const key of [ADMIN_KEY.toUpperCase(), `${ADMIN_KEY}x`, ADMIN_KEY.slice(0, -1), `${ADMIN_KEY}${ADMIN_KEY}`]) {
      expect((await status(await api("GET", "/api/organizations", { key }))).status, key.length.toString()).toBe(401);
      expect((await status(await api("GET", "/api/organizations", { key: null, headers: { "x-admin-key": key } }))).status).toBe(401);
    }
    expect((await api("GET", "/api/organizations", { key: null, headers: { "x-admin-key": ADMIN_KEY } })).status).toBe(200);
  });

  it("the admin key on a call route is 403, and nothing reaches LiteLLM", async () => {
    const team = await createTeam({ credits: 3 });
    const job = await createJob(team);
    for (const path of [`/api/jobs/${job}/llm-call`, `/api/jobs/${job}/llm-call-stream`]) {
      const res = await api("POST", path, { body: { model_group: team.groups[0], messages: userMessage() } });
      expect((await status(res)).status, path).toBe(403);
    }
    expect(await upstreamRequests(mockUrl, team.teamId)).toEqual([]);
  });
});

describe("never a hint that another team's job exists", () => {
  /** Status and body with the probed id replaced, so two answers compare equal when they say the same. */
  async function answer(res: Response, id: string) {
    return { status: res.status, body: (await res.text()).replaceAll(id, "<id>") };
  }

  it("every job route answers another team's job exactly as a job that never existed", async () => {
    const a = await createTeam({ credits: 3 });
    const b = await createTeam({ credits: 3 });
    const bJob = await createJob(b);
    expect((await llmCall(b, bJob)).status).toBe(200);
    const done = await json("POST", `/api/jobs/${await createJob(b)}/complete`, 200, { key: b.key, body: { status: "completed" } });
    const nobody = crypto.randomUUID();
    const probes: Record<string, (id: string) => Promise<Response>> = {
      get: (id) => api("GET", `/api/jobs/${id}`, { key: a.key }),
      call: (id) => api("POST", `/api/jobs/${id}/llm-call`, { key: a.key, body: { model_group: a.groups[0], messages: userMessage() } }),
      stream: (id) =>
        api("POST", `/api/jobs/${id}/llm-call-stream`, { key: a.key, body: { model_group: a.groups[0], messages: userMessage() } }),
      complete: (id) => api("POST", `/api/jobs/${id}/complete`, { key: a.key, body: { status: "completed" } }),
      cancel: (id) => api("POST", `/api/jobs/${id}/complete`, { key: a.key, body: { status: "cancelled" } }),
      "complete with an idempotency key": (id) =>
        api("POST", `/api/jobs/${id}/complete`, { key: a.key, body: { status: "failed" }, headers: { "idempotency-key": "probe-1" } }),
      "admin, asking in A's ledger": (id) => api("GET", `/api/jobs/${id}?team_id=${a.teamId}`, {}),
    };
    for (const [name, probe] of Object.entries(probes)) {
      for (const theirs of [bJob, done.job_id]) {
        const seen = await answer(await probe(theirs), theirs);
        const missing = await answer(await probe(nobody), nobody);
        expect(seen.status, name).toBe(404);
        expect(seen, name).toEqual(missing);
      }
    }
    // B's jobs are untouched and A's ledger never moved.
    expect((await json("GET", `/api/jobs/${bJob}`, 200, { key: b.key })).status).toBe("in_progress");
    expect(await upstreamRequests(mockUrl, a.teamId)).toEqual([]);
    expect(await balance(a)).toMatchObject({ credits_remaining: 3, credits_reserved: 0 });
    expect(await balance(b)).toMatchObject({ credits_remaining: 2, credits_reserved: 1 });
    await expectLedgerConsistent(a);
    await expectLedgerConsistent(b);
  });

  it("another team's id in a path is 403 whether or not that team exists", async () => {
    const a = await createTeam({ credits: 3 });
    const b = await createTeam({ credits: 3 });
    const ghost = `team-that-never-was-${crypto.randomUUID().slice(0, 8)}`;
    for (const path of [
      "/api/credits/teams/{t}/balance",
      "/api/credits/teams/{t}/transactions",
      "/api/teams/{t}/jobs",
      "/api/teams/{t}/usage",
    ]) {
      const real = await answer(await api("GET", path.replace("{t}", b.teamId), { key: a.key }), b.teamId);
      const none = await answer(await api("GET", path.replace("{t}", ghost), { key: a.key }), ghost);
      expect(real.status, path).toBe(403);
      expect(real, path).toEqual(none);
    }
    const claim = await api("POST", "/api/jobs/create", { key: a.key, body: { team_id: b.teamId, job_type: "t" } });
    const claimGhost = await api("POST", "/api/jobs/create", { key: a.key, body: { team_id: ghost, job_type: "t" } });
    expect(await answer(claim, b.teamId)).toEqual(await answer(claimGhost, ghost));
    expect(claim.status).toBe(403);
    expect(await balance(b)).toMatchObject({ credits_reserved: 0 });
  });

  it("an Idempotency-Key another team used replays nothing of theirs", async () => {
    const a = await createTeam({ credits: 3 });
    const b = await createTeam({ credits: 3 });
    const headers = { "idempotency-key": "shared-key-1" };
    const bJob = await json("POST", "/api/jobs/create", 200, { key: b.key, headers, body: { team_id: b.teamId, job_type: "t" } });
    const aJob = await json("POST", "/api/jobs/create", 200, { key: a.key, headers, body: { team_id: a.teamId, job_type: "t" } });
    expect(aJob.job_id).not.toBe(bJob.job_id);
    expect(aJob.team_id).toBe(a.teamId);
    // The same body from A (B's team id) is A's 403, not B's stored answer.
    const replay = await api("POST", "/api/jobs/create", {
      key: a.key,
      headers: { "idempotency-key": "shared-key-2" },
      body: { team_id: b.teamId, job_type: "t" },
    });
    expect(replay.status).toBe(403);
    expect(replay.headers.get("idempotent-replayed")).toBeNull();
    expect(await balance(a)).toMatchObject({ credits_reserved: 1 });
    expect(await balance(b)).toMatchObject({ credits_reserved: 1 });
  });
});
