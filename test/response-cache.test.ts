import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, inject, it, vi } from "vitest";
import {
  api,
  balance,
  callBudget,
  createJob,
  createOrg,
  eventually,
  expectLedgerConsistent,
  json,
  sseEventsOf,
  type TestTeam,
  uid,
  upstreamRequests,
  userMessage,
} from "./helpers";

// The response cache (docs/cache.md): a group's exact-match cache, looked up after the key and the
// group are checked, billed as a call of its job at hit_price_percent of the original.

const mockUrl = inject("mockLiteLLMUrl");

type Cache = { ttl_seconds: number; scope?: "team" | "organization"; hit_price_percent: number };

async function cachedGroup(cache: Cache | null, models = ["gpt-4o-mini"]): Promise<string> {
  const name = uid("cached");
  const group = await json("POST", "/api/model-groups/create", 200, {
    body: { group_name: name, models: models.map((model_name, priority) => ({ model_name, priority })), cache },
  });
  expect(group.cache).toEqual(cache && { scope: "team", ...cache });
  return name;
}

/** A team of `organizationId` (a new one unless given) using `groups`; 1,000,000 credits a dollar make cents visible. */
async function teamWith(groups: string[], options: { organizationId?: string; credits?: number; extra?: Record<string, unknown> } = {}) {
  const organizationId = options.organizationId ?? (await createOrg());
  const teamId = uid("team");
  const created = await json("POST", "/api/teams/create", 200, {
    body: {
      organization_id: organizationId,
      team_id: teamId,
      model_groups: groups,
      credits_allocated: options.credits ?? 100_000,
      budget_mode: "consumption_usd",
      credits_per_dollar: 1_000_000,
      ...options.extra,
    },
  });
  return { teamId, organizationId, key: created.virtual_key, groups, created } satisfies TestTeam;
}

function call(team: TestTeam, jobId: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  return api("POST", `/api/jobs/${jobId}/llm-call`, {
    key: team.key,
    headers,
    body: { model_group: team.groups[0], messages: userMessage(), ...extra },
  });
}

function streamCall(team: TestTeam, jobId: string, headers: Record<string, string> = {}) {
  return api("POST", `/api/jobs/${jobId}/llm-call-stream`, {
    key: team.key,
    headers,
    body: { model_group: team.groups[0], messages: userMessage() },
  });
}

async function upstreamCount(...teams: TestTeam[]): Promise<number> {
  let n = 0;
  for (const team of teams) n += (await upstreamRequests(mockUrl, team.teamId)).length + (await upstreamMessages(team.teamId)).length;
  return n;
}

/** Anthropic's Messages name the team in `metadata.user_id`, not `user`: the mock's requests for the team on /v1/messages. */
async function upstreamMessages(teamId: string): Promise<unknown[]> {
  const { requests } = (await (await fetch(`${mockUrl}/__mock/requests`)).json()) as { requests: any[] };
  return requests.filter((r) => r.path === "/v1/messages" && r.body?.metadata?.user_id === teamId);
}

function getJob(team: TestTeam, jobId: string) {
  return json("GET", `/api/jobs/${jobId}`, 200, { key: team.key });
}

/** An answer is kept in the background after the response: wait until its scope's object has it. */
async function keptEntries(scopeId: string, count = 1): Promise<void> {
  await eventually(async () => {
    const rows = await runInDurableObject(env.ANSWER_CACHE.getByName(scopeId), (_o, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM answers").one(),
    );
    return rows.n >= count;
  });
}

/** Moves every entry of a scope `ms` into the past (as if that much time had gone by). */
async function ageEntries(scopeId: string, ms: number): Promise<void> {
  await runInDurableObject(env.ANSWER_CACHE.getByName(scopeId), (_o, state) => {
    const rows = state.storage.sql.exec<{ key: string; form: string; answer: string }>("SELECT key, form, answer FROM answers").toArray();
    for (const row of rows) {
      const answer = JSON.parse(row.answer);
      answer.storedAtMs -= ms;
      state.storage.sql.exec(
        "UPDATE answers SET answer = ?, stored_at_ms = stored_at_ms - ?, expires_at_ms = expires_at_ms - ? WHERE key = ? AND form = ?",
        JSON.stringify(answer),
        ms,
        ms,
        row.key,
        row.form,
      );
    }
  });
}

const nano = (usd: number) => Math.round(usd * 1e9);

afterEach(() => {
  vi.useRealTimers();
});

// New teams hold a call's worst case at its group's prices (overdraft none): the models used here are priced as LiteLLM does.
beforeAll(async () => {
  const prices = { "gpt-4o-mini": [0.15, 0.6], "gpt-3.5-turbo": [0.5, 1.5], "gpt-4": [30, 60], "text-embedding-3-small": [0.02, 0] };
  for (const [model_name, [input, output]] of Object.entries(prices)) {
    await json("PUT", "/api/pricing", 200, { body: { model_name, input_per_million_usd: input, output_per_million_usd: output } });
  }
});

describe("a group's response cache: the same request twice", () => {
  it("plain: the second is a HIT, upstream saw one request, the job has two calls (one cached) and the hit costs hit_price_percent", async () => {
    const group = await cachedGroup({ ttl_seconds: 3600, hit_price_percent: 50 });
    const team = await teamWith([group], { extra: { cost_markup_percentage: 20 } });
    const jobId = await createJob(team);

    const first = await call(team, jobId);
    expect(first.status).toBe(200);
    expect(first.headers.get("x-gateway-cache")).toBe("MISS");
    expect(first.headers.get("age")).toBeNull();
    const miss = (await first.json()) as any;
    await keptEntries(`team:${team.teamId}`);

    const second = await call(team, jobId);
    expect(second.status).toBe(200);
    expect(second.headers.get("x-gateway-cache")).toBe("HIT");
    expect(Number(second.headers.get("age"))).toBeGreaterThanOrEqual(0);
    const hit = (await second.json()) as any;
    expect(hit.response).toEqual(miss.response);
    expect(hit.metadata).toMatchObject({ tokens_used: miss.metadata.tokens_used, prompt_tokens: miss.metadata.prompt_tokens });
    expect(hit.call_id).not.toBe(miss.call_id);
    expect(await upstreamCount(team)).toBe(1);

    const job = await getJob(team, jobId);
    expect(job.calls).toHaveLength(2);
    const [original, cached] = job.calls;
    expect(original).toMatchObject({ cached: false, status: "success" });
    expect(cached).toMatchObject({ cached: true, status: "success", total_tokens: original.total_tokens });
    expect(nano(cached.cost_usd)).toBe(Math.round(nano(original.cost_usd) / 2));
    expect(job.costs).toMatchObject({ total_calls: 2, cache_hits: 1 });
    expect(nano(job.costs.cache_saved_usd)).toBe(nano(original.cost_usd) - nano(cached.cost_usd));

    // The admin sees that the hit cost nothing upstream and which model served the original.
    const costs = await json("GET", `/api/jobs/${jobId}/costs?team_id=${team.teamId}`, 200);
    expect(costs.calls[1]).toMatchObject({ cached: true, provider_cost_usd: 0, model_used: "gpt-4o-mini" });

    const done = await json("POST", `/api/jobs/${jobId}/complete`, 200, { key: team.key, body: { status: "completed" } });
    expect(done.costs.credits_charged).toBe(Math.floor((nano(original.cost_usd) + nano(cached.cost_usd)) / 1000));
    await expectLedgerConsistent(team);

    const usage = await json("GET", `/api/teams/${team.teamId}/usage`, 200, { key: team.key });
    expect(usage.summary).toMatchObject({ calls: 2, cache_hits: 1 });
    expect(nano(usage.summary.cache_saved_usd)).toBe(nano(job.costs.cache_saved_usd));
    expect(usage.model_groups[group]).toMatchObject({ calls: 2, cache_hits: 1 });
    expect(usage.summary.cache_saved_provider_usd).toBeUndefined();
    const adminUsage = await json("GET", `/api/teams/${team.teamId}/usage`, 200);
    expect(nano(adminUsage.summary.cache_saved_provider_usd)).toBeGreaterThan(0);
  });

  it("streamed: the hit replays the same chunks and usage chunk, and upstream saw one request", async () => {
    const group = await cachedGroup({ ttl_seconds: 3600, hit_price_percent: 0 });
    const team = await teamWith([group]);
    const jobId = await createJob(team);

    const first = await streamCall(team, jobId);
    expect(first.headers.get("x-gateway-cache")).toBe("MISS");
    const missEvents = await sseEventsOf(first);
    await keptEntries(`team:${team.teamId}`);
    const second = await streamCall(team, jobId);
    expect(second.headers.get("x-gateway-cache")).toBe("HIT");
    expect(second.headers.get("content-type")).toContain("text/event-stream");
    const hitEvents = await sseEventsOf(second);

    const chunks = (events: Array<{ data: string }>) => events.filter((e) => e.data !== "[DONE]").map((e) => JSON.parse(e.data));
    const [missChunks, hitChunks] = [chunks(missEvents), chunks(hitEvents)];
    expect(hitChunks).toHaveLength(missChunks.length);
    // The same chunks, each with its own call's id.
    const strip = (c: any) => ({ ...c, id: undefined, created: undefined });
    expect(hitChunks.map(strip)).toEqual(missChunks.map(strip));
    expect(hitChunks.at(-1).usage).toEqual(missChunks.at(-1).usage);
    expect(hitEvents.at(-1)?.data).toBe("[DONE]");
    expect(new Set(hitChunks.map((c) => c.id)).size).toBe(1);
    expect(await upstreamCount(team)).toBe(1);

    const job = await getJob(team, jobId);
    expect(job.calls.map((c: any) => [c.cached, c.stream])).toEqual([
      [false, true],
      [true, true],
    ]);
    expect(job.calls[1].cost_usd).toBe(0);
    expect(job.calls[1].total_tokens).toBe(job.calls[0].total_tokens);
  });

  it("/v1/chat/completions: a streamed hit sends the usage chunk only when asked; a plain hit is OpenAI's completion", async () => {
    const group = await cachedGroup({ ttl_seconds: 3600, hit_price_percent: 100 });
    const team = await teamWith([group]);
    const chat = (extra: Record<string, unknown>) =>
      api("POST", "/v1/chat/completions", { key: team.key, body: { model: group, messages: userMessage("Cache me"), ...extra } });

    const miss = await chat({ stream: true });
    expect(miss.headers.get("x-gateway-cache")).toBe("MISS");
    await sseEventsOf(miss);
    await keptEntries(`team:${team.teamId}`);
    const withoutUsage = await chat({ stream: true });
    expect(withoutUsage.headers.get("x-gateway-cache")).toBe("HIT");
    const plainEvents = (await sseEventsOf(withoutUsage)).filter((e) => e.data !== "[DONE]").map((e) => JSON.parse(e.data));
    expect(plainEvents.some((c) => c.usage)).toBe(false);
    const withUsage = await chat({ stream: true, stream_options: { include_usage: true }, user: "someone-else" });
    expect(withUsage.headers.get("x-gateway-cache")).toBe("HIT");
    const usageEvents = (await sseEventsOf(withUsage)).filter((e) => e.data !== "[DONE]").map((e) => JSON.parse(e.data));
    expect(usageEvents.at(-1).usage.total_tokens).toBeGreaterThan(0);

    // A plain request asks the same question, but its answer is kept in its own form.
    const plainMiss = await chat({});
    expect(plainMiss.headers.get("x-gateway-cache")).toBe("MISS");
    const missBody = (await plainMiss.json()) as any;
    await keptEntries(`team:${team.teamId}`, 2);
    const plainHit = await chat({ user: "another-user" });
    expect(plainHit.headers.get("x-gateway-cache")).toBe("HIT");
    const hitBody = (await plainHit.json()) as any;
    expect(hitBody).toMatchObject({ object: "chat.completion", model: group, choices: missBody.choices, usage: missBody.usage });
    expect(hitBody.id).toMatch(/^chatcmpl-/);
    expect(hitBody.id).not.toBe(missBody.id);
    expect(await upstreamCount(team)).toBe(2);
  });

  it("/v1/embeddings: the second identical request is a HIT", async () => {
    const group = await cachedGroup({ ttl_seconds: 60, hit_price_percent: 100 }, ["text-embedding-3-small"]);
    const team = await teamWith([group]);
    const embed = () => api("POST", "/v1/embeddings", { key: team.key, body: { model: group, input: ["cache", "these"] } });
    const first = await embed();
    expect(first.status).toBe(200);
    expect(first.headers.get("x-gateway-cache")).toBe("MISS");
    const missBody = (await first.json()) as any;
    await keptEntries(`team:${team.teamId}`);
    const second = await embed();
    expect(second.headers.get("x-gateway-cache")).toBe("HIT");
    expect(await second.json()).toEqual(missBody);
    expect(await upstreamCount(team)).toBe(1);
  });

  it("key order and whitespace do not matter; a parameter that changes the answer does", async () => {
    const group = await cachedGroup({ ttl_seconds: 3600, hit_price_percent: 100 });
    const team = await teamWith([group]);
    const jobId = await createJob(team);
    const body = `{"model_group":"${group}","temperature":0.5,"messages":[{"role":"user","content":"Same?"}]}`;
    const reordered = `{ "messages" : [ { "content" : "Same?", "role" : "user" } ],\n "temperature": 0.5, "model_group": "${group}", "purpose": "other" }`;
    const send = (raw: string) =>
      api("POST", `/api/jobs/${jobId}/llm-call`, { key: team.key, rawBody: raw, headers: { "content-type": "application/json" } });
    expect((await send(body)).headers.get("x-gateway-cache")).toBe("MISS");
    await keptEntries(`team:${team.teamId}`);
    expect((await send(reordered)).headers.get("x-gateway-cache")).toBe("HIT");
    expect((await send(body.replace("0.5", "0.7"))).headers.get("x-gateway-cache")).toBe("MISS");
  });
});

describe("a cached answer stays in its scope", () => {
  it("scope team: team A's entry never serves team B of the same organization", async () => {
    const group = await cachedGroup({ ttl_seconds: 3600, scope: "team", hit_price_percent: 0 });
    const a = await teamWith([group]);
    const b = await teamWith([group], { organizationId: a.organizationId });
    expect((await call(a, await createJob(a))).headers.get("x-gateway-cache")).toBe("MISS");
    await keptEntries(`team:${a.teamId}`);
    expect((await call(b, await createJob(b))).headers.get("x-gateway-cache")).toBe("MISS");
    expect(await upstreamCount(a, b)).toBe(2);
  });

  it("scope organization: team B of the same organization gets A's entry; a team of another organization does not", async () => {
    const group = await cachedGroup({ ttl_seconds: 3600, scope: "organization", hit_price_percent: 100 });
    const a = await teamWith([group]);
    const b = await teamWith([group], { organizationId: a.organizationId });
    const other = await teamWith([group]);
    expect((await call(a, await createJob(a))).headers.get("x-gateway-cache")).toBe("MISS");
    await keptEntries(`organization:${a.organizationId}`);
    const jobB = await createJob(b);
    expect((await call(b, jobB)).headers.get("x-gateway-cache")).toBe("HIT");
    expect((await call(other, await createJob(other))).headers.get("x-gateway-cache")).toBe("MISS");
    expect(await upstreamCount(a, b, other)).toBe(2);
    // B's hit is B's call, billed to B at full price with nothing sent upstream for it.
    const [hit] = (await getJob(b, jobB)).calls;
    expect(hit).toMatchObject({ cached: true });
    expect(hit.cost_usd).toBeGreaterThan(0);
  });

  it("a key whose team may not use the group gets 403, not the organization's entry", async () => {
    const group = await cachedGroup({ ttl_seconds: 3600, scope: "organization", hit_price_percent: 0 });
    const otherGroup = await cachedGroup(null);
    const a = await teamWith([group]);
    const b = await teamWith([otherGroup], { organizationId: a.organizationId });
    await call(a, await createJob(a));
    await keptEntries(`organization:${a.organizationId}`);
    const refused = await call({ ...b, groups: [group] }, await createJob(b));
    expect(refused.status).toBe(403);
    expect(refused.headers.get("x-gateway-cache")).toBeNull();
    expect(await upstreamCount(b)).toBe(0);
  });
});

describe("what a cached answer does not survive", () => {
  it("a change of the group's models: the next request is a MISS", async () => {
    const group = await cachedGroup({ ttl_seconds: 3600, hit_price_percent: 0 });
    const team = await teamWith([group]);
    const jobId = await createJob(team);
    await call(team, jobId);
    await keptEntries(`team:${team.teamId}`);
    expect((await call(team, jobId)).headers.get("x-gateway-cache")).toBe("HIT");
    await json("PUT", `/api/model-groups/${group}/models`, 200, {
      body: [
        { model_name: "gpt-4o-mini", priority: 0 },
        { model_name: "gpt-3.5-turbo", priority: 1 },
      ],
    });
    expect((await call(team, jobId)).headers.get("x-gateway-cache")).toBe("MISS");
    expect(await upstreamCount(team)).toBe(2);
  });

  it("its time-to-live: an entry past it is a MISS", async () => {
    const group = await cachedGroup({ ttl_seconds: 60, hit_price_percent: 0 });
    const team = await teamWith([group]);
    const jobId = await createJob(team);
    await call(team, jobId);
    await keptEntries(`team:${team.teamId}`);
    await ageEntries(`team:${team.teamId}`, 61_000);
    expect((await call(team, jobId)).headers.get("x-gateway-cache")).toBe("MISS");
    // The object's sweep removes what has expired.
    await ageEntries(`team:${team.teamId}`, 61_000);
    expect(await runDurableObjectAlarm(env.ANSWER_CACHE.getByName(`team:${team.teamId}`))).toBe(true);
    expect((await call(team, jobId)).headers.get("x-gateway-cache")).toBe("MISS");
  });

  it("a scope past its byte budget: the least recently used entries go first", async () => {
    const scope = env.ANSWER_CACHE.getByName(`team:${uid("budget")}`);
    const answer = (n: number) => ({
      form: "json" as const,
      body: `{"n":${n}}`,
      promptTokens: 1,
      completionTokens: 1,
      totalTokens: 2,
      usageEstimated: false,
      providerCostNano: 1,
      modelUsed: "m",
      storedAtMs: Date.now(),
    });
    for (const n of [1, 2, 3]) expect(await scope.keep(`k${n}`, answer(n), 60)).toBe(true);
    // Entries 1 and 2 count as 30 MiB each (64 MiB is a scope's budget); 1 was used longest ago.
    await runInDurableObject(scope, (_o, state) => {
      state.storage.sql.exec("UPDATE answers SET bytes = 31457280, used_at_ms = used_at_ms - 1000 WHERE key IN ('k1', 'k2')");
      state.storage.sql.exec("UPDATE answers SET used_at_ms = used_at_ms - 1000 WHERE key = 'k1'");
    });
    expect(await scope.keep("k4", { ...answer(4), body: "x".repeat(5 * 1024 * 1024) }, 60)).toBe(false);
    await runInDurableObject(scope, (_o, state) => {
      state.storage.sql.exec("UPDATE answers SET bytes = 10485760 WHERE key = 'k3'");
    });
    expect(await scope.keep("k5", answer(5), 60)).toBe(true);
    expect(await scope.find("k1", "json")).toBeNull();
    expect(await scope.find("k2", "json")).toMatchObject({ body: '{"n":2}' });
    expect(await scope.find("k5", "json")).toMatchObject({ body: '{"n":5}' });
  });

  it("Cache-Control: no-cache skips the lookup (BYPASS, upstream called) and refreshes the entry", async () => {
    const group = await cachedGroup({ ttl_seconds: 7200, hit_price_percent: 0 });
    const team = await teamWith([group]);
    const jobId = await createJob(team);
    await call(team, jobId);
    await keptEntries(`team:${team.teamId}`);
    await ageEntries(`team:${team.teamId}`, 3_600_000);
    const aged = await call(team, jobId);
    expect(aged.headers.get("x-gateway-cache")).toBe("HIT");
    expect(Number(aged.headers.get("age"))).toBeGreaterThanOrEqual(3600);

    const refreshed = await call(team, jobId, {}, { "cache-control": "no-cache" });
    expect(refreshed.headers.get("x-gateway-cache")).toBe("BYPASS");
    expect(await upstreamCount(team)).toBe(2);
    await eventually(async () => {
      const next = await call(team, jobId);
      return next.headers.get("x-gateway-cache") === "HIT" && Number(next.headers.get("age")) < 60;
    });
    expect(await upstreamCount(team)).toBe(2);
  });

  it("Cache-Control: no-store neither reads nor writes", async () => {
    const group = await cachedGroup({ ttl_seconds: 3600, hit_price_percent: 0 });
    const team = await teamWith([group]);
    const jobId = await createJob(team);
    const noStore = { "cache-control": "no-store" };
    expect((await call(team, jobId, {}, noStore)).headers.get("x-gateway-cache")).toBe("BYPASS");
    expect((await call(team, jobId)).headers.get("x-gateway-cache")).toBe("MISS");
    await keptEntries(`team:${team.teamId}`);
    expect((await call(team, jobId)).headers.get("x-gateway-cache")).toBe("HIT");
    expect((await call(team, jobId, {}, noStore)).headers.get("x-gateway-cache")).toBe("BYPASS");
    expect(await upstreamCount(team)).toBe(3);
  });

  it("an aborted stream is not kept", async () => {
    const group = await cachedGroup({ ttl_seconds: 3600, hit_price_percent: 0 }, ["gpt-4o-mini+hang=2"]);
    const team = await teamWith([group], { extra: { unpriced_calls: "allow" } });
    const jobId = await createJob(team);
    const res = await streamCall(team, jobId);
    expect(res.headers.get("x-gateway-cache")).toBe("MISS");
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    await eventually(async () => (await getJob(team, jobId)).calls[0]?.status === "aborted");
    const again = await streamCall(team, jobId);
    expect(again.headers.get("x-gateway-cache")).toBe("MISS");
    await again.body?.cancel();
    expect(await upstreamCount(team)).toBe(2);
  });

  it("an error answer, before or during a stream, is not kept", async () => {
    const failing = await cachedGroup({ ttl_seconds: 3600, hit_price_percent: 0 }, ["gpt-4o-mini+fail=500"]);
    const team = await teamWith([failing], { extra: { unpriced_calls: "allow" } });
    const jobId = await createJob(team);
    expect((await call(team, jobId)).status).toBe(502);
    const again = await call(team, jobId);
    expect(again.status).toBe(502);
    expect(again.headers.get("x-gateway-cache")).toBeNull();

    const midstream = await cachedGroup({ ttl_seconds: 3600, hit_price_percent: 0 }, ["gpt-4o-mini+fail=midstream"]);
    const streamer = await teamWith([midstream], { extra: { unpriced_calls: "allow" } });
    const streamJob = await createJob(streamer);
    await sseEventsOf(await streamCall(streamer, streamJob));
    await eventually(async () => (await getJob(streamer, streamJob)).calls[0]?.status === "failed");
    expect((await streamCall(streamer, streamJob)).headers.get("x-gateway-cache")).toBe("MISS");
    expect(await upstreamCount(streamer)).toBe(2);
  });
});

describe("a hit is billed as a hit", () => {
  it("under overdraft none, a hit needs only its price held: admitted where the worst case would be refused", async () => {
    const group = await cachedGroup({ ttl_seconds: 3600, scope: "organization", hit_price_percent: 10 });
    const rich = await teamWith([group]);
    // 10 credits: a tenth of the answer's price fits; the worst case of max_tokens 100,000 (tens of thousands) does not.
    const poor = await teamWith([group], { organizationId: rich.organizationId, credits: 10 });
    const ask = { max_tokens: 100_000 };
    await call(rich, await createJob(rich), ask);
    await keptEntries(`organization:${rich.organizationId}`);

    const jobId = await createJob(poor);
    const refused = await call(poor, jobId, ask, { "cache-control": "no-cache" });
    expect(refused.status).toBe(402);
    const hit = await call(poor, jobId, ask);
    expect(hit.status, await hit.clone().text()).toBe(200);
    expect(hit.headers.get("x-gateway-cache")).toBe("HIT");
    await json("POST", `/api/jobs/${jobId}/complete`, 200, { key: poor.key, body: { status: "completed" } });
    await expectLedgerConsistent(poor);
  });

  it("under overdraft none, a hit the team cannot pay is refused (402); a free one is not", async () => {
    // gpt-4 at 1,000,000 credits a dollar: an answer costs thousands of credits.
    const dear = await cachedGroup({ ttl_seconds: 3600, scope: "organization", hit_price_percent: 100 }, ["gpt-4"]);
    const free = await cachedGroup({ ttl_seconds: 3600, scope: "organization", hit_price_percent: 0 }, ["gpt-4"]);
    const rich = await teamWith([dear, free]);
    const poor = await teamWith([dear, free], { organizationId: rich.organizationId, credits: 1 });
    const richJob = await createJob(rich);
    await call({ ...rich, groups: [dear] }, richJob);
    await call({ ...rich, groups: [free] }, richJob);
    await keptEntries(`organization:${rich.organizationId}`, 2);

    const jobId = await createJob(poor);
    const refused = await call({ ...poor, groups: [dear] }, jobId);
    expect(refused.status).toBe(402);
    expect(((await refused.json()) as any).detail).toMatch(/cached answer costs/);
    const freeHit = await call({ ...poor, groups: [free] }, jobId);
    expect(freeHit.status).toBe(200);
    expect(freeHit.headers.get("x-gateway-cache")).toBe("HIT");
    expect(await upstreamCount(poor)).toBe(0);
    await expectLedgerConsistent(poor);
  });

  it("consumption_tokens: a hit is billed hit_price_percent of its tokens", async () => {
    const group = await cachedGroup({ ttl_seconds: 3600, hit_price_percent: 50 });
    const team = await teamWith([group], { extra: { budget_mode: "consumption_tokens", tokens_per_credit: 1 } });
    const jobId = await createJob(team);
    await call(team, jobId);
    await keptEntries(`team:${team.teamId}`);
    expect((await call(team, jobId)).headers.get("x-gateway-cache")).toBe("HIT");
    const job = await getJob(team, jobId);
    const tokens = job.calls[0].total_tokens;
    expect(job.calls[1]).toMatchObject({ cached: true, total_tokens: tokens });
    const done = await json("POST", `/api/jobs/${jobId}/complete`, 200, { key: team.key, body: { status: "completed" } });
    expect(done.costs.credits_charged).toBe(tokens + Math.round(tokens / 2));
    await expectLedgerConsistent(team);
  });

  it("a hit whose record never comes is settled by the alarm at the hit's price, not at a worst case", async () => {
    let nowMs = Date.now();
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(nowMs);
    const group = await cachedGroup({ ttl_seconds: 3600, hit_price_percent: 50 });
    const team = await teamWith([group], { credits: 5, extra: { budget_mode: "consumption_tokens", tokens_per_credit: 1000 } });
    const job = await createJob(team);
    const ledger = env.TEAM_LEDGER.getByName(team.teamId);
    // A Worker admitted a hit on an answer of 4,000 tokens at 50 % (2 credits held) and went down with it.
    const hit = {
      promptTokens: 1_000,
      completionTokens: 3_000,
      totalTokens: 4_000,
      originalProviderCostNano: 500_000,
      hitPricePercent: 50,
    };
    const admitted = await ledger.beginCall({ kind: "admin" }, job, group, "team", { ...callBudget(), hit });
    expect(admitted.ok).toBe(true);
    expect(await balance(team)).toMatchObject({ credits_held: 2 });
    await evictDurableObject(ledger);
    nowMs += 3_000 + 60_000 + 1_000; // past the hold's deadline: one attempt and the record's margin
    vi.setSystemTime(nowMs);
    expect(await runDurableObjectAlarm(ledger)).toBe(true);
    expect(await balance(team)).toMatchObject({ credits_held: 0 });
    const done = await json("POST", `/api/jobs/${job}/complete`, 200, { key: team.key, body: { status: "completed" } });
    expect(done.costs).toMatchObject({ total_calls: 1, total_tokens: 2_000, credits_charged: 2 });
    await expectLedgerConsistent(team);
  });

  it("job_based: the job is charged as usual, hits or not", async () => {
    const group = await cachedGroup({ ttl_seconds: 3600, hit_price_percent: 100 });
    const team = await teamWith([group], { extra: { budget_mode: "job_based" } });
    const jobId = await createJob(team);
    await call(team, jobId);
    await keptEntries(`team:${team.teamId}`);
    expect((await call(team, jobId)).headers.get("x-gateway-cache")).toBe("HIT");
    const done = await json("POST", `/api/jobs/${jobId}/complete`, 200, { key: team.key, body: { status: "completed" } });
    expect(done.costs).toMatchObject({ credits_charged: 1, total_calls: 2, cache_hits: 1 });
  });

  it("a one-request job answered from the cache is completed and charged at the hit's price", async () => {
    const group = await cachedGroup({ ttl_seconds: 3600, hit_price_percent: 25 });
    const team = await teamWith([group]);
    const body = { team_id: team.teamId, job_type: "one", model_group: group, messages: userMessage("One request") };
    const first = await json("POST", "/api/jobs/create-and-call", 200, { key: team.key, body });
    await keptEntries(`team:${team.teamId}`);
    const res = await api("POST", "/api/jobs/create-and-call", { key: team.key, body });
    expect(res.headers.get("x-gateway-cache")).toBe("HIT");
    const second = (await res.json()) as any;
    expect(second.response).toEqual(first.response);
    expect(second.costs).toMatchObject({ total_calls: 1, cache_hits: 1 });
    expect(nano(second.costs.total_cost_usd)).toBe(Math.round(nano(first.costs.total_cost_usd) / 4));
    expect(await upstreamCount(team)).toBe(1);
  });
});

describe("the group's cache setting", () => {
  it("is off by default, set with the group, changed and turned off with PATCH, and refused out of range", async () => {
    const group = await cachedGroup(null);
    expect((await json("GET", `/api/model-groups/${group}`, 200)).cache).toBeNull();
    const set = await json("PATCH", `/api/model-groups/${group}`, 200, {
      body: { cache: { ttl_seconds: 300, scope: "organization", hit_price_percent: 20 } },
    });
    expect(set.cache).toEqual({ ttl_seconds: 300, scope: "organization", hit_price_percent: 20 });
    expect((await json("GET", `/api/model-groups/${group}`, 200)).cache).toEqual(set.cache);
    const bad = await json("PATCH", `/api/model-groups/${group}`, 422, { body: { cache: { ttl_seconds: 0, hit_price_percent: 101 } } });
    expect(JSON.stringify(bad.detail)).toMatch(/ttl_seconds/);
    expect(JSON.stringify(bad.detail)).toMatch(/hit_price_percent/);
    expect((await json("PATCH", `/api/model-groups/${group}`, 200, { body: { cache: null } })).cache).toBeNull();
    await json("PATCH", `/api/model-groups/${uid("missing")}`, 404, { body: { cache: null } });
  });

  it("a cache turned on for a group already assigned reaches the team's object: its next call is a MISS, then a HIT", async () => {
    const group = await cachedGroup(null);
    const team = await teamWith([group]);
    const jobId = await createJob(team);
    expect((await call(team, jobId)).headers.get("x-gateway-cache")).toBeNull();
    await json("PATCH", `/api/model-groups/${group}`, 200, { body: { cache: { ttl_seconds: 300, hit_price_percent: 0 } } });
    expect((await call(team, jobId)).headers.get("x-gateway-cache")).toBe("MISS");
    await keptEntries(`team:${team.teamId}`);
    expect((await call(team, jobId)).headers.get("x-gateway-cache")).toBe("HIT");
    await json("PATCH", `/api/model-groups/${group}`, 200, { body: { cache: null } });
    expect((await call(team, jobId)).headers.get("x-gateway-cache")).toBeNull();
    expect(await upstreamCount(team)).toBe(3);
  });

  it("the group's usage counts its calls and hits over every team, once the teams have sent their usage", async () => {
    const group = await cachedGroup({ ttl_seconds: 300, scope: "organization", hit_price_percent: 0 });
    const a = await teamWith([group]);
    const b = await teamWith([group], { organizationId: a.organizationId });
    await call(a, await createJob(a));
    await keptEntries(`organization:${a.organizationId}`);
    const jobB = await createJob(b);
    await call(b, jobB);
    await call(b, jobB);
    for (const team of [a, b]) await runDurableObjectAlarm(env.TEAM_LEDGER.getByName(team.teamId));
    const usage = await json("GET", `/api/model-groups/${group}/usage`, 200);
    expect(usage).toMatchObject({ group_name: group, calls: 3, cache_hits: 2 });
    expect(usage.hit_rate).toBeCloseTo(2 / 3, 9);
    expect(usage.cache_saved_usd).toBeGreaterThan(0);

    const csv = await api("GET", `/api/teams/${b.teamId}/usage?format=csv`, { key: b.key });
    const [header, ...rows] = (await csv.text()).trim().split(/\r?\n/);
    expect(header.split(",")).toEqual(expect.arrayContaining(["cache_hits", "cache_saved_usd"]));
    const hits = header.split(",").indexOf("cache_hits");
    expect(rows.map((r) => r.split(",")[hits])).toContain("2");
  });
});

describe("a hit and the team's keys and end users", () => {
  /** A consumption_tokens team (1 token a credit) whose default key has filled the cache: returns the team and a hit's price in credits. */
  async function filledTeam(hitPricePercent: number, overdraft: "none" | "bounded" = "none") {
    const group = await cachedGroup({ ttl_seconds: 3600, hit_price_percent: hitPricePercent });
    const team = await teamWith([group], {
      credits: 1_000_000,
      extra: { budget_mode: "consumption_tokens", tokens_per_credit: 1, overdraft },
    });
    const jobId = await createJob(team);
    expect((await call(team, jobId)).headers.get("x-gateway-cache")).toBe("MISS");
    const done = await json("POST", `/api/jobs/${jobId}/complete`, 200, { key: team.key, body: { status: "completed" } });
    await keptEntries(`team:${team.teamId}`);
    const tokens: number = done.costs.credits_charged;
    expect(tokens).toBeGreaterThan(2);
    return { team, hitCredits: Math.round((tokens * hitPricePercent) / 100) };
  }

  const keyOf = async (team: TestTeam, body: Record<string, unknown>): Promise<TestTeam> => ({
    ...team,
    key: (await json("POST", `/api/teams/${team.teamId}/keys`, 200, { body })).virtual_key,
  });

  it.each(["none", "bounded"] as const)(
    "overdraft %s: a key with a budget of exactly one hit's price gets its hit, held and charged against the budget, then 402",
    async (overdraft) => {
      const { team, hitCredits } = await filledTeam(50, overdraft);
      expect((await balance(team)).overdraft).toBe(overdraft);
      const tight = await keyOf(team, { name: "tight", budget: { credits: hitCredits, period: "day" } });
      const before = await balance(team);

      const jobId = await createJob(tight);
      const hit = await call(tight, jobId);
      expect(hit.status, await hit.clone().text()).toBe(200);
      expect(hit.headers.get("x-gateway-cache")).toBe("HIT");
      // The hit's price is held against the key's budget while its job is open: nothing is left for another hit.
      const held = (await json("GET", `/api/teams/${team.teamId}/keys`, 200)).keys.find((k: any) => k.name === "tight");
      expect(held.budget).toMatchObject({ credits: hitCredits, spent_credits: 0, held_credits: hitCredits });
      const refused = await call(tight, jobId);
      expect(refused.status).toBe(402);
      expect(((await refused.json()) as any).detail).toContain("key 'tight' has a budget of");
      expect(refused.headers.get("x-gateway-cache")).toBeNull();

      const done = await json("POST", `/api/jobs/${jobId}/complete`, 200, { key: tight.key, body: { status: "completed" } });
      expect(done.costs).toMatchObject({ credits_charged: hitCredits, total_calls: 1, cache_hits: 1 });
      const spent = (await json("GET", `/api/teams/${team.teamId}/keys`, 200)).keys.find((k: any) => k.name === "tight");
      expect(spent.budget).toMatchObject({ spent_credits: hitCredits, held_credits: 0 });
      expect((await balance(team)).credits_used - before.credits_used).toBe(hitCredits);
      // Spent: the key opens no new job for another hit, while the team's default key still gets its hits.
      const next = await api("POST", "/api/jobs/create", { key: tight.key, body: { job_type: "test_job" } });
      expect(next.status).toBe(402);
      expect((await call(team, await createJob(team))).headers.get("x-gateway-cache")).toBe("HIT");
      expect(await upstreamCount(team)).toBe(1);

      // The key's usage line counts its hit.
      const usage = await json("GET", `/api/teams/${team.teamId}/usage?group_by=key`, 200);
      const line = Object.values(usage.keys).find((k: any) => k.name === "tight") as any;
      expect(line).toMatchObject({ calls: 1, cache_hits: 1, credits_charged: hitCredits });
      await expectLedgerConsistent(team);
    },
  );

  it("an end user with a budget of exactly one hit's price gets one hit, then 402; another end user goes on; group_by=end_user counts their hits", async () => {
    const { team, hitCredits } = await filledTeam(50);
    await json("PATCH", `/api/teams/${team.teamId}`, 200, { body: { end_user_budget: { credits: hitCredits, period: "day" } } });
    const jobFor = async (user: string) =>
      (await json("POST", "/api/jobs/create", 200, { key: team.key, body: { job_type: "for_user", user_id: user } })).job_id as string;

    const alice = await jobFor("alice");
    expect((await call(team, alice)).headers.get("x-gateway-cache")).toBe("HIT");
    const refused = await call(team, alice);
    expect(refused.status).toBe(402);
    expect(((await refused.json()) as any).detail).toContain("alice");
    const done = await json("POST", `/api/jobs/${alice}/complete`, 200, { key: team.key, body: { status: "completed" } });
    expect(done.costs).toMatchObject({ credits_charged: hitCredits, cache_hits: 1 });
    const next = await api("POST", "/api/jobs/create", { key: team.key, body: { job_type: "for_user", user_id: "alice" } });
    expect(next.status).toBe(402);

    const bob = await call(team, await jobFor("bob"));
    expect(bob.status).toBe(200);
    expect(bob.headers.get("x-gateway-cache")).toBe("HIT");
    expect(await upstreamCount(team)).toBe(1);
    // The usage per end user counts each one's hit.
    const { end_users } = await json("GET", `/api/teams/${team.teamId}/usage?group_by=end_user`, 200);
    expect(end_users.alice).toMatchObject({ calls: 1, cache_hits: 1 });
    expect(end_users.bob).toMatchObject({ calls: 1, cache_hits: 1 });
    expect(end_users.alice.cache_saved_usd).toBeGreaterThan(0);
    await expectLedgerConsistent(team);
  });

  it("a key narrowed by model_groups is never served another group's entry, even one a key of its own team filled (job API and every /v1 dialect)", async () => {
    const open = await cachedGroup({ ttl_seconds: 3600, hit_price_percent: 0 });
    const closed = await cachedGroup({ ttl_seconds: 3600, hit_price_percent: 0 });
    const team = await teamWith([open, closed]);
    // The default key fills both groups' entries.
    const filling = await createJob(team);
    for (const group of [open, closed]) {
      expect((await call({ ...team, groups: [group] }, filling)).headers.get("x-gateway-cache")).toBe("MISS");
    }
    await keptEntries(`team:${team.teamId}`, 2);
    const narrow = await keyOf(team, { name: "narrow", model_groups: [open] });
    const jobId = await createJob(narrow);

    const refused = await call({ ...narrow, groups: [closed] }, jobId);
    expect(refused.status).toBe(403);
    expect(refused.headers.get("x-gateway-cache")).toBeNull();
    const v1 = await api("POST", "/v1/chat/completions", { key: narrow.key, body: { model: closed, messages: userMessage() } });
    expect(v1.status).toBe(404);
    expect(v1.headers.get("x-gateway-cache")).toBeNull();
    expect(JSON.stringify(await v1.json())).not.toContain("choices");
    for (const [path, body] of [
      ["/v1/responses", { model: closed, input: "How do I reset my password?" }],
      ["/v1/messages", { model: closed, max_tokens: 100, messages: userMessage() }],
    ] as const) {
      const other = await api("POST", path, { key: narrow.key, headers: { "x-job-id": jobId }, body });
      expect(other.status, path).toBe(404);
      expect(other.headers.get("x-gateway-cache")).toBeNull();
    }
    // Its own group is served from the entry the default key filled.
    expect((await call({ ...narrow, groups: [open] }, jobId)).headers.get("x-gateway-cache")).toBe("HIT");
    // Narrowed further, the group it was just served from is refused too.
    const { keys } = await json("GET", `/api/teams/${team.teamId}/keys`, 200);
    const narrowId = keys.find((k: any) => k.name === "narrow").key_id;
    await json("PATCH", `/api/teams/${team.teamId}/keys/${narrowId}`, 200, { body: { model_groups: [closed] } });
    const after = await call({ ...narrow, groups: [open] }, jobId);
    expect(after.status).toBe(403);
    expect(after.headers.get("x-gateway-cache")).toBeNull();
    expect(await upstreamCount(team)).toBe(2);
    expect((await getJob(team, jobId)).calls).toHaveLength(1);
  });
});

describe("hits on OpenAI's Responses and Anthropic's Messages, in each dialect's own shape", () => {
  const dialects = [
    {
      path: "/v1/responses",
      body: { input: "How do I reset my password?", max_output_tokens: 200 },
      headers: {},
      object: { object: "response", status: "completed" },
      id: /^resp_[0-9a-f-]{36}$/,
      answered: (a: any) => ({ output: a.output, usage: a.usage }),
      lastEvent: "response.completed",
    },
    {
      path: "/v1/messages",
      body: { max_tokens: 200, messages: userMessage() },
      headers: { "anthropic-version": "2023-06-01" },
      object: { type: "message", role: "assistant" },
      id: /^msg_[0-9a-f-]{36}$/,
      answered: (a: any) => ({ content: a.content, usage: a.usage, stop_reason: a.stop_reason }),
      lastEvent: "message_stop",
    },
  ] as const;

  /** An answer's text with what is the call's own (its id, its time) made alike, to compare a hit with its original. */
  const alike = (text: string) => text.replace(/\b(resp|msg)_[0-9a-f-]{36}\b/g, "$1_ID").replace(/"created_at":\d+/g, '"created_at":0');

  for (const dialect of dialects) {
    const ask = (team: TestTeam, jobId: string, stream: boolean) =>
      api("POST", dialect.path, {
        key: team.key,
        headers: { ...dialect.headers, "x-job-id": jobId },
        body: { model: team.groups[0], ...dialect.body, ...(stream ? { stream: true } : {}) },
      });

    it(`${dialect.path} plain: the second is a HIT with the dialect's answer, upstream saw one request, billed at hit_price_percent`, async () => {
      const group = await cachedGroup({ ttl_seconds: 3600, hit_price_percent: 50 });
      const team = await teamWith([group]);
      const jobId = await createJob(team);
      const first = await ask(team, jobId, false);
      expect(first.status, await first.clone().text()).toBe(200);
      expect(first.headers.get("x-gateway-cache")).toBe("MISS");
      await keptEntries(`team:${team.teamId}`);

      const second = await ask(team, jobId, false);
      expect(second.status).toBe(200);
      expect(second.headers.get("x-gateway-cache")).toBe("HIT");
      expect(Number(second.headers.get("age"))).toBeGreaterThanOrEqual(0);
      const [a, b] = [(await first.json()) as any, (await second.json()) as any];
      expect(b).toMatchObject({ ...dialect.object, model: group });
      expect(b.id).toMatch(dialect.id);
      expect(b.id).not.toBe(a.id);
      expect(dialect.answered(b)).toEqual(dialect.answered(a));
      expect(alike(JSON.stringify(b))).toBe(alike(JSON.stringify(a)));
      expect(await upstreamCount(team)).toBe(1);

      const job = await getJob(team, jobId);
      expect(job.calls.map((c: any) => c.cached)).toEqual([false, true]);
      expect(job.calls[1].total_tokens).toBe(job.calls[0].total_tokens);
      expect(nano(job.calls[1].cost_usd)).toBe(Math.round(nano(job.calls[0].cost_usd) / 2));
      await json("POST", `/api/jobs/${jobId}/complete`, 200, { key: team.key, body: { status: "completed" } });
      await expectLedgerConsistent(team);
    });

    it(`${dialect.path} streamed: the HIT replays the dialect's own events, ending with ${dialect.lastEvent}; upstream saw one request`, async () => {
      const group = await cachedGroup({ ttl_seconds: 3600, hit_price_percent: 0 });
      const team = await teamWith([group]);
      const jobId = await createJob(team);
      const first = await ask(team, jobId, true);
      expect(first.status).toBe(200);
      expect(first.headers.get("x-gateway-cache")).toBe("MISS");
      const original = await sseEventsOf(first);
      await keptEntries(`team:${team.teamId}`);

      const second = await ask(team, jobId, true);
      expect(second.status).toBe(200);
      expect(second.headers.get("content-type")).toContain("text/event-stream");
      expect(second.headers.get("x-gateway-cache")).toBe("HIT");
      const replayed = await sseEventsOf(second);
      expect(replayed.at(-1)?.event).toBe(dialect.lastEvent);
      expect(replayed.every((e) => e.event !== null && JSON.parse(e.data).type === e.event)).toBe(true);
      expect(replayed.map((e) => e.event)).toEqual(original.map((e) => e.event));
      expect(replayed.map((e) => alike(e.data))).toEqual(original.map((e) => alike(e.data)));
      expect(JSON.stringify(replayed)).toContain(second.headers.get("x-call-id")!);
      expect(await upstreamCount(team)).toBe(1);

      const job = await eventually(async () => {
        const seen = await getJob(team, jobId);
        return seen.calls.length === 2 && seen;
      });
      expect(job.calls.map((c: any) => c.cached)).toEqual([false, true]);
      expect(job.calls[1].cost_usd).toBe(0);
    });
  }
});
