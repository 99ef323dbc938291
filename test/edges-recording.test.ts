import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { createJob, createTeam, expectLedgerConsistent, json, sseEventsOf, type TestTeam, userMessage } from "./helpers";

// Every call is recorded, even when the client leaves or the ledger is slow, and a stream's
// end says exactly what happened to the record.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A ledger namespace whose recordCall answers `ms` later than the real one, as a busy or restarting object does. */
function slowRecordingLedger(ms: number): Env["TEAM_LEDGER"] {
  return {
    getByName(name: string) {
      const real = env.TEAM_LEDGER.getByName(name) as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
      return new Proxy(real, {
        get(target, prop: string) {
          if (prop === "recordCall") {
            return async (...args: unknown[]) => {
              await sleep(ms);
              return target.recordCall(...args);
            };
          }
          return (...args: unknown[]) => target[prop](...args);
        },
      });
    },
  } as unknown as Env["TEAM_LEDGER"];
}

/** A ledger namespace whose recordCall always fails, as an unreachable object does. */
function unrecordingLedger(): Env["TEAM_LEDGER"] {
  return {
    getByName(name: string) {
      const real = env.TEAM_LEDGER.getByName(name) as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
      return new Proxy(real, {
        get(target, prop: string) {
          if (prop === "recordCall") {
            return async () => {
              throw new Error("Durable Object reset because its code was updated");
            };
          }
          return (...args: unknown[]) => target[prop](...args);
        },
      });
    },
  } as unknown as Env["TEAM_LEDGER"];
}

/** One request straight into the Worker with its own execution context (to wait on its background work). */
function send(overrides: Partial<Env>, path: string, team: TestTeam, body: unknown, signal?: AbortSignal) {
  const ctx = createExecutionContext();
  const response = Promise.resolve(
    worker.fetch(
      new Request(`http://gateway.test${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${team.key}`, "content-type": "application/json" },
        body: JSON.stringify(body),
        signal,
      }),
      { ...env, ...overrides } as Env,
      ctx,
    ),
  );
  return { ctx, response };
}

function getJob(team: TestTeam, jobId: string) {
  return json("GET", `/api/jobs/${jobId}`, 200, { key: team.key });
}

describe("a plain call whose client leaves", () => {
  it("is still recorded, in the background: aborted, with its prompt estimated", async () => {
    const model = "gpt-4o-mini+ttfb=2000";
    const team = await createTeam({ models: [[model]] });
    await json("PUT", "/api/pricing", 200, { body: { model_name: model, input_per_million_usd: 0.15, output_per_million_usd: 0.6 } });
    const jobId = await createJob(team);
    const client = new AbortController();
    const { ctx, response } = send(
      { TEAM_LEDGER: slowRecordingLedger(300) },
      `/api/jobs/${jobId}/llm-call`,
      team,
      { model_group: team.groups[0], messages: userMessage() },
      client.signal,
    );
    response.catch(() => {}); // nobody is there to read it
    await sleep(300); // the model is still thinking
    client.abort();
    await waitOnExecutionContext(ctx);

    const job = await getJob(team, jobId);
    expect(job.calls).toHaveLength(1);
    expect(job.calls[0]).toMatchObject({ status: "aborted", usage_estimated: true, completion_tokens: 0 });
    expect(job.calls[0].prompt_tokens).toBeGreaterThan(0);
    expect(job.calls[0].cost_usd).toBeGreaterThan(0);
    await expectLedgerConsistent(team);
  });
});

describe("the end of a stream waits for the record, within a bound", () => {
  it("a ledger slower than the wait: an error event naming the job before [DONE], and the call recorded in the background", async () => {
    const team = await createTeam();
    const jobId = await createJob(team);
    const { ctx, response } = send(
      { TEAM_LEDGER: slowRecordingLedger(1_500), LEDGER_END_OF_STREAM_WAIT_MS: "100" },
      `/api/jobs/${jobId}/llm-call-stream`,
      team,
      { model_group: team.groups[0], messages: userMessage() },
    );
    const events = await sseEventsOf(await response);
    expect(events.at(-1)!.data).toBe("[DONE]");
    const error = JSON.parse(events.at(-2)!.data).error;
    expect(error).toMatchObject({ type: "call_not_yet_recorded", code: "503" });
    expect(error.message).toBe(
      `The call could not yet be recorded in job ${jobId}; it is still being recorded in the background. Check GET /api/jobs/${jobId} before completing the job.`,
    );
    expect(events.filter((e) => e.data.includes('"usage"'))).toHaveLength(1); // the answer itself was delivered whole

    await waitOnExecutionContext(ctx);
    const job = await getJob(team, jobId);
    expect(job.calls).toHaveLength(1);
    expect(job.calls[0]).toMatchObject({ status: "success", stream: true, usage_estimated: false });
  });

  it("create-and-call-stream with a slow ledger: no job_summary but an error event naming the job, which is then completed and charged once", async () => {
    const team = await createTeam();
    const { ctx, response } = send(
      { TEAM_LEDGER: slowRecordingLedger(1_500), LEDGER_END_OF_STREAM_WAIT_MS: "100" },
      "/api/jobs/create-and-call-stream",
      team,
      { team_id: team.teamId, job_type: "streamed_answer", model_group: team.groups[0], messages: userMessage() },
    );
    const res = await response;
    const jobId = res.headers.get("x-job-id")!;
    const events = await sseEventsOf(res);
    expect(events.map((e) => e.event)).not.toContain("job_summary");
    expect(events.at(-1)!.data).toBe("[DONE]");
    expect(JSON.parse(events.at(-2)!.data).error.message).toContain(`job ${jobId}`);

    await waitOnExecutionContext(ctx);
    const job = await getJob(team, jobId);
    expect(job).toMatchObject({ status: "completed", credit_applied: true, credits_charged: 1 });
    expect(job.calls).toHaveLength(1);
    const b = await expectLedgerConsistent(team);
    expect([b.credits_used, b.credits_reserved]).toEqual([1, 0]);
  });

  it("a ledger that never takes the record: an error event saying so before [DONE], and the job stays without the call", async () => {
    const team = await createTeam();
    const jobId = await createJob(team);
    const { ctx, response } = send(
      { TEAM_LEDGER: unrecordingLedger(), LEDGER_END_OF_STREAM_WAIT_MS: "10000" },
      `/api/jobs/${jobId}/llm-call-stream`,
      team,
      { model_group: team.groups[0], messages: userMessage() },
    );
    const events = await sseEventsOf(await response);
    await waitOnExecutionContext(ctx);
    expect(events.at(-1)!.data).toBe("[DONE]");
    expect(JSON.parse(events.at(-2)!.data).error).toEqual({
      message: `The call could not be recorded in job ${jobId}. Check GET /api/jobs/${jobId} before completing the job.`,
      type: "ledger_unavailable",
      param: null,
      code: "503",
    });
    expect((await getJob(team, jobId)).calls).toHaveLength(0);
  });

  it("a ledger that answers within the wait: the job_summary, then [DONE], and no error event", async () => {
    const team = await createTeam();
    const { ctx, response } = send(
      { TEAM_LEDGER: slowRecordingLedger(200), LEDGER_END_OF_STREAM_WAIT_MS: "5000" },
      "/api/jobs/create-and-call-stream",
      team,
      { team_id: team.teamId, job_type: "streamed_answer", model_group: team.groups[0], messages: userMessage() },
    );
    const events = await sseEventsOf(await response);
    await waitOnExecutionContext(ctx);
    expect(events.at(-2)!.event).toBe("job_summary");
    expect(events.at(-1)!.data).toBe("[DONE]");
    expect(events.some((e) => e.data.includes('"error"'))).toBe(false);
  });
});
