import { describe, expect, inject, it } from "vitest";
import {
  api,
  balance,
  createJob,
  createTeam,
  expectLedgerConsistent,
  json,
  type TestTeam,
  uid,
  upstreamRequests,
  userMessage,
} from "./helpers";

// Idempotency-Key at its edges: answers of a named admin key do not outlive the team they were
// about, a refusal at admission never uses up a key, and the headers that choose the job are
// part of what a key is compared by.

const mockUrl = inject("mockLiteLLMUrl");

async function namedAdminKey(): Promise<string> {
  const created = await json("POST", "/api/admin-keys", 201, { body: { name: uid("ops"), role: "owner", organization_id: null } });
  return created.admin_key;
}

describe("deleting a team forgets every admin key's idempotency records about it", () => {
  it("a named admin key's top-up runs again on a team re-created with the same id, instead of replaying the old 200", async () => {
    const adminKey = await namedAdminKey();
    const team = await createTeam({ credits: 5 });
    const topUp = { key: adminKey, body: { credits: 10, reason: "top-up" }, headers: { "idempotency-key": "add-10" } };
    await json("POST", `/api/credits/teams/${team.teamId}/add`, 200, topUp);
    const rotated = await json("POST", `/api/teams/${team.teamId}/keys/rotate`, 200, {
      key: adminKey,
      body: {},
      headers: { "idempotency-key": "rotate-1" },
    });
    await json("DELETE", `/api/teams/${team.teamId}`, 200, { key: adminKey });

    const created = await json("POST", "/api/teams/create", 200, {
      body: { organization_id: team.organizationId, team_id: team.teamId, model_groups: team.groups, credits_allocated: 5 },
    });
    const again: TestTeam = { ...team, key: created.virtual_key, created };
    const res = await api("POST", `/api/credits/teams/${team.teamId}/add`, topUp);
    expect(res.status).toBe(200);
    expect(res.headers.get("idempotent-replayed")).toBeNull();
    const b = await expectLedgerConsistent(again);
    expect(b.credits_allocated).toBe(15);

    // The rotation is not replayed either: a new key, which works, not the deleted team's.
    const rotatedAgain = await json("POST", `/api/teams/${team.teamId}/keys/rotate`, 200, {
      key: adminKey,
      body: {},
      headers: { "idempotency-key": "rotate-1" },
    });
    expect(rotatedAgain.virtual_key).not.toBe(rotated.virtual_key);
    await json("GET", `/api/credits/teams/${team.teamId}/balance`, 200, { key: rotatedAgain.virtual_key });
  });
});

// 1 credit is $0.001 here: max_tokens 10,000 of a priced model ($0.006) cannot be held with 1
// credit, so the call is refused (402) at admission, after its one-request job was opened (and
// closed failed); with 1,001 credits it fits.
let variant = 0;
async function pricedTeam(credits: number): Promise<TestTeam> {
  variant += 1;
  const model = `gpt-4o-mini+ttfb=${variant}`;
  await json("PUT", "/api/pricing", 200, { body: { model_name: model, input_per_million_usd: 0.15, output_per_million_usd: 0.6 } });
  return createTeam({ credits, models: [[model]], extra: { budget_mode: "consumption_usd", credits_per_dollar: 1000 } });
}

describe("a one-request job refused at admission does not use up its Idempotency-Key", () => {
  it("create-and-call: 402, then after a top-up the same request with the same key runs and is charged once", async () => {
    const team = await pricedTeam(1);
    const body = { team_id: team.teamId, job_type: "one_shot", model_group: team.groups[0], messages: userMessage(), max_tokens: 10_000 };
    const headers = { "idempotency-key": "cc-refused-1" };
    const refused = await api("POST", "/api/jobs/create-and-call", { key: team.key, body, headers });
    expect(refused.status).toBe(402);
    expect(await upstreamRequests(mockUrl, team.teamId)).toEqual([]);

    await json("POST", `/api/credits/teams/${team.teamId}/add`, 200, { body: { credits: 1000 } });
    const ran = await api("POST", "/api/jobs/create-and-call", { key: team.key, body, headers });
    const answer = await ran.json<any>();
    expect(ran.status, JSON.stringify(answer)).toBe(200);
    expect(answer.status).toBe("completed");
    expect(await upstreamRequests(mockUrl, team.teamId)).toHaveLength(1);

    // Now the answer is kept: the same key replays it and calls nothing.
    const replay = await api("POST", "/api/jobs/create-and-call", { key: team.key, body, headers });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect((await replay.json<any>()).job_id).toBe(answer.job_id);
    expect(await upstreamRequests(mockUrl, team.teamId)).toHaveLength(1);
    await expectLedgerConsistent(team);
  });

  it("/v1/chat/completions without X-Job-Id: 402, then after a top-up the same key runs", async () => {
    const team = await pricedTeam(1);
    const body = { model: team.groups[0], messages: userMessage(), max_tokens: 10_000 };
    const headers = { "idempotency-key": "v1-refused-1" };
    const refused = await api("POST", "/v1/chat/completions", { key: team.key, body, headers });
    expect(refused.status).toBe(402);

    await json("POST", `/api/credits/teams/${team.teamId}/add`, 200, { body: { credits: 1000 } });
    const ran = await api("POST", "/v1/chat/completions", { key: team.key, body, headers });
    const completion = await ran.json<any>();
    expect(ran.status, JSON.stringify(completion)).toBe(200);
    expect(completion.object).toBe("chat.completion");
    expect(await upstreamRequests(mockUrl, team.teamId)).toHaveLength(1);
    const jobs = (await json("GET", `/api/teams/${team.teamId}/jobs?limit=10`, 200, { key: team.key })).jobs;
    // The refused attempt's job (failed, never charged) and the one that ran (completed).
    expect(jobs.map((j: any) => j.status).sort()).toEqual(["completed", "failed"]);
    await expectLedgerConsistent(team);
    expect((await balance(team)).credits_used).toBeGreaterThan(0);
  });
});

describe("the headers that choose the job are part of an Idempotency-Key's request", () => {
  it("the same body and key with another X-Job-Id is 422, as for a changed body", async () => {
    const team = await createTeam({ credits: 10 });
    const [first, second] = [await createJob(team), await createJob(team)];
    const body = { model: team.groups[0], messages: userMessage() };
    const key = "v1-job-header-1";
    const ran = await api("POST", "/v1/chat/completions", { key: team.key, body, headers: { "idempotency-key": key, "x-job-id": first } });
    expect(ran.status).toBe(200);
    const other = await api("POST", "/v1/chat/completions", {
      key: team.key,
      body,
      headers: { "idempotency-key": key, "x-job-id": second },
    });
    expect(other.status).toBe(422);
    expect(JSON.stringify(await other.json())).toMatch(/Idempotency-Key/);
    // The first job's answer is still what the first headers get.
    const replay = await api("POST", "/v1/chat/completions", {
      key: team.key,
      body,
      headers: { "idempotency-key": key, "x-job-id": first },
    });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(await upstreamRequests(mockUrl, team.teamId)).toHaveLength(1);
    expect((await json("GET", `/api/jobs/${second}`, 200, { key: team.key })).calls).toEqual([]);
  });

  it("the same body and key with another X-Job-Type (or none) is 422", async () => {
    const team = await createTeam({ credits: 10 });
    const body = { model: team.groups[0], messages: userMessage() };
    const key = "v1-job-type-1";
    const ran = await api("POST", "/v1/chat/completions", {
      key: team.key,
      body,
      headers: { "idempotency-key": key, "x-job-type": "search" },
    });
    expect(ran.status).toBe(200);
    for (const headers of [{ "x-job-type": "indexing" }, {}] as Record<string, string>[]) {
      const other = await api("POST", "/v1/chat/completions", { key: team.key, body, headers: { "idempotency-key": key, ...headers } });
      expect(other.status, JSON.stringify(headers)).toBe(422);
    }
    expect(await upstreamRequests(mockUrl, team.teamId)).toHaveLength(1);
  });
});
