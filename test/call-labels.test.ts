import { env, evictDurableObject } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import { api, balance, callBudget, createTeam, expectLedgerConsistent, json, type TestTeam, userMessage } from "./helpers";

// Tags and end users: given by header (X-Gateway-Tags, X-End-User-Id) or by each dialect's own
// fields, recorded on the call (and the tags on its job), reported per tag and per end user in
// the team's usage and its CSV. Bad labels are 422 on every call route, before anything opens.

async function jobOf(team: TestTeam, jobId: string) {
  return json("GET", `/api/jobs/${jobId}`, 200, { key: team.key });
}

/** The one call of the one-request job a /v1 answer names. */
async function callOf(team: TestTeam, res: Response) {
  expect(res.status, await res.clone().text()).toBe(200);
  await res.text(); // a stream is recorded before it ends
  const job = await jobOf(team, res.headers.get("x-job-id")!);
  return { job, call: job.calls[0] };
}

/** Rows of a CSV without quoted fields (tags and these end users hold no commas or quotes). */
function csvRows(text: string): string[][] {
  return text
    .trim()
    .split("\r\n")
    .map((line) => line.split(","));
}

describe("labels on every dialect", () => {
  it("OpenAI chat: X-Gateway-Tags with metadata.tags (each once), user as the end user, LiteLLM told both", async () => {
    const team = await createTeam();
    const res = await api("POST", "/v1/chat/completions", {
      key: team.key,
      headers: { "X-Gateway-Tags": "checkout, beta" },
      body: { model: team.groups[0], messages: userMessage(), user: "user-17", metadata: { tags: "beta,search", note: "x" } },
    });
    const { job, call } = await callOf(team, res);
    expect(call.tags).toEqual(["beta", "search", "checkout"]);
    expect(call.end_user).toBe("user-17");
    expect(job.tags).toEqual(["beta", "search", "checkout"]);

    const sent = await fetch(`${inject("mockLiteLLMUrl")}/__mock/requests?user=${team.teamId}`).then((r) => r.json<any>());
    const metadata = sent.requests.at(-1).body.metadata;
    expect(metadata.end_user).toBe("user-17");
    expect(metadata.tags).toEqual(expect.arrayContaining(["beta", "search", "checkout", `team:${team.teamId}`]));
    expect(metadata.note).toBeUndefined();
  });

  it("X-End-User-Id wins over the body's end user; a job's user_id is its calls' end user, and a call cannot name another", async () => {
    const team = await createTeam();
    const headerWins = await api("POST", "/v1/chat/completions", {
      key: team.key,
      headers: { "X-End-User-Id": "from-header" },
      body: { model: team.groups[0], messages: userMessage(), user: "from-body" },
    });
    expect((await callOf(team, headerWins)).call.end_user).toBe("from-header");

    const job = await json("POST", "/api/jobs/create", 200, {
      key: team.key,
      body: { team_id: team.teamId, job_type: "t", user_id: "owner-3" },
    });
    await json("POST", `/api/jobs/${job.job_id}/llm-call`, 200, {
      key: team.key,
      body: { model_group: team.groups[0], messages: userMessage() },
    });
    const other = await json("POST", `/api/jobs/${job.job_id}/llm-call`, 422, {
      key: team.key,
      headers: { "X-End-User-Id": "someone-else", "X-Gateway-Tags": "step-2" },
      body: { model_group: team.groups[0], messages: userMessage() },
    });
    // FastAPI's 422 list, as every 422 is, naming the end user.
    expect(other.detail).toEqual([
      { loc: ["request", "end_user"], msg: expect.stringContaining("is for end user 'owner-3'"), type: "value_error" },
    ]);
    await json("POST", `/api/jobs/${job.job_id}/llm-call`, 200, {
      key: team.key,
      headers: { "X-End-User-Id": "owner-3", "X-Gateway-Tags": "step-2" },
      body: { model_group: team.groups[0], messages: userMessage() },
    });
    const view = await jobOf(team, job.job_id);
    expect(view.calls.map((c: any) => [c.end_user, c.tags])).toEqual([
      ["owner-3", []],
      ["owner-3", ["step-2"]],
    ]);
    expect(view.tags).toEqual(["step-2"]);
  });

  it("Responses (user, metadata.tags) and Messages (metadata.user_id, metadata.tags as a list), plain and streamed", async () => {
    const team = await createTeam({ credits: 10 });
    const responses = await api("POST", "/v1/responses", {
      key: team.key,
      body: { model: team.groups[0], input: "Hi", user: "r-user", metadata: { tags: "agents" } },
    });
    expect((await callOf(team, responses)).call).toMatchObject({ tags: ["agents"], end_user: "r-user" });

    const streamed = await api("POST", "/v1/responses", {
      key: team.key,
      headers: { "X-Gateway-Tags": "live" },
      body: { model: team.groups[0], input: "Hi", stream: true, safety_identifier: "s-user" },
    });
    expect((await callOf(team, streamed)).call).toMatchObject({ tags: ["live"], end_user: "s-user", stream: true });

    const messages = await api("POST", "/v1/messages", {
      key: team.key,
      headers: { "X-Gateway-Tags": "support" },
      body: {
        model: team.groups[0],
        max_tokens: 50,
        messages: userMessage(),
        metadata: { user_id: "m-user", tags: ["claude", "support"] },
      },
    });
    expect((await callOf(team, messages)).call).toMatchObject({ tags: ["claude", "support"], end_user: "m-user" });

    const messagesStreamed = await api("POST", "/v1/messages", {
      key: team.key,
      body: { model: team.groups[0], max_tokens: 50, stream: true, messages: userMessage(), metadata: { tags: "a,b" } },
    });
    expect((await callOf(team, messagesStreamed)).call).toMatchObject({ tags: ["a", "b"], end_user: null, stream: true });
  });

  it("bad labels are 422 on every route, naming the field, before a job opens or anything is held", async () => {
    const team = await createTeam({ credits: 5 });
    const eleven = Array.from({ length: 11 }, (_, i) => `t${i}`);
    const cases: Array<[string, string, Record<string, string>, unknown, string]> = [
      [
        "POST",
        "/v1/chat/completions",
        { "X-Gateway-Tags": "ok,not ok" },
        { model: team.groups[0], messages: userMessage() },
        "x-gateway-tags",
      ],
      [
        "POST",
        "/v1/chat/completions",
        {},
        { model: team.groups[0], messages: userMessage(), metadata: { tags: eleven.join(",") } },
        "metadata",
      ],
      [
        "POST",
        "/v1/chat/completions",
        { "X-Gateway-Tags": eleven.slice(0, 6).join(",") },
        { model: team.groups[0], messages: userMessage(), metadata: { tags: eleven.slice(5).join(",") } },
        "x-gateway-tags",
      ],
      ["POST", "/v1/responses", { "X-Gateway-Tags": "x".repeat(65) }, { model: team.groups[0], input: "Hi" }, "x-gateway-tags"],
      [
        "POST",
        "/v1/messages",
        {},
        { model: team.groups[0], max_tokens: 9, messages: userMessage(), metadata: { tags: ["a b"] } },
        "metadata",
      ],
      [
        "POST",
        "/v1/messages",
        { "X-End-User-Id": "a\u0001b" },
        { model: team.groups[0], max_tokens: 9, messages: userMessage() },
        "x-end-user-id",
      ],
      [
        "POST",
        "/api/jobs/create-and-call",
        { "X-Gateway-Tags": "a;b" },
        { team_id: team.teamId, job_type: "t", model_group: team.groups[0], messages: userMessage() },
        "x-gateway-tags",
      ],
    ];
    for (const [method, path, headers, body, field] of cases) {
      const res = await api(method, path, { key: team.key, headers, body });
      const text = await res.text();
      expect(res.status, `${path} ${JSON.stringify(headers)}: ${text}`).toBe(422);
      expect(text).toContain(field);
    }
    const jobs = await json("GET", `/api/teams/${team.teamId}/jobs`, 200, { key: team.key });
    expect(jobs.jobs).toHaveLength(0);
    expect((await balance(team)).credits_remaining).toBe(5);
    await expectLedgerConsistent(team);
  });
});

describe("labels of a call settled from its hold", () => {
  it("a call whose record never came keeps its tags, and its job's user_id as its end user, in the job and the usage", async () => {
    const team = await createTeam({ credits: 20, extra: { budget_mode: "consumption_tokens", tokens_per_credit: 100 } });
    const job = await json("POST", "/api/jobs/create", 200, { key: team.key, body: { job_type: "t", user_id: "owner-9" } });
    const ledger = env.TEAM_LEDGER.getByName(team.teamId);
    const budget = callBudget(crypto.randomUUID(), { maxTokens: 80, labels: { tags: ["lost"], endUser: null } });
    expect((await ledger.beginCall({ kind: "admin" }, job.job_id, team.groups[0], "team", budget)).ok).toBe(true);
    await evictDurableObject(ledger);
    await json("POST", `/api/jobs/${job.job_id}/complete`, 200, { key: team.key, body: { status: "completed" } });
    const view = await jobOf(team, job.job_id);
    expect(view.calls[0]).toMatchObject({ status: "unrecorded", tags: ["lost"], end_user: "owner-9" });
    expect(view.tags).toEqual(["lost"]);
    const usage = await json("GET", `/api/teams/${team.teamId}/usage?group_by=tag`, 200, { key: team.key });
    expect(usage.tags.lost).toMatchObject({ calls: 1, total_tokens: 100 });
    await expectLedgerConsistent(team);
  });
});

describe("labels and Idempotency-Key", () => {
  it("a retry with the same key and labels replays the first answer; other labels under the same key are 422", async () => {
    const team = await createTeam({ credits: 5 });
    const send = (tags: string) =>
      api("POST", "/v1/chat/completions", {
        key: team.key,
        headers: { "Idempotency-Key": "labels-1", "X-Gateway-Tags": tags },
        body: { model: team.groups[0], messages: userMessage() },
      });
    const first = await send("checkout");
    expect(first.status).toBe(200);
    const again = await send("checkout");
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(await first.json());
    const other = await send("search");
    expect(other.status).toBe(422);
    expect((await balance(team)).credits_remaining).toBe(4);
  });
});

describe("usage per tag and per end user", () => {
  it("group_by=tag and group_by=end_user break the calls down in JSON and CSV; end users add up to the totals", async () => {
    const team = await createTeam({ credits: 20 });
    const call = (headers: Record<string, string>, user?: string) =>
      api("POST", "/v1/chat/completions", { key: team.key, headers, body: { model: team.groups[0], messages: userMessage(), user } }).then(
        (r) => r.text(),
      );
    await call({ "X-Gateway-Tags": "checkout" }, "alice");
    await call({ "X-Gateway-Tags": "checkout,beta" }, "alice");
    await call({ "X-Gateway-Tags": "search" }, "bob");
    await call({});

    const plain = await json("GET", `/api/teams/${team.teamId}/usage`, 200, { key: team.key });
    expect(plain.tags).toBeUndefined();
    expect(plain.end_users).toBeUndefined();

    const byTag = await json("GET", `/api/teams/${team.teamId}/usage?group_by=tag`, 200, { key: team.key });
    expect(Object.fromEntries(Object.entries(byTag.tags).map(([tag, u]: [string, any]) => [tag, u.calls]))).toEqual({
      checkout: 2,
      beta: 1,
      search: 1,
      "(none)": 1,
    });
    expect(byTag.tags.checkout.provider_cost_usd).toBeUndefined();

    const byUser = await json("GET", `/api/teams/${team.teamId}/usage?group_by=end_user`, 200, { key: team.key });
    expect(Object.keys(byUser.end_users).sort()).toEqual(["(none)", "alice", "bob"]);
    const users = Object.values(byUser.end_users) as any[];
    expect(users.reduce((n, u) => n + u.calls, 0)).toBe(byUser.summary.calls);
    expect(users.reduce((n, u) => n + u.total_tokens, 0)).toBe(byUser.summary.total_tokens);
    expect(users.reduce((n, u) => n + u.client_cost_usd, 0)).toBeCloseTo(byUser.summary.client_cost_usd, 9);

    const csv = await api("GET", `/api/teams/${team.teamId}/usage?group_by=end_user&format=csv`, { key: team.key });
    const rows = csvRows(await csv.text());
    const endUserRows = rows.filter((r) => r[2] === "end_user");
    expect(endUserRows.map((r) => [r[3], Number(r[9])])).toEqual([
      ["(none)", 1],
      ["alice", 2],
      ["bob", 1],
    ]);
    const tagCsv = csvRows(await (await api("GET", `/api/teams/${team.teamId}/usage?group_by=tag&format=csv`, { key: team.key })).text());
    expect(tagCsv.filter((r) => r[2] === "tag").map((r) => r[3])).toEqual(["(none)", "beta", "checkout", "search"]);

    const admin = await json("GET", `/api/teams/${team.teamId}/usage?group_by=tag`, 200);
    expect(admin.tags.checkout.provider_cost_usd).toBeGreaterThan(0);

    const bad = await api("GET", `/api/teams/${team.teamId}/usage?group_by=model`, { key: team.key });
    expect(bad.status).toBe(422);
  });
});
