// The service-binding door: the example consumer Worker runs beside the gateway in workerd and
// reaches it through a service binding to GatewayRpc (vitest.config.ts), and the entrypoint is
// also driven directly. Both doors must give the same answers under the same rules.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type GatewayBinding, GatewayClient, GatewayError } from "../client/src/index.js";
import { api, balance, createGroup, createJob, createOrg, createTeam, expectLedgerConsistent, json, sseEventsOf, uid } from "./helpers";

const question = () => [{ role: "user" as const, content: "How do I reset my password?" }];

/** The gateway's GatewayRpc entrypoint, as a service binding shows it to another Worker. */
const rpc = (exports as unknown as { GatewayRpc: GatewayBinding }).GatewayRpc;

async function consumer(method: string, path: string, key: string | null, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (key !== null) headers.authorization = `Bearer ${key}`;
  return env.CONSUMER.fetch(`http://consumer.test${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

describe("the consumer Worker, through its service binding", () => {
  it("runs the seed's chain: one job, three calls (one streamed), completed, balance 100 → 99", async () => {
    const org = await createOrg();
    const fast = await createGroup(["gpt-3.5-turbo", "gpt-4o-mini"]);
    const advanced = await createGroup(["gpt-4", "gpt-4-turbo"]);
    const teamId = uid("engineering");
    const created = await json("POST", "/api/teams/create", 200, {
      body: { organization_id: org, team_id: teamId, model_groups: [fast, advanced], credits_allocated: 100 },
    });
    const team = { teamId, organizationId: org, key: created.virtual_key as string, groups: [fast, advanced], created };

    const res = await consumer("POST", "/support-ticket", team.key, {
      team_id: teamId,
      question: "How do I reset my password?",
      fast_group: fast,
      advanced_group: advanced,
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    const run = JSON.parse(text);
    expect(run.initial_response.length).toBeGreaterThan(0);
    expect(run.follow_up.length).toBeGreaterThan(0);
    expect(run.analysis.length).toBeGreaterThan(0);
    expect(run.costs).toMatchObject({ total_calls: 3, successful_calls: 3, failed_calls: 0, credit_applied: true, credits_charged: 1 });
    expect(run.credits_remaining).toBe(99);

    // The gateway recorded what the binding did, as it records HTTP calls.
    const job = await json("GET", `/api/jobs/${run.job_id}`, 200, { key: team.key });
    expect(job.status).toBe("completed");
    expect(job.calls.map((c: any) => [c.purpose, c.stream, c.status])).toEqual([
      ["initial_response", false, "success"],
      ["follow_up", true, "success"],
      ["analysis", false, "success"],
    ]);
    const after = await balance(team);
    expect([after.credits_remaining, after.credits_allocated, after.credits_used]).toEqual([99, 100, 1]);
    await expectLedgerConsistent(team);

    // The consumer's read goes through the binding too.
    const viaConsumer = await consumer("GET", `/jobs/${run.job_id}`, team.key);
    expect(viaConsumer.status).toBe(200);
    expect((await viaConsumer.json<any>()).costs.total_calls).toBe(3);
  });

  it("refuses a bad key through the binding, as over HTTP (401)", async () => {
    const team = await createTeam();
    const bad = `sk-${"0".repeat(64)}`;
    const res = await consumer("POST", "/support-ticket", bad, { team_id: team.teamId, question: "hi", fast_group: team.groups[0] });
    expect(res.status).toBe(401);
    const http = await api("POST", "/api/jobs/create", { key: bad, body: { team_id: team.teamId, job_type: "x" } });
    expect(http.status).toBe(401);
    expect(await res.json()).toEqual(await http.json());
    expect((await balance(team)).credits_reserved).toBe(0);
  });

  it("keeps teams apart through the binding: another team's job cannot be read", async () => {
    const owner = await createTeam();
    const other = await createTeam();
    const jobId = await createJob(owner);
    const viaConsumer = await consumer("GET", `/jobs/${jobId}`, other.key);
    const viaHttp = await api("GET", `/api/jobs/${jobId}`, { key: other.key });
    expect(viaHttp.status).toBeGreaterThanOrEqual(403);
    expect(viaConsumer.status).toBe(viaHttp.status);
    expect(await viaConsumer.json()).toEqual(await viaHttp.json());
  });
});

describe("GatewayRpc, called directly", () => {
  it("answers typed values: a job, a call, a completion, a balance and usage", async () => {
    const team = await createTeam();
    // No team_id: the job is the key's team's.
    const opened = await rpc.createJob(team.key, { job_type: "rpc_job" });
    expect(opened.ok).toBe(true);
    if (!opened.ok) return;
    expect([opened.value.status, opened.value.team_id]).toEqual(["pending", team.teamId]);
    const call = await rpc.call(team.key, opened.value.job_id, { model_group: team.groups[0], messages: question() });
    if (!call.ok) throw new Error(JSON.stringify(call));
    expect(call.value.metadata.tokens_used).toBeGreaterThan(0);
    const done = await rpc.complete(team.key, opened.value.job_id, { status: "completed" });
    if (!done.ok) throw new Error(JSON.stringify(done));
    expect(done.value.costs).toMatchObject({ total_calls: 1, credits_charged: 1, credits_remaining: 99 });
    const got = await rpc.getJob(team.key, opened.value.job_id, { calls_limit: 1 });
    if (!got.ok) throw new Error(JSON.stringify(got));
    expect([got.value.status, got.value.calls.length, got.value.calls_limit]).toEqual(["completed", 1, 1]);
    const money = await rpc.balance(team.key, team.teamId);
    if (!money.ok) throw new Error(JSON.stringify(money));
    expect(money.value.credits_remaining).toBe(99);
    expect(money.value).not.toHaveProperty("cost_markup_percentage");
    const usage = await rpc.usage(team.key, team.teamId);
    if (!usage.ok) throw new Error(JSON.stringify(usage));
    expect([usage.value.summary.jobs, usage.value.summary.calls, usage.value.summary.credits_charged]).toEqual([1, 1, 1]);
    await expectLedgerConsistent(team);
  });

  it("streams the same SSE bytes as llm-call-stream", async () => {
    const team = await createTeam();
    const jobId = await createJob(team);
    const body = { model_group: team.groups[0], messages: question() };
    const streamed = await rpc.stream(team.key, jobId, body);
    if (!streamed.ok) throw new Error(JSON.stringify(streamed));
    const viaRpc = await sseEventsOf(new Response(streamed.value));
    const viaHttp = await sseEventsOf(await api("POST", `/api/jobs/${jobId}/llm-call-stream`, { key: team.key, body }));
    // Each stream is its own call (own id and timestamps); everything else is the same.
    const shape = (events: { event: string | null; data: string }[]) =>
      events.map((e) => (e.data === "[DONE]" ? "[DONE]" : { ...JSON.parse(e.data), id: "-", created: 0 }));
    expect(viaRpc.at(-1)?.data).toBe("[DONE]");
    expect(shape(viaRpc)).toEqual(shape(viaHttp));
    const job = await json("GET", `/api/jobs/${jobId}`, 200, { key: team.key });
    expect(job.calls.map((c: any) => [c.stream, c.status])).toEqual([
      [true, "success"],
      [true, "success"],
    ]);
    expect(JSON.parse(viaRpc[0].data).id).toBe(`chatcmpl-${job.calls[0].call_id}`);
  });

  it("refuses as HTTP does, with values: another team's job, a bad key, invalid input, no credits", async () => {
    const owner = await createTeam();
    const other = await createTeam({ credits: 0 });
    const jobId = await createJob(owner);
    const body = { model_group: owner.groups[0], messages: question() };

    const foreignCall = await rpc.call(other.key, jobId, body);
    const httpCall = await api("POST", `/api/jobs/${jobId}/llm-call`, { key: other.key, body });
    expect(foreignCall).toMatchObject({ ok: false, status: httpCall.status, detail: (await httpCall.json<any>()).detail });
    const foreignComplete = await rpc.complete(other.key, jobId, { status: "completed" });
    expect(foreignComplete.ok).toBe(false);
    expect(await rpc.balance(other.key, owner.teamId)).toMatchObject({ ok: false, status: 403 });
    expect(await rpc.createJob(other.key, { team_id: owner.teamId, job_type: "x" })).toMatchObject({ ok: false, status: 403 });

    expect(await rpc.getJob(`sk-${"f".repeat(64)}`, jobId)).toMatchObject({ ok: false, status: 401 });
    expect(await rpc.getJob("", jobId)).toMatchObject({ ok: false, status: 401 });
    expect(await rpc.getJob("bad\nkey", jobId)).toMatchObject({ ok: false, status: 400 });

    const invalid = await rpc.call(owner.key, jobId, { model_group: owner.groups[0], messages: [] });
    expect(invalid).toMatchObject({ ok: false, status: 422 });
    if (!invalid.ok) expect(invalid.detail).toEqual([expect.objectContaining({ loc: ["body", "messages"] })]);

    expect(await rpc.createJob(other.key, { team_id: other.teamId, job_type: "x" })).toMatchObject({ ok: false, status: 402 });

    // Nothing moved: the owner's job still holds its reservation only, the other team has nothing.
    expect((await balance(owner)).credits_reserved).toBe(1);
    await expectLedgerConsistent(owner);
    await expectLedgerConsistent(other);
  });

  it("honours idempotency keys on money methods: a retried createJob and complete change nothing more", async () => {
    const team = await createTeam();
    const idempotencyKey = crypto.randomUUID();
    const first = await rpc.createJob(team.key, { team_id: team.teamId, job_type: "retry" }, { idempotencyKey });
    const again = await rpc.createJob(team.key, { team_id: team.teamId, job_type: "retry" }, { idempotencyKey });
    if (!first.ok || !again.ok) throw new Error(JSON.stringify([first, again]));
    expect(again.value.job_id).toBe(first.value.job_id);
    expect((await balance(team)).credits_reserved).toBe(1);
    const completeKey = crypto.randomUUID();
    await rpc.complete(team.key, first.value.job_id, { status: "completed" }, { idempotencyKey: completeKey });
    const repeat = await rpc.complete(team.key, first.value.job_id, { status: "completed" }, { idempotencyKey: completeKey });
    expect(repeat).toMatchObject({ ok: true, value: { costs: { credits_remaining: 99 } } });
    expect((await balance(team)).credits_remaining).toBe(99);
    await expectLedgerConsistent(team);
  });
});

describe("the typed client over the binding", () => {
  it("job() completes the job on success and fails it (uncharged) when the work throws", async () => {
    const team = await createTeam();
    const client = new GatewayClient({ binding: rpc, apiKey: team.key });
    const ok = await client.job({ team_id: team.teamId, job_type: "helper" }, async (job) => {
      const chunks = [];
      for await (const chunk of await client.stream(job.job_id, { model_group: team.groups[0], messages: question() })) chunks.push(chunk);
      return chunks.length;
    });
    expect(ok.result).toBeGreaterThan(0);
    expect(ok.completion).toMatchObject({ status: "completed", costs: { total_calls: 1, credits_charged: 1 } });

    let failedJob = "";
    const thrown = await client
      .job({ team_id: team.teamId, job_type: "helper" }, async (job) => {
        failedJob = job.job_id;
        await client.call(job.job_id, { model_group: team.groups[0], messages: question() });
        throw new Error("the work broke");
      })
      .catch((error: unknown) => error);
    expect(thrown).toBeInstanceOf(Error);
    expect((thrown as Error).message).toBe("the work broke");
    const failed = await client.getJob(failedJob);
    expect([failed.status, failed.error_message, failed.credits_charged]).toEqual(["failed", "the work broke", 0]);
    expect((await client.balance(team.teamId)).credits_remaining).toBe(99);
    await expectLedgerConsistent(team);
  });

  it("leaving a stream's loop early cancels it through the binding: the call is recorded as aborted", async () => {
    // hang=2: the mock sends two chunks and then waits for the client to leave.
    const model = "gpt-4o-mini+hang=2";
    await json("PUT", "/api/pricing", 200, { body: { model_name: model, input_per_million_usd: 0.15, output_per_million_usd: 0.6 } });
    const team = await createTeam({ models: [[model]] });
    const client = new GatewayClient({ binding: rpc, apiKey: team.key });
    const jobId = (await client.createJob({ team_id: team.teamId, job_type: "leaves" })).job_id;
    for await (const chunk of await client.stream(jobId, { model_group: team.groups[0], messages: question() })) {
      expect(chunk.object).toBe("chat.completion.chunk");
      break;
    }
    let call: any;
    for (let tries = 0; tries < 100 && !call; tries++) {
      call = (await client.getJob(jobId)).calls[0];
      if (!call) await new Promise((r) => setTimeout(r, 50));
    }
    expect(call).toMatchObject({ status: "aborted", stream: true, error: "Client disconnected mid-stream" });
    await client.complete(jobId, { status: "completed" });
    await expectLedgerConsistent(team);
  });

  it("throws GatewayError with the status and detail of a refusal, and a stream's error event from the loop", async () => {
    const team = await createTeam({ models: [["gpt-4o-mini+fail=500"]] });
    const client = new GatewayClient({ binding: rpc, apiKey: team.key });
    const jobId = (await client.createJob({ team_id: team.teamId, job_type: "errors" })).job_id;
    const refused = await client.call(jobId, { model_group: team.groups[0], messages: question() }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(GatewayError);
    expect((refused as GatewayError).status).toBe(502);
    const notMine = await client.balance("someone-else").catch((e: unknown) => e);
    expect(notMine).toMatchObject({ name: "GatewayError", status: 403 });
    await client.complete(jobId, { status: "failed" });
    await expectLedgerConsistent(team);
  });
});
