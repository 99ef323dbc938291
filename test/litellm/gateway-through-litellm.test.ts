// The gateway (wrangler dev, started by the real `npm start`) → a REAL pinned LiteLLM proxy →
// the repo's mock OpenAI-compatible upstream. Started by scripts/test-litellm.mjs
// (`npm run test:litellm`); see vitest.litellm.config.ts.
//
// - the seed's workflow (../shared/seed/full-chain-example.txt) end to end;
// - a streamed call through POST /api/jobs/{id}/llm-call-stream;
// - fallback when the group's first model fails inside LiteLLM (`always-fails` → 500);
// - cost: what the gateway records equals what LiteLLM reports for the same request
//   (`x-litellm-response-cost` for a plain call, `usage.cost` for a streamed one).
import { beforeAll, describe, expect, it } from "vitest";
import {
  describeLiteLLM,
  type HttpResult,
  http,
  type LiteLLMRun,
  litellmRun,
  loadMock,
  parseSse,
  randomSuffix,
  streamedContent,
  usageChunks,
} from "./harness";

let run: LiteLLMRun;
let mock: any;

const admin = () => ({ authorization: `Bearer ${run.adminKey}` });
const team = (key: string) => ({ authorization: `Bearer ${key}` });
const api = (path: string) => `${run.gatewayUrl}/api${path}`;

function ok(res: HttpResult, what: string, status = 200): any {
  if (res.status !== status) throw new Error(`${what}: expected HTTP ${status}, got ${res.status}: ${res.text.slice(0, 2000)}`);
  return res.json;
}

/** Messages the upstream mock answers deterministically: same messages → same text, tokens, cost. */
const userMessage = (text: string) => [{ role: "user", content: text }];

/** The chat requests the mock upstream received from LiteLLM for one end user (the gateway sends `user: <team_id>`). */
async function upstreamRequests(teamId: string): Promise<any[]> {
  const res = ok(await http("GET", `${run.upstreamUrl}/__mock/requests?user=${encodeURIComponent(teamId)}`), "mock upstream log");
  return res.requests.filter((r: any) => r.path.endsWith("/chat/completions"));
}

async function createGroup(name: string, models: string[]) {
  return ok(
    await http("POST", api("/model-groups/create"), {
      headers: admin(),
      body: {
        group_name: name,
        display_name: name,
        description: `test:litellm ${name}`,
        models: models.map((model_name, priority) => ({ model_name, priority })),
      },
    }),
    `create model group ${name}`,
  );
}

/** An organization + team on the given groups, 100 credits, markup 0 (client cost = provider cost). */
async function createTeam(groups: string[]): Promise<{ teamId: string; key: string }> {
  const suffix = randomSuffix();
  const orgId = `org-${suffix}`;
  ok(
    await http("POST", api("/organizations/create"), { headers: admin(), body: { organization_id: orgId, name: `Org ${suffix}` } }),
    "create org",
  );
  const teamId = `team-${suffix}`;
  const created = ok(
    await http("POST", api("/teams/create"), {
      headers: admin(),
      body: {
        organization_id: orgId,
        team_id: teamId,
        team_alias: `Team ${suffix}`,
        model_groups: groups,
        credits_allocated: 100,
        cost_markup_percentage: 0,
      },
    }),
    "create team",
  );
  return { teamId, key: created.virtual_key };
}

async function createJob(key: string, teamId: string, jobType = "litellm_check"): Promise<string> {
  return ok(
    await http("POST", api("/jobs/create"), { headers: team(key), body: { team_id: teamId, job_type: jobType, metadata: {} } }),
    "create job",
  ).job_id;
}

async function getJob(key: string, jobId: string) {
  return ok(await http("GET", api(`/jobs/${jobId}`), { headers: team(key) }), "get job");
}

/** POST llm-call-stream; a 404 from the router means the streaming route is not mounted yet. */
async function streamCall(key: string, jobId: string, body: Record<string, unknown>): Promise<HttpResult> {
  const res = await http("POST", api(`/jobs/${jobId}/llm-call-stream`), { headers: team(key), body });
  if (res.status === 404 && !/job/i.test(res.text)) {
    throw new Error(
      `POST /api/jobs/{id}/llm-call-stream answered 404 (${res.text.slice(0, 200)}): this test needs the streaming route ` +
        "(src/http/routes/streaming.ts) mounted under /api/jobs.",
    );
  }
  return res;
}

/** The same request sent straight to LiteLLM with its master key (what the gateway would have sent, minus attribution). */
async function direct(body: Record<string, unknown>): Promise<HttpResult> {
  return http("POST", `${run.litellmUrl}/chat/completions`, { headers: { authorization: `Bearer ${run.litellmKey}` }, body });
}

/** |a - b| within the ledger's nano-dollar rounding, or within `relative` of b. */
function expectSameUsd(actual: number, expected: number, relative = 0) {
  expect(expected).toBeGreaterThan(0);
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(Math.max(1e-9, expected * relative));
}

describeLiteLLM(`the gateway through a real LiteLLM proxy`, () => {
  beforeAll(async () => {
    run = litellmRun();
    mock = await loadMock();
    const health = await http("GET", `${run.gatewayUrl}/health`);
    expect(health.status).toBe(200);
    const alive = await http("GET", `${run.litellmUrl}/health/liveliness`);
    expect(alive.status, "LiteLLM answers /health/liveliness").toBe(200);
  });

  describe("the seed's workflow", () => {
    const SYSTEM = { role: "system", content: "You are a helpful customer support assistant." };
    const QUESTION = { role: "user", content: "How do I reset my password?" };

    it("org → ChatFast/ChatAdvanced → team with 100 credits → job → three calls → complete → 99", async () => {
      ok(
        await http("POST", api("/organizations/create"), {
          headers: admin(),
          body: { organization_id: "acme-corp", name: "Acme Corporation", metadata: { industry: "technology", tier: "enterprise" } },
        }),
        "create_organization",
      );
      const fast = await createGroup("ChatFast", ["gpt-3.5-turbo", "gpt-4o-mini"]);
      expect(fast.models).toEqual([
        { model_name: "gpt-3.5-turbo", priority: 0 },
        { model_name: "gpt-4o-mini", priority: 1 },
      ]);
      await createGroup("ChatAdvanced", ["gpt-4", "gpt-4-turbo"]);
      const created = ok(
        await http("POST", api("/teams/create"), {
          headers: admin(),
          body: {
            organization_id: "acme-corp",
            team_id: "engineering-team",
            team_alias: "Engineering Team",
            model_groups: ["ChatFast", "ChatAdvanced"],
            credits_allocated: 100,
          },
        }),
        "create_team",
      );
      const key: string = created.virtual_key;
      expect(created.credits_allocated).toBe(100);
      const before = ok(await http("GET", api("/credits/teams/engineering-team/balance"), { headers: team(key) }), "balance");
      expect(before).toMatchObject({ credits_allocated: 100, credits_remaining: 100 });

      const jobId = ok(
        await http("POST", api("/jobs/create"), {
          headers: team(key),
          body: {
            team_id: "engineering-team",
            job_type: "customer_support",
            metadata: { customer_id: "customer_12345", priority: "high" },
          },
        }),
        "create_job",
      ).job_id;

      const call = async (modelGroup: string, messages: unknown[], purpose: string, temperature = 0.7) =>
        ok(
          await http("POST", api(`/jobs/${jobId}/llm-call`), {
            headers: team(key),
            body: { model_group: modelGroup, messages, purpose, temperature },
          }),
          `call ${purpose}`,
        );

      const messages1 = [SYSTEM, QUESTION];
      const r1 = await call("ChatFast", messages1, "initial_response");
      const messages2 = [
        SYSTEM,
        QUESTION,
        { role: "assistant", content: r1.response.content },
        { role: "user", content: "I didn't receive the reset email." },
      ];
      const r2 = await call("ChatFast", messages2, "follow_up");
      const messages3 = [
        { role: "user", content: "Analyze this customer interaction and suggest improvements to our password reset process." },
      ];
      const r3 = await call("ChatAdvanced", messages3, "analysis", 0.3);

      // Each answer is the upstream's, passed through LiteLLM unchanged: text, finish reason, usage.
      for (const [r, messages, base] of [
        [r1, messages1, "gpt-3.5-turbo"],
        [r2, messages2, "gpt-3.5-turbo"],
        [r3, messages3, "gpt-4"],
      ] as const) {
        const expected = mock.buildAnswer({ messages }, base);
        expect(r.response.content).toBe(expected.content);
        expect(r.response.finish_reason).toBe("stop");
        expect(r.metadata).toMatchObject({
          prompt_tokens: expected.promptTokens,
          completion_tokens: expected.completionTokens,
          tokens_used: expected.totalTokens,
        });
        expect(r.metadata.latency_ms).toBeGreaterThanOrEqual(0);
      }

      const completion = ok(
        await http("POST", api(`/jobs/${jobId}/complete`), { headers: team(key), body: { status: "completed" } }),
        "complete_job",
      );
      expect(completion.costs).toMatchObject({
        total_calls: 3,
        successful_calls: 3,
        failed_calls: 0,
        credit_applied: true,
        credits_charged: 1,
        credits_remaining: 99,
      });
      expect(completion.costs.total_tokens).toBe(r1.metadata.tokens_used + r2.metadata.tokens_used + r3.metadata.tokens_used);
      const after = ok(await http("GET", api("/credits/teams/engineering-team/balance"), { headers: team(key) }), "balance");
      expect(after).toMatchObject({ credits_allocated: 100, credits_used: 1, credits_remaining: 99 });

      // Costs are LiteLLM's, from its bundled price map (the mock's MODEL_PRICES are the same numbers).
      const job = await getJob(key, jobId);
      expect(job.calls).toHaveLength(3);
      for (const [c, r, base] of [
        [job.calls[0], r1, "gpt-3.5-turbo"],
        [job.calls[1], r2, "gpt-3.5-turbo"],
        [job.calls[2], r3, "gpt-4"],
      ] as const) {
        expect(c).toMatchObject({ status: "success", stream: false, usage_estimated: false, error: null });
        expectSameUsd(c.cost_usd, mock.computeCost(base, r.metadata.prompt_tokens, r.metadata.completion_tokens));
      }
      expectSameUsd(
        completion.costs.total_cost_usd,
        job.calls.reduce((sum: number, c: any) => sum + c.cost_usd, 0),
      );

      // The calls went gateway → LiteLLM → upstream: the upstream saw the provider models, for this team.
      const sent = await upstreamRequests("engineering-team");
      expect(sent.map((r) => r.body.model)).toEqual(["gpt-3.5-turbo", "gpt-3.5-turbo", "gpt-4"]);
      expect(sent[2].body.temperature).toBe(0.3);
    });
  });

  describe("a streamed call (POST /api/jobs/{id}/llm-call-stream)", () => {
    it("passes LiteLLM's SSE stream through, ends with [DONE], and records the call with its usage", async () => {
      const group = await createGroup(`Stream-${randomSuffix()}`, ["gpt-4o-mini"]);
      const { teamId, key } = await createTeam([group.group_name]);
      const jobId = await createJob(key, teamId);
      const messages = userMessage("Stream me an answer about password resets.");
      const res = await streamCall(key, jobId, { model_group: group.group_name, messages, purpose: "stream_check" });
      expect(res.status, res.text.slice(0, 500)).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
      const sse = parseSse(res.text);
      expect(sse.rest).toBe("");
      expect(sse.endsWithDone, "the stream ends with data: [DONE]").toBe(true);
      expect(sse.frames.every((f) => f.startsWith("data: ") || f.startsWith(":"))).toBe(true);
      const chunks = sse.objects;
      expect(chunks.length).toBeGreaterThan(2);
      expect(chunks.every((c) => c.object === "chat.completion.chunk")).toBe(true);
      expect(
        chunks.every((c) => c.model === group.group_name),
        "chunks name the group, never the model",
      ).toBe(true);
      const expected = mock.buildAnswer({ messages }, "gpt-4o-mini");
      expect(streamedContent(chunks)).toBe(expected.content);
      const usage = usageChunks(chunks);
      expect(usage).toHaveLength(1);
      expect(usage[0].usage).toMatchObject({
        prompt_tokens: expected.promptTokens,
        completion_tokens: expected.completionTokens,
        total_tokens: expected.totalTokens,
      });

      const job = await getJob(key, jobId);
      expect(job.calls).toHaveLength(1);
      expect(job.calls[0]).toMatchObject({
        status: "success",
        stream: true,
        usage_estimated: false,
        prompt_tokens: expected.promptTokens,
        completion_tokens: expected.completionTokens,
        total_tokens: expected.totalTokens,
        error: null,
      });
      expect(res.headers.get("x-call-id")).toBe(job.calls[0].call_id);
      expect(job.calls[0].cost_usd).toBeGreaterThan(0);
      const done = ok(
        await http("POST", api(`/jobs/${jobId}/complete`), { headers: team(key), body: { status: "completed" } }),
        "complete",
      );
      expect(done.costs).toMatchObject({ total_calls: 1, successful_calls: 1, credits_remaining: 99 });
    });
  });

  describe("fallback when the primary model fails inside LiteLLM", () => {
    let group: string;
    let teamId: string;
    let key: string;
    beforeAll(async () => {
      group = `Fallback-${randomSuffix()}`;
      await createGroup(group, ["always-fails", "gpt-4o-mini"]);
      ({ teamId, key } = await createTeam([group]));
    });

    it("LiteLLM itself answers 500 for always-fails (the upstream failed), even for a stream request", async () => {
      for (const stream of [false, true]) {
        const res = await direct({
          model: "always-fails",
          messages: userMessage("fail please"),
          ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
        });
        expect(res.status).toBe(500);
        expect(res.headers.get("content-type")).toMatch(/^application\/json/);
        expect(res.json.error).toMatchObject({ code: "500", type: "internal_server_error" });
      }
    });

    it("group [always-fails, gpt-4o-mini]: the call succeeds on gpt-4o-mini and the job shows it successful", async () => {
      const jobId = await createJob(key, teamId);
      const messages = userMessage("Fallback check: answer even though the first model is down.");
      const answer = ok(
        await http("POST", api(`/jobs/${jobId}/llm-call`), { headers: team(key), body: { model_group: group, messages } }),
        "llm-call",
      );
      const expected = mock.buildAnswer({ messages }, "gpt-4o-mini");
      expect(answer.response.content).toBe(expected.content);
      expect(answer.metadata.tokens_used).toBe(expected.totalTokens);
      // Teams see the group, never which model served or what failed upstream.
      expect(JSON.stringify(answer.metadata)).not.toMatch(/always-fails|gpt-4o-mini|InternalServerError/);

      const job = await getJob(key, jobId);
      expect(job.calls).toHaveLength(1);
      expect(job.calls[0]).toMatchObject({
        call_id: answer.call_id,
        status: "success",
        error: null,
        stream: false,
        total_tokens: expected.totalTokens,
      });
      expectSameUsd(job.calls[0].cost_usd, mock.computeCost("gpt-4o-mini", expected.promptTokens, expected.completionTokens));
      expect(job.costs).toMatchObject({ total_calls: 1, successful_calls: 1, failed_calls: 0 });

      // Both deployments were really tried by LiteLLM: the failing one, then gpt-4o-mini.
      const all = ok(await http("GET", `${run.upstreamUrl}/__mock/requests?limit=10`), "mock upstream log").requests;
      const seen = all.map((r: any) => ({ model: r.body?.model, user: r.body?.user, messages: r.body?.messages }));
      const sent = seen.filter((r: any) => JSON.stringify(r.messages) === JSON.stringify(messages));
      expect(
        sent.map((r: any) => r.model),
        `upstream saw: ${JSON.stringify(seen)}`,
      ).toEqual(["gpt-4o-mini+fail=500", "gpt-4o-mini"]);
    });

    it("the same fallback for a streamed call", async () => {
      const jobId = await createJob(key, teamId);
      const messages = userMessage("Streamed fallback check.");
      const res = await streamCall(key, jobId, { model_group: group, messages });
      expect(res.status, res.text.slice(0, 500)).toBe(200);
      const sse = parseSse(res.text);
      expect(sse.endsWithDone).toBe(true);
      expect(streamedContent(sse.objects)).toBe(mock.buildAnswer({ messages }, "gpt-4o-mini").content);
      const job = await getJob(key, jobId);
      expect(job.calls[0]).toMatchObject({ status: "success", stream: true, error: null });
    });
  });

  describe("cost: what the gateway records is what LiteLLM reports (markup 0)", () => {
    let group: string;
    let teamId: string;
    let key: string;
    beforeAll(async () => {
      group = `Cost-${randomSuffix()}`;
      await createGroup(group, ["gpt-4"]);
      ({ teamId, key } = await createTeam([group]));
      // The markup is shown to the admin key only.
      const balance = ok(await http("GET", api(`/credits/teams/${teamId}/balance`), { headers: admin() }), "balance");
      expect(balance.cost_markup_percentage).toBe(0);
    });

    it("a non-streamed call's cost_usd equals x-litellm-response-cost for the same request", async () => {
      const messages = userMessage("Cost check: how much does this non-streamed answer cost?");
      const jobId = await createJob(key, teamId);
      const answer = ok(
        await http("POST", api(`/jobs/${jobId}/llm-call`), { headers: team(key), body: { model_group: group, messages } }),
        "llm-call",
      );

      const same = await direct({ model: "gpt-4", messages, temperature: 0.7 });
      expect(same.status).toBe(200);
      const header = same.headers.get("x-litellm-response-cost");
      expect(header, "LiteLLM sends x-litellm-response-cost on a non-streamed answer").not.toBeNull();
      const litellmCost = Number.parseFloat(header!);
      expect(same.json.usage.total_tokens).toBe(answer.metadata.tokens_used);

      const job = await getJob(key, jobId);
      expectSameUsd(job.calls[0].cost_usd, litellmCost);
      expect(job.calls[0].usage_estimated).toBe(false);
    });

    it("a streamed call's cost_usd equals LiteLLM's usage.cost (and the non-streamed cost for the same tokens, within 0.1%)", async () => {
      const messages = userMessage("Cost check: how much does this streamed answer cost?");
      const jobId = await createJob(key, teamId);
      const res = await streamCall(key, jobId, { model_group: group, messages });
      expect(res.status, res.text.slice(0, 500)).toBe(200);
      const streamedUsage = usageChunks(parseSse(res.text).objects)[0]?.usage;
      expect(streamedUsage, "the gateway's stream carries the usage chunk").toBeTruthy();

      const sameStream = await direct({
        model: "gpt-4",
        messages,
        temperature: 0.7,
        stream: true,
        stream_options: { include_usage: true },
      });
      expect(sameStream.status).toBe(200);
      expect(sameStream.headers.get("x-litellm-response-cost"), "no cost header on a stream").toBeNull();
      const litellmUsage = usageChunks(parseSse(sameStream.text).objects)[0]?.usage;
      expect(litellmUsage?.cost, "LiteLLM puts usage.cost in the stream's usage chunk").toBeTypeOf("number");
      expect(litellmUsage.total_tokens).toBe(streamedUsage.total_tokens);

      const samePlain = await direct({ model: "gpt-4", messages, temperature: 0.7 });
      const plainCost = Number.parseFloat(samePlain.headers.get("x-litellm-response-cost") ?? "NaN");
      expect(samePlain.json.usage.total_tokens).toBe(litellmUsage.total_tokens);

      const job = await getJob(key, jobId);
      expect(job.calls[0]).toMatchObject({ status: "success", stream: true, usage_estimated: false });
      expectSameUsd(job.calls[0].cost_usd, litellmUsage.cost);
      expectSameUsd(job.calls[0].cost_usd, plainCost, 0.001);
    });
  });
});
