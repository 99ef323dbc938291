import { describe, expect, it } from "vitest";
import { api, balance, createTeam, expectLedgerConsistent, json, type TestTeam, userMessage } from "./helpers";

// Where the dialects meet the named keys: a key narrowed to some groups, revoked, or with its own
// budget is held to it on /v1/responses, /v1/messages and both shapes of /v1/models; one end user
// (X-End-User-Id, OpenAI's `user`, Anthropic's `metadata.user_id`, a job's `user_id`) is what the
// team's end_user_budget holds and what usage reports per end user; usage per key, tag and end
// user in JSON and CSV.

async function createKey(team: TestTeam, body: Record<string, unknown>) {
  return json("POST", `/api/teams/${team.teamId}/keys`, 200, { body });
}

/** /v1/messages as Anthropic's SDKs send it: the key in x-api-key, with anthropic-version. */
function messages(key: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return api("POST", "/v1/messages", {
    key: null,
    headers: { "x-api-key": key, "anthropic-version": "2023-06-01", ...headers },
    body: { max_tokens: 50, messages: userMessage(), ...body },
  });
}

function responses(key: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return api("POST", "/v1/responses", { key, headers, body: { input: "Hi", ...body } });
}

/** An Anthropic error answer: its status, and its `{type: error, error: {type, message}}` body. */
async function anthropicError(res: Response, status: number, type: string) {
  const body = await res.json<any>();
  expect(res.status, JSON.stringify(body)).toBe(status);
  expect(body).toMatchObject({ type: "error", error: { type } });
  expect(typeof body.error.message).toBe("string");
  return body.error.message as string;
}

/** Rows of a CSV without quoted fields (these names hold no commas or quotes). */
function csvRows(text: string): string[][] {
  return text
    .trim()
    .split("\r\n")
    .map((line) => line.split(","));
}

describe("named keys on /v1/responses, /v1/messages and /v1/models", () => {
  it("a narrowed key is 404 in each dialect's shape for a group not its own, and sees only its groups in both model lists", async () => {
    const team = await createTeam({ models: [["gpt-4o-mini"], ["gpt-4"]] });
    const narrow = await createKey(team, { name: "support-bot", model_groups: [team.groups[0]] });

    const own = await messages(narrow.virtual_key, { model: team.groups[0] });
    expect(own.status, await own.clone().text()).toBe(200);
    expect((await own.json<any>()).type).toBe("message");
    const message = await anthropicError(await messages(narrow.virtual_key, { model: team.groups[1] }), 404, "not_found_error");
    expect(message).toContain(team.groups[1]);
    // The team's own key keeps every group.
    expect((await messages(team.key, { model: team.groups[1] })).status).toBe(200);

    expect((await responses(narrow.virtual_key, { model: team.groups[0] })).status).toBe(200);
    const refused = await responses(narrow.virtual_key, { model: team.groups[1] });
    expect(refused.status).toBe(404);
    expect((await refused.json<any>()).error).toMatchObject({ type: "invalid_request_error", code: "model_not_found" });

    const openAIList = await json("GET", "/v1/models", 200, { key: narrow.virtual_key });
    expect(openAIList.data.map((m: any) => m.id)).toEqual([team.groups[0]]);
    const anthropicList = await json("GET", "/v1/models", 200, {
      key: null,
      headers: { "x-api-key": narrow.virtual_key, "anthropic-version": "2023-06-01" },
    });
    expect(anthropicList).toMatchObject({
      data: [{ type: "model", id: team.groups[0] }],
      first_id: team.groups[0],
      last_id: team.groups[0],
    });
    const teamList = await json("GET", "/v1/models", 200, {
      key: null,
      headers: { "x-api-key": team.key, "anthropic-version": "2023-06-01" },
    });
    expect(teamList.data.map((m: any) => m.id).sort()).toEqual([...team.groups].sort());
    await expectLedgerConsistent(team);
  });

  it("a revoked key is 401 on the very next /v1/messages, /v1/responses and /v1/models request; the team's key goes on", async () => {
    const team = await createTeam();
    const doomed = await createKey(team, { name: "doomed" });
    expect((await messages(doomed.virtual_key, { model: team.groups[0] })).status).toBe(200);
    await json("DELETE", `/api/teams/${team.teamId}/keys/${doomed.key_id}`, 200);

    await anthropicError(await messages(doomed.virtual_key, { model: team.groups[0] }), 401, "authentication_error");
    const streamed = await messages(doomed.virtual_key, { model: team.groups[0], stream: true });
    await anthropicError(streamed, 401, "authentication_error");
    const res = await responses(doomed.virtual_key, { model: team.groups[0] });
    expect(res.status).toBe(401);
    expect((await res.json<any>()).error.type).toBe("invalid_request_error");
    expect((await api("GET", "/v1/models", { key: doomed.virtual_key })).status).toBe(401);
    await anthropicError(
      await api("GET", "/v1/models", { key: null, headers: { "x-api-key": doomed.virtual_key, "anthropic-version": "2023-06-01" } }),
      401,
      "authentication_error",
    );
    expect((await messages(team.key, { model: team.groups[0] })).status).toBe(200);
    expect((await balance(team)).credits_used).toBe(2);
  });

  it("a key's budget holds its /v1/messages and /v1/responses calls: 402 billing_error once spent, the team's key goes on", async () => {
    const team = await createTeam({ credits: 50 });
    const capped = await createKey(team, { name: "capped", budget: { credits: 2, period: "day" } });
    expect((await messages(capped.virtual_key, { model: team.groups[0] })).status).toBe(200);
    expect((await responses(capped.virtual_key, { model: team.groups[0], stream: true }).then((r) => r.text())).length).toBeGreaterThan(0);
    const message = await anthropicError(await messages(capped.virtual_key, { model: team.groups[0] }), 402, "billing_error");
    expect(message).toContain("key 'capped'");
    const refused = await responses(capped.virtual_key, { model: team.groups[0] });
    expect(refused.status).toBe(402);
    expect((await messages(team.key, { model: team.groups[0] })).status).toBe(200);
    const keys = (await json("GET", `/api/teams/${team.teamId}/keys`, 200)).keys as any[];
    expect(keys.find((k) => k.name === "capped").budget).toMatchObject({ spent_credits: 2, held_credits: 0 });
    expect((await balance(team)).credits_used).toBe(3);
    await expectLedgerConsistent(team);
  });
});

describe("one end user: what the end-user budget holds is what usage reports", () => {
  it("an end user named by Anthropic's metadata.user_id over the end_user_budget gets 402 billing_error while another continues", async () => {
    const team = await createTeam({ credits: 50 });
    await json("PATCH", `/api/teams/${team.teamId}`, 200, { body: { end_user_budget: { credits: 1, period: "day" } } });
    const forUser = (user: string) => ({ model: team.groups[0], metadata: { user_id: user } });

    const first = await messages(team.key, forUser("ann"));
    expect(first.status, await first.clone().text()).toBe(200);
    const job = await json("GET", `/api/jobs/${first.headers.get("x-job-id")}`, 200, { key: team.key });
    expect(job.end_user).toBe("ann");
    expect(job.calls[0].end_user).toBe("ann");

    const message = await anthropicError(await messages(team.key, forUser("ann")), 402, "billing_error");
    expect(message).toContain("end user 'ann' has a budget of 1 credit(s) per day");
    await anthropicError(await messages(team.key, { ...forUser("ann"), stream: true }), 402, "billing_error");
    // The same end user by the other names is held by the same budget...
    expect((await messages(team.key, { model: team.groups[0] }, { "x-end-user-id": "ann" })).status).toBe(402);
    expect((await responses(team.key, { model: team.groups[0], user: "ann" })).status).toBe(402);
    expect((await responses(team.key, { model: team.groups[0] }, { "x-end-user-id": "ann" })).status).toBe(402);
    const jobForAnn = await api("POST", "/api/jobs/create", { key: team.key, body: { job_type: "t", user_id: "ann" } });
    expect(jobForAnn.status).toBe(402);
    // ...while another end user, and calls for none, go on.
    expect((await messages(team.key, forUser("ben"))).status).toBe(200);
    const streamed = await messages(team.key, { ...forUser("cy"), stream: true });
    expect(streamed.status).toBe(200);
    expect(await streamed.text()).toContain("message_stop");
    expect((await responses(team.key, { model: team.groups[0], user: "dee" })).status).toBe(200);
    expect((await messages(team.key, { model: team.groups[0] })).status).toBe(200);

    const usage = await json("GET", `/api/teams/${team.teamId}/usage?group_by=end_user`, 200, { key: team.key });
    expect(Object.fromEntries(Object.entries(usage.end_users).map(([user, u]: [string, any]) => [user, u.calls]))).toEqual({
      ann: 1,
      ben: 1,
      cy: 1,
      dee: 1,
      "(none)": 1,
    });
    expect((await balance(team)).credits_used).toBe(5);
    await expectLedgerConsistent(team);
  });

  it("a job is for one end user: its calls are theirs, and a call in it naming another is 422 before anything is held", async () => {
    const team = await createTeam({ credits: 20 });
    const job = await json("POST", "/api/jobs/create", 200, { key: team.key, body: { job_type: "agent", user_id: "owner-3" } });
    expect(job.job_id).toBeTruthy();
    const inJob = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
      messages(team.key, { model: team.groups[0], ...body }, { "x-job-id": job.job_id, ...headers });

    expect((await inJob({})).status).toBe(200);
    expect((await inJob({ metadata: { user_id: "owner-3" } })).status).toBe(200);
    const other = await anthropicError(await inJob({ metadata: { user_id: "someone-else" } }), 422, "invalid_request_error");
    expect(other).toContain("is for end user 'owner-3'");
    expect((await inJob({}, { "x-end-user-id": "someone-else" })).status).toBe(422);
    const openAI = await api("POST", "/v1/chat/completions", {
      key: team.key,
      headers: { "x-job-id": job.job_id },
      body: { model: team.groups[0], messages: userMessage(), user: "someone-else" },
    });
    expect(openAI.status).toBe(422);

    // A job opened for no end user takes calls for none.
    const anonymous = await json("POST", "/api/jobs/create", 200, { key: team.key, body: { job_type: "agent" } });
    const named = await api("POST", `/api/jobs/${anonymous.job_id}/llm-call`, {
      key: team.key,
      headers: { "x-end-user-id": "late" },
      body: { model_group: team.groups[0], messages: userMessage() },
    });
    expect(named.status).toBe(422);
    expect((await named.json<any>()).detail).toEqual([
      expect.objectContaining({ loc: ["request", "end_user"], msg: expect.stringContaining("is for no end user") }),
    ]);

    const view = await json("GET", `/api/jobs/${job.job_id}`, 200, { key: team.key });
    expect(view.calls.map((c: any) => c.end_user)).toEqual(["owner-3", "owner-3"]);
    const held = await balance(team);
    expect(held.credits_reserved).toBe(2); // the two open jobs' reservations, nothing held by the refused calls
    await json("POST", `/api/jobs/${job.job_id}/complete`, 200, { key: team.key, body: { status: "completed" } });
    const usage = await json("GET", `/api/teams/${team.teamId}/usage?group_by=end_user`, 200, { key: team.key });
    expect(Object.keys(usage.end_users)).toEqual(["owner-3"]);
    expect(usage.end_users["owner-3"].calls).toBe(2);
    await expectLedgerConsistent(team);
  });
});

describe("usage per key, tag and end user", () => {
  it("group_by=key|tag|end_user over calls of every dialect, in JSON and CSV; each adds up to the totals", async () => {
    const team = await createTeam({ credits: 50 });
    const batch = await createKey(team, { name: "batch" });
    const [defaultKey] = (await json("GET", `/api/teams/${team.teamId}/keys`, 200)).keys as any[];
    const group = team.groups[0];
    const sent = [
      await messages(team.key, { model: group, metadata: { user_id: "ann", tags: ["support"] } }),
      await messages(batch.virtual_key, { model: group, stream: true }, { "x-gateway-tags": "nightly" }),
      await responses(batch.virtual_key, { model: group, user: "ben", metadata: { tags: "nightly,search" } }),
      await api("POST", "/v1/chat/completions", {
        key: team.key,
        headers: { "x-end-user-id": "ann" },
        body: { model: group, messages: userMessage() },
      }),
    ];
    for (const res of sent) {
      expect(res.status).toBe(200);
      await res.text();
    }
    const usageOf = (groupBy: string) => json("GET", `/api/teams/${team.teamId}/usage?group_by=${groupBy}`, 200, { key: team.key });
    const calls = (byName: Record<string, any>) => Object.fromEntries(Object.entries(byName).map(([name, u]) => [name, u.calls]));

    const byKey = await usageOf("key");
    expect(calls(byKey.keys)).toEqual({ [defaultKey.key_id]: 2, [batch.key_id]: 2 });
    expect(byKey.keys[batch.key_id]).toMatchObject({ name: "batch", jobs: 2, completed: 2, credits_charged: 2 });
    const byTag = await usageOf("tag");
    expect(calls(byTag.tags)).toEqual({ support: 1, nightly: 2, search: 1, "(none)": 1 });
    const byUser = await usageOf("end_user");
    expect(calls(byUser.end_users)).toEqual({ ann: 2, ben: 1, "(none)": 1 });
    for (const report of [byKey, byUser]) {
      const parts = Object.values(report.keys ?? report.end_users) as any[];
      expect(parts.reduce((n, u) => n + u.total_tokens, 0)).toBe(report.summary.total_tokens);
    }

    const csvOf = async (groupBy: string) =>
      csvRows(await (await api("GET", `/api/teams/${team.teamId}/usage?group_by=${groupBy}&format=csv`, { key: team.key })).text());
    const keyCsv = await csvOf("key");
    expect(keyCsv[0].slice(0, 5)).toEqual(["period", "team_id", "key_id", "key_name", "jobs"]);
    expect(keyCsv.slice(1).map((r) => [r[3], Number(r[keyCsv[0].indexOf("calls")])])).toEqual(
      expect.arrayContaining([
        ["default", 2],
        ["batch", 2],
      ]),
    );
    const tagCsv = await csvOf("tag");
    expect(tagCsv.filter((r) => r[2] === "tag").map((r) => r[3])).toEqual(["(none)", "nightly", "search", "support"]);
    const userCsv = await csvOf("end_user");
    expect(userCsv.filter((r) => r[2] === "end_user").map((r) => [r[3], Number(r[userCsv[0].indexOf("calls")])])).toEqual([
      ["(none)", 1],
      ["ann", 2],
      ["ben", 1],
    ]);
    expect((await api("GET", `/api/teams/${team.teamId}/usage?group_by=model`, { key: team.key })).status).toBe(422);
    await expectLedgerConsistent(team);
  });
});
