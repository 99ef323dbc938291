import { describe, expect, it } from "vitest";
import { api, balance, createJob, createTeam, expectLedgerConsistent, json, llmCall, userMessage } from "./helpers";

// The gateway owns the jobs it opens (create-and-call and its stream variant): only it
// completes them. And a job that ends other than completed is never charged, whatever ran in it.

describe("a job opened by create-and-call-stream", () => {
  it("cannot be completed or used by the team mid-stream: 409, and the stream still ends completed and charged", async () => {
    const team = await createTeam({ models: [["gpt-4o-mini+delay=150+chunks=8"]] });
    const res = await api("POST", "/api/jobs/create-and-call-stream", {
      key: team.key,
      body: { team_id: team.teamId, job_type: "streamed", model_group: team.groups[0], messages: userMessage() },
    });
    expect(res.status).toBe(200);
    const jobId = res.headers.get("x-job-id")!;
    const reader = res.body!.getReader();
    await reader.read(); // the stream is under way

    for (const status of ["cancelled", "failed", "completed"]) {
      const refused = await json("POST", `/api/jobs/${jobId}/complete`, 409, { key: team.key, body: { status } });
      expect(refused.detail).toMatch(/opened by the gateway.*only the gateway completes it/);
    }
    const extraCall = await llmCall(team, jobId);
    expect(extraCall.status).toBe(409);
    expect((await extraCall.json<any>()).detail).toMatch(/opened by the gateway/);

    let text = "";
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    const summaryBlock = text.split("\n\n").find((b) => b.startsWith("event: job_summary"))!;
    const summary = JSON.parse(summaryBlock.split("\n")[1].slice(6));
    expect(summary).toMatchObject({
      job_id: jobId,
      status: "completed",
      costs: { total_calls: 1, successful_calls: 1, credit_applied: true, credits_charged: 1 },
    });
    const job = await json("GET", `/api/jobs/${jobId}`, 200, { key: team.key });
    expect(job).toMatchObject({ status: "completed", credit_applied: true, credits_charged: 1 });
    expect(job.calls).toHaveLength(1);
    const b = await expectLedgerConsistent(team);
    expect([b.credits_used, b.credits_reserved]).toEqual([1, 0]);

    // Once the gateway has closed it, the team still cannot re-close it under another status.
    await json("POST", `/api/jobs/${jobId}/complete`, 409, { key: team.key, body: { status: "cancelled" } });
    expect((await balance(team)).credits_used).toBe(1);
  });
});

describe("a job opened by create-and-call", () => {
  it("is closed by the gateway; a team's complete afterwards is 409 and changes nothing", async () => {
    const team = await createTeam();
    const answer = await json("POST", "/api/jobs/create-and-call", 200, {
      key: team.key,
      body: { team_id: team.teamId, job_type: "one", model_group: team.groups[0], messages: userMessage() },
    });
    expect(answer).toMatchObject({ status: "completed", costs: { credit_applied: true, credits_charged: 1 } });
    const refused = await json("POST", `/api/jobs/${answer.job_id}/complete`, 409, { key: team.key, body: { status: "completed" } });
    expect(refused.detail).toMatch(/opened by the gateway/);
    const b = await expectLedgerConsistent(team);
    expect([b.credits_used, b.credits_reserved]).toEqual([1, 0]);
  });
});

describe("a team's own job that does not end completed", () => {
  it("is not charged for a call that succeeded in it; the call is still recorded in the job and in usage", async () => {
    const team = await createTeam();
    const jobId = await createJob(team, "abandoned_work");
    expect((await llmCall(team, jobId)).status).toBe(200);
    const done = await json("POST", `/api/jobs/${jobId}/complete`, 200, { key: team.key, body: { status: "cancelled" } });
    expect(done.costs).toMatchObject({ total_calls: 1, successful_calls: 1, credit_applied: false, credits_charged: 0 });
    expect(done.costs.total_tokens).toBeGreaterThan(0);

    const job = await json("GET", `/api/jobs/${jobId}`, 200, { key: team.key });
    expect(job).toMatchObject({ status: "cancelled", credit_applied: false, credits_charged: 0 });
    expect(job.calls).toMatchObject([{ status: "success" }]);
    const usage = await json("GET", `/api/teams/${team.teamId}/usage`, 200, { key: team.key });
    expect(usage.job_types.abandoned_work).toMatchObject({
      jobs: 1,
      cancelled: 1,
      calls: 1,
      credits_charged: 0,
      total_tokens: done.costs.total_tokens,
    });
    const b = await expectLedgerConsistent(team);
    expect([b.credits_used, b.credits_reserved, b.credits_remaining]).toEqual([0, 0, 100]);
  });
});
