import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, inject, it, vi } from "vitest";
import { createTeam, expectLedgerConsistent, json, type TestTeam, uid, upstreamRequests, userMessage } from "./helpers";
import { gatewayWith, type Sent } from "./worker-harness";

// A call whose key this isolate saw admitted recently goes upstream at the same moment as its
// admission (calls/speculation.ts, pipeline.ts admitAndOpen). What the client sees must not
// change: a refused call is refused, with nothing of the model's answer; it is never recorded,
// holds nothing, and upstream saw at most the one request that was aborted. Each abort is counted
// for admins. Every request goes through the Worker module this file imports (gatewayWith), whose
// isolate memory is what decides; each request's background work is awaited.

const mockUrl = inject("mockLiteLLMUrl");
const gw = gatewayWith();
const chat = (team: TestTeam, extra: Record<string, unknown> = {}) => ({ model_group: team.groups[0], messages: userMessage(), ...extra });

/** A job of the team with one call admitted and answered through this isolate: its key is then known here. */
async function warmJob(team: TestTeam, extra: Record<string, unknown> = {}): Promise<{ jobId: string; first: Sent }> {
  const job = await gw.send("POST", "/api/jobs/create", team.key, { job_type: "speculated" });
  expect(job.status, job.text).toBe(200);
  const first = await gw.send("POST", `/api/jobs/${job.body.job_id}/llm-call`, team.key, chat(team, extra));
  expect(first.status, first.text).toBe(200);
  return { jobId: job.body.job_id, first };
}

async function speculation(team: TestTeam): Promise<{ enabled: boolean; aborted_calls: number }> {
  return (await json("GET", `/api/credits/teams/${team.teamId}/balance`, 200)).speculation;
}

async function recordedCalls(team: TestTeam, jobId: string): Promise<number> {
  return (await json("GET", `/api/jobs/${jobId}?team_id=${team.teamId}`, 200)).calls.length;
}

/**
 * A refused call, sent by a key this isolate expects to be admitted: the refusal, nothing of an
 * answer, no call recorded in the job, at most the aborted request upstream, the abort counted,
 * and nothing held.
 */
async function expectRefusedUnseen(team: TestTeam, jobId: string, send: () => Promise<Sent>, status: number, detail: RegExp) {
  const [upstreamBefore, recordedBefore, abortsBefore] = await Promise.all([
    upstreamRequests(mockUrl, team.teamId),
    recordedCalls(team, jobId),
    speculation(team),
  ]);
  const refused = await send();
  expect(refused.status, refused.text).toBe(status);
  expect(refused.body.detail).toMatch(detail);
  expect(refused.text).not.toMatch(/"response"|"choices"|data:/);
  expect(await recordedCalls(team, jobId)).toBe(recordedBefore);
  expect((await upstreamRequests(mockUrl, team.teamId)).length - upstreamBefore.length).toBeLessThanOrEqual(1);
  expect((await speculation(team)).aborted_calls).toBe(abortsBefore.aborted_calls + 1);
  await expectLedgerConsistent(team, { callsEnded: true });
}

describe("a refused call never reaches the client and is never recorded, also when it went upstream early", () => {
  it("402: the credit this isolate saw free was taken meanwhile", async () => {
    const team = await createTeam({ credits: 2 });
    const oneRequest = { team_id: team.teamId, job_type: "one", ...chat(team) };
    const warm = await gw.send("POST", "/api/jobs/create-and-call", team.key, oneRequest);
    expect(warm.status, warm.text).toBe(200);
    // The last credit is reserved by a job opened elsewhere; this isolate still saw it free.
    const other = await json("POST", "/api/jobs/create", 200, { key: team.key, body: { job_type: "elsewhere" } });
    await expectRefusedUnseen(
      team,
      other.job_id,
      () => gw.send("POST", "/api/jobs/create-and-call", team.key, oneRequest),
      402,
      /Insufficient credits/,
    );
  });

  it("403: the group was taken from the team", async () => {
    const team = await createTeam({ credits: 5 });
    const { jobId } = await warmJob(team);
    await json("PUT", `/api/teams/${team.teamId}/model-groups`, 200, { body: [] });
    await expectRefusedUnseen(team, jobId, () => gw.send("POST", `/api/jobs/${jobId}/llm-call`, team.key, chat(team)), 403, /not assigned/);
  });

  it("429: the team's rate ran out", async () => {
    const team = await createTeam({ credits: 5, extra: { rate_limit_per_minute: 2 } });
    const { jobId } = await warmJob(team);
    await expectRefusedUnseen(team, jobId, () => gw.send("POST", `/api/jobs/${jobId}/llm-call`, team.key, chat(team)), 429, /Rate limit/);
  });

  it("401: the key was revoked", async () => {
    const team = await createTeam({ credits: 5 });
    const { jobId } = await warmJob(team);
    await json("POST", `/api/teams/${team.teamId}/keys/rotate`, 200, { body: { grace_seconds: 0 } });
    await expectRefusedUnseen(
      team,
      jobId,
      () => gw.send("POST", `/api/jobs/${jobId}/llm-call`, team.key, chat(team)),
      401,
      /Invalid API key/,
    );
  });

  it("429: the team was paused, for a stream too: no event reaches the client", async () => {
    const team = await createTeam({ credits: 5 });
    const { jobId } = await warmJob(team);
    await json("PUT", `/api/teams/${team.teamId}/pause`, 200);
    await expectRefusedUnseen(
      team,
      jobId,
      () => gw.send("POST", `/api/jobs/${jobId}/llm-call-stream`, team.key, chat(team)),
      429,
      /is paused/,
    );
  });

  it("403: the team was suspended, through the OpenAI-compatible route", async () => {
    const team = await createTeam({ credits: 5 });
    const { jobId } = await warmJob(team);
    await json("PUT", `/api/teams/${team.teamId}/suspend`, 200);
    const res = await gw.send("POST", "/v1/chat/completions", team.key, {
      model: team.groups[0],
      messages: userMessage(),
    });
    expect(res.status, res.text).toBe(403);
    expect(res.body.error.message).toMatch(/is suspended/);
    expect((await speculation(team)).aborted_calls).toBe(1);
    await json("PUT", `/api/teams/${team.teamId}/resume`, 200);
    expect(await recordedCalls(team, jobId)).toBe(1);
    await expectLedgerConsistent(team, { callsEnded: true });
  });
});

describe("after a refusal, this isolate stops starting the team's calls early", () => {
  it("the next refused call sends nothing upstream and counts no abort; once a call is admitted again, calls start early again", async () => {
    const team = await createTeam({ credits: 5 });
    const { jobId } = await warmJob(team);
    await json("PUT", `/api/teams/${team.teamId}/pause`, 200);
    const call = () => gw.send("POST", `/api/jobs/${jobId}/llm-call`, team.key, chat(team));
    expect((await call()).status).toBe(429);
    expect((await speculation(team)).aborted_calls).toBe(1);
    const upstreamBefore = (await upstreamRequests(mockUrl, team.teamId)).length;
    expect((await call()).status).toBe(429);
    expect((await speculation(team)).aborted_calls).toBe(1);
    expect((await upstreamRequests(mockUrl, team.teamId)).length).toBe(upstreamBefore);

    await json("PUT", `/api/teams/${team.teamId}/resume`, 200);
    expect((await call()).status).toBe(200);
    await json("PUT", `/api/teams/${team.teamId}/pause`, 200);
    expect((await call()).status).toBe(429);
    expect((await speculation(team)).aborted_calls).toBe(2);
    await expectLedgerConsistent(team, { callsEnded: true });
  });
});

describe("the guard counts the key's and the end user's budgets", () => {
  /** A /v1 chat call through this isolate (a one-request job: its reservation of 1 credit is held against each budget over it). */
  const v1 = (team: TestTeam, key: string, user?: string) =>
    gw.send("POST", "/v1/chat/completions", key, { model: team.groups[0], messages: userMessage(), ...(user ? { user } : {}) });

  /** A refused call this isolate did not start early: the refusal, no request upstream, no abort counted. */
  async function expectRefusedBeforeUpstream(team: TestTeam, send: () => Promise<Sent>, detail: RegExp) {
    const [upstreamBefore, abortsBefore] = [(await upstreamRequests(mockUrl, team.teamId)).length, await speculation(team)];
    const refused = await send();
    expect(refused.status, refused.text).toBe(402);
    expect(refused.body.error.message).toMatch(detail);
    expect((await upstreamRequests(mockUrl, team.teamId)).length).toBe(upstreamBefore);
    expect((await speculation(team)).aborted_calls).toBe(abortsBefore.aborted_calls);
  }

  it("a key whose budget is spent is never started upstream early: the model sees no request", async () => {
    const team = await createTeam({ credits: 100 });
    const batch = await json("POST", `/api/teams/${team.teamId}/keys`, 200, {
      body: { name: "batch", budget: { credits: 1, period: "day" } },
    });
    // Admitted here (the team has 99 credits free), and it spent the key's one credit.
    expect((await v1(team, batch.virtual_key)).status).toBe(200);
    await expectRefusedBeforeUpstream(team, () => v1(team, batch.virtual_key), /key 'batch' has a budget of 1 credit\(s\) per day/);
    // The team's other key, with no budget, still starts its calls early (and is served).
    expect((await v1(team, team.key)).status).toBe(200);
    expect((await v1(team, team.key)).status).toBe(200);
    await expectLedgerConsistent(team, { callsEnded: true });
  });

  it("an end user over their budget is never started upstream early; an end user not seen here is admitted first", async () => {
    const team = await createTeam({ credits: 100 });
    await json("PATCH", `/api/teams/${team.teamId}`, 200, { body: { end_user_budget: { credits: 1, period: "day" } } });
    expect((await v1(team, team.key, "alice")).status).toBe(200);
    await expectRefusedBeforeUpstream(team, () => v1(team, team.key, "alice"), /end user 'alice' has a budget of 1 credit\(s\) per day/);
    // The refusal stopped early starts for the team; bob's first call is admitted, then served.
    expect((await v1(team, team.key, "bob")).status).toBe(200);
    await expectRefusedBeforeUpstream(team, () => v1(team, team.key, "bob"), /end user 'bob'/);
    await expectLedgerConsistent(team, { callsEnded: true });
  });
});

describe("the guard counts the team's grants", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("once a grant expires, the credit seen before is not counted on: the next call is refused without reaching the model", async () => {
    const team = await createTeam({ credits: 0 });
    const expiresAt = new Date(Date.now() + 10_000).toISOString();
    await json("POST", `/api/credits/teams/${team.teamId}/grants`, 200, {
      body: { credits: 3, source: "promotional", expires_at: expiresAt },
    });
    const oneRequest = { team_id: team.teamId, job_type: "grant", ...chat(team) };
    // Admitted here with 3 credits of the grant: 2 were free after it, and its key is known here.
    expect((await gw.send("POST", "/api/jobs/create-and-call", team.key, oneRequest)).status).toBe(200);
    // 11 s later (the key's admission is still recent), the grant has expired: nothing is left.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.parse(expiresAt) + 1_000);
    const [upstreamBefore, abortsBefore] = [(await upstreamRequests(mockUrl, team.teamId)).length, await speculation(team)];
    const refused = await gw.send("POST", "/api/jobs/create-and-call", team.key, oneRequest);
    expect(refused.status, refused.text).toBe(402);
    expect((await upstreamRequests(mockUrl, team.teamId)).length).toBe(upstreamBefore);
    expect((await speculation(team)).aborted_calls).toBe(abortsBefore.aborted_calls);
  });
});

describe("admins turn it off per team", () => {
  it("then each call of the team is admitted before it goes upstream: a refusal sends nothing and counts nothing", async () => {
    const team = await createTeam({ credits: 5 });
    expect(await speculation(team)).toEqual({ enabled: true, aborted_calls: 0 });
    const patched = await json("PATCH", `/api/teams/${team.teamId}`, 200, { body: { speculative_admission: false } });
    expect(patched.speculation).toEqual({ enabled: false, aborted_calls: 0 });
    const { jobId } = await warmJob(team);
    await json("PUT", `/api/teams/${team.teamId}/pause`, 200);
    const upstreamBefore = (await upstreamRequests(mockUrl, team.teamId)).length;
    expect((await gw.send("POST", `/api/jobs/${jobId}/llm-call`, team.key, chat(team))).status).toBe(429);
    expect((await upstreamRequests(mockUrl, team.teamId)).length).toBe(upstreamBefore);
    expect(await speculation(team)).toEqual({ enabled: false, aborted_calls: 0 });
  });

  it("a team key never sees the setting or the count", async () => {
    const team = await createTeam({ credits: 5, extra: { speculative_admission: false } });
    expect((await json("GET", `/api/credits/teams/${team.teamId}/balance`, 200, { key: team.key })).speculation).toBeUndefined();
    expect((await speculation(team)).enabled).toBe(false);
  });
});

/**
 * A ledger namespace whose admissions (beginCall, and startOneRequestJob for a one-request job)
 * first wait (up to 1.5 s) for the mock to have the call's request, and note whether it came.
 */
function admissionAfterUpstream() {
  const upstreamFirst: boolean[] = [];
  const sawUpstream = async (callId: string) => {
    for (let waited = 0; waited < 1_500; waited += 25) {
      // Every dialect's request (Anthropic's names its team elsewhere than `user`): found by its call id.
      const { requests } = (await (await fetch(`${mockUrl}/__mock/requests`)).json()) as { requests: any[] };
      if (requests.some((r) => r.headers["x-litellm-call-id"] === callId)) return true;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return false;
  };
  const namespace = {
    getByName(name: string) {
      const real = env.TEAM_LEDGER.getByName(name) as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
      return new Proxy(real, {
        get(target, prop: string) {
          if (prop !== "beginCall" && prop !== "startOneRequestJob") return (...args: unknown[]) => target[prop](...args);
          // Both take the call's budget, with its id, fifth.
          return async (...args: unknown[]) => {
            upstreamFirst.push(await sawUpstream((args[4] as { callId: string }).callId));
            return target[prop](...args);
          };
        },
      });
    },
  } as unknown as Env["TEAM_LEDGER"];
  return { send: gatewayWith({ TEAM_LEDGER: namespace }).send, upstreamFirst };
}

describe("the upstream request starts while the admission is on its way", () => {
  it("for a key admitted here recently, plain and streamed; the first call of a key is admitted first", async () => {
    const team = await createTeam({ credits: 5 });
    const { send, upstreamFirst } = admissionAfterUpstream();
    const job = await send("POST", "/api/jobs/create", team.key, { job_type: "overlap" });
    const path = `/api/jobs/${job.body.job_id}`;
    expect((await send("POST", `${path}/llm-call`, team.key, chat(team))).status).toBe(200);
    expect((await send("POST", `${path}/llm-call`, team.key, chat(team))).status).toBe(200);
    const streamed = await send("POST", `${path}/llm-call-stream`, team.key, chat(team));
    expect(streamed.text.trimEnd().endsWith("data: [DONE]")).toBe(true);
    expect(upstreamFirst).toEqual([false, true, true]);
    expect(await recordedCalls(team, job.body.job_id)).toBe(3);
    expect((await speculation(team)).aborted_calls).toBe(0);
    await expectLedgerConsistent(team, { callsEnded: true });
  });
});

describe("every dialect takes the overlapped path", () => {
  it("/v1/chat/completions, /v1/responses and /v1/messages, plain and streamed, in a job and in one-request jobs", async () => {
    const team = await createTeam({ credits: 20 });
    const { send, upstreamFirst } = admissionAfterUpstream();
    const job = await send("POST", "/api/jobs/create", team.key, { job_type: "dialects" });
    const inJob = { "x-job-id": job.body.job_id };
    const anthropic = { "x-api-key": team.key, "anthropic-version": "2023-06-01" };
    const model = team.groups[0];
    const chatBody = { model, messages: userMessage() };
    const responsesBody = { model, input: "Write a haiku" };
    const messagesBody = { model, max_tokens: 100, messages: [{ role: "user", content: "Hi" }] };
    const sent: Sent[] = [];
    // The key's first call here is admitted first; every call after it goes upstream with its admission.
    sent.push(await send("POST", "/v1/chat/completions", team.key, chatBody, inJob));
    sent.push(await send("POST", "/v1/responses", team.key, responsesBody, inJob));
    sent.push(await send("POST", "/v1/responses", team.key, { ...responsesBody, stream: true }, inJob));
    sent.push(await send("POST", "/v1/messages", null, messagesBody, { ...inJob, ...anthropic }));
    sent.push(await send("POST", "/v1/messages", null, { ...messagesBody, stream: true }, { ...inJob, ...anthropic }));
    sent.push(await send("POST", "/v1/responses", team.key, responsesBody));
    sent.push(await send("POST", "/v1/messages", null, { ...messagesBody, stream: true }, anthropic));
    for (const res of sent) expect(res.status, res.text).toBe(200);
    expect(sent[2].text).toContain("response.completed");
    expect(sent[4].text).toContain("message_stop");
    expect(upstreamFirst).toEqual([false, true, true, true, true, true, true]);
    expect(await recordedCalls(team, job.body.job_id)).toBe(5);
    expect((await speculation(team)).aborted_calls).toBe(0);
    await expectLedgerConsistent(team, { callsEnded: true });
  });
});

describe("a group with a response cache is never started upstream early", () => {
  it("its calls are admitted through the cache first; a hit sends nothing upstream; the team's other groups still overlap", async () => {
    const team = await createTeam({ credits: 20 });
    const cached = uid("cached");
    await json("POST", "/api/model-groups/create", 200, {
      body: {
        group_name: cached,
        models: [{ model_name: "gpt-4o-mini", priority: 0 }],
        cache: { ttl_seconds: 600, hit_price_percent: 10 },
      },
    });
    await json("PUT", `/api/teams/${team.teamId}/model-groups`, 200, { body: [team.groups[0], cached] });
    const { send, upstreamFirst } = admissionAfterUpstream();
    const job = await send("POST", "/api/jobs/create", team.key, { job_type: "cached" });
    const path = `/api/jobs/${job.body.job_id}/llm-call`;
    const call = (group: string) => send("POST", path, team.key, { model_group: group, messages: userMessage() });
    expect((await call(team.groups[0])).status).toBe(200);
    const miss = await call(cached);
    expect(miss.status, miss.text).toBe(200);
    // The miss's answer is kept once its record is written.
    const scope = env.ANSWER_CACHE.getByName(`team:${team.teamId}`);
    await vi.waitFor(
      async () => {
        const kept = await runInDurableObject(scope, (_o, state) =>
          state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM answers").one(),
        );
        expect(kept.n).toBe(1);
      },
      { timeout: 5_000, interval: 25 },
    );
    const hit = await call(cached);
    expect(hit.status, hit.text).toBe(200);
    const { requests } = (await (await fetch(`${mockUrl}/__mock/requests`)).json()) as { requests: any[] };
    expect(requests.filter((r) => r.headers["x-litellm-call-id"] === hit.body.call_id)).toEqual([]);
    expect((await call(team.groups[0])).status).toBe(200);
    // Each cached call asked twice (where to look, then the admission), never with its request already upstream.
    expect(upstreamFirst).toEqual([false, false, false, false, false, true]);
    expect(await recordedCalls(team, job.body.job_id)).toBe(4);
    expect((await speculation(team)).aborted_calls).toBe(0);
    await expectLedgerConsistent(team, { callsEnded: true });
  });
});

describe("a call without max_tokens is sent with the max_tokens the object chose last", () => {
  it("and when the admission chooses fewer, the early request is aborted and the call sent again with the admission's", async () => {
    const team = await createTeam({
      credits: 10,
      extra: { budget_mode: "consumption_tokens", tokens_per_credit: 1_000, overdraft: "none" },
    });
    const { jobId } = await warmJob(team);
    // Credits now buy a tenth of the tokens: the object's max_tokens for the next call is lower.
    await json("PATCH", `/api/teams/${team.teamId}`, 200, { body: { tokens_per_credit: 100 } });
    const second = await gw.send("POST", `/api/jobs/${jobId}/llm-call`, team.key, chat(team));
    expect(second.status, second.text).toBe(200);
    const sent = (await upstreamRequests(mockUrl, team.teamId)).filter((r) => r.body.metadata?.call_id === second.body.call_id);
    expect(sent.length).toBeGreaterThanOrEqual(1);
    expect(sent.length).toBeLessThanOrEqual(2);
    const resent = sent.at(-1)!.body.max_tokens;
    expect(resent).toBeLessThan(4_096);
    if (sent.length === 2) expect(sent[0].body.max_tokens).toBe(4_096);
    expect((await speculation(team)).aborted_calls).toBe(1);
    expect(await recordedCalls(team, jobId)).toBe(2);
    await expectLedgerConsistent(team, { callsEnded: true });
  });
});
