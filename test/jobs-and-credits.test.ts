import { describe, expect, it } from "vitest";
import {
  allTransactions,
  api,
  balance,
  createGroup,
  createJob,
  createTeam,
  expectLedgerConsistent,
  json,
  llmCall,
  type TestTeam,
  uid,
  userMessage,
} from "./helpers";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

function complete(team: TestTeam, jobId: string, body: Record<string, unknown>) {
  return api("POST", `/api/jobs/${jobId}/complete`, { key: team.key, body });
}

describe("job creation", () => {
  it("creates a pending job and reserves one credit", async () => {
    const team = await createTeam({ credits: 5 });
    const job = await json("POST", "/api/jobs/create", 200, {
      key: team.key,
      body: { team_id: team.teamId, job_type: "customer_support", user_id: "user-1", metadata: { priority: "high" } },
    });
    expect(job.job_id).toMatch(UUID);
    expect(job.status).toBe("pending");
    expect(job.created_at).toMatch(ISO_UTC);

    const b = await balance(team);
    expect(b).toMatchObject({ credits_allocated: 5, credits_used: 0, credits_remaining: 5, credits_reserved: 1, credits_available: 4 });
    const [reservation] = await allTransactions(team);
    expect(reservation).toMatchObject({ kind: "reservation", amount: 0, reserved_change: 1, job_id: job.job_id });
    await expectLedgerConsistent(team);
  });

  it("without team_id opens the job for the key's team", async () => {
    const team = await createTeam({ credits: 5 });
    const other = await createTeam({ credits: 5 });
    const job = await json("POST", "/api/jobs/create", 200, { key: team.key, body: { job_type: "summary" } });
    expect(job).toMatchObject({ team_id: team.teamId, job_type: "summary", status: "pending" });
    expect(await balance(team)).toMatchObject({ credits_reserved: 1, credits_available: 4 });
    expect((await balance(other)).credits_reserved).toBe(0);
    const read = await json("GET", `/api/jobs/${job.job_id}`, 200, { key: team.key });
    expect(read).toMatchObject({ job_id: job.job_id, team_id: team.teamId });
    await expectLedgerConsistent(team);
  });

  it("create-and-call without team_id runs in the key's team; another team's id is 403 and calls nothing", async () => {
    const team = await createTeam({ credits: 5 });
    const other = await createTeam({ credits: 5 });
    const body = { job_type: "one_shot", model_group: team.groups[0], messages: userMessage("hello") };
    const done = await json("POST", "/api/jobs/create-and-call", 200, { key: team.key, body });
    expect(done).toMatchObject({ status: "completed", costs: { total_calls: 1, credit_applied: true } });
    expect(await balance(team)).toMatchObject({ credits_used: 1, credits_reserved: 0 });
    const refused = await api("POST", "/api/jobs/create-and-call", { key: team.key, body: { ...body, team_id: other.teamId } });
    expect(refused.status).toBe(403);
    expect(await balance(team)).toMatchObject({ credits_used: 1, credits_reserved: 0 });
    expect(await balance(other)).toMatchObject({ credits_used: 0, credits_reserved: 0 });
    await expectLedgerConsistent(team);
  });

  it("is 403 when the body's team_id is not the key's team, and reserves nothing", async () => {
    const team = await createTeam();
    const other = await createTeam();
    const res = await api("POST", "/api/jobs/create", { key: team.key, body: { team_id: other.teamId, job_type: "x" } });
    expect(res.status).toBe(403);
    expect(typeof ((await res.json()) as any).detail).toBe("string");
    expect((await balance(team)).credits_reserved).toBe(0);
    expect((await balance(other)).credits_reserved).toBe(0);
    await expectLedgerConsistent(team);
    await expectLedgerConsistent(other);
  });

  it("is 402 when the team has no credits", async () => {
    const team = await createTeam({ credits: 0 });
    const res = await api("POST", "/api/jobs/create", { key: team.key, body: { team_id: team.teamId, job_type: "x" } });
    expect(res.status).toBe(402);
    expect(typeof ((await res.json()) as any).detail).toBe("string");
    expect(await balance(team)).toMatchObject({ credits_remaining: 0, credits_reserved: 0, credits_available: 0 });
    await expectLedgerConsistent(team);
  });

  it("is 402 once open jobs hold every credit, and admits again after a top-up", async () => {
    const team = await createTeam({ credits: 2 });
    await createJob(team);
    await createJob(team);
    expect((await api("POST", "/api/jobs/create", { key: team.key, body: { team_id: team.teamId, job_type: "x" } })).status).toBe(402);
    await json("POST", `/api/credits/teams/${team.teamId}/add`, 200, { body: { credits: 1 } });
    await createJob(team);
    expect(await balance(team)).toMatchObject({ credits_remaining: 3, credits_reserved: 3, credits_available: 0 });
    await expectLedgerConsistent(team);
  });

  it("validates its body (422)", async () => {
    const team = await createTeam();
    const res = await api("POST", "/api/jobs/create", { key: team.key, body: { team_id: team.teamId } });
    expect(res.status).toBe(422);
    const body = (await res.json()) as any;
    expect(body.detail.map((d: any) => d.loc)).toContainEqual(["body", "job_type"]);
    expect((await balance(team)).credits_reserved).toBe(0);
  });
});

describe("LLM calls", () => {
  it("a successful call answers with content, tokens, latency and the group", async () => {
    const team = await createTeam();
    const jobId = await createJob(team);
    const res = await llmCall(team, jobId, team.groups[0], { purpose: "initial_response", temperature: 0.2, max_tokens: 200 });
    const call = (await res.json()) as any;
    expect(res.status, JSON.stringify(call)).toBe(200);
    expect(call.call_id).toMatch(UUID);
    expect(typeof call.response.content).toBe("string");
    expect(call.response.content.length).toBeGreaterThan(0);
    expect(call.response.finish_reason).toBe("stop");
    expect(call.metadata.model_group).toBe(team.groups[0]);
    expect(call.metadata.prompt_tokens).toBeGreaterThan(0);
    expect(call.metadata.completion_tokens).toBeGreaterThan(0);
    expect(call.metadata.tokens_used).toBe(call.metadata.prompt_tokens + call.metadata.completion_tokens);
    expect(Number.isInteger(call.metadata.latency_ms)).toBe(true);
    expect(call.metadata.latency_ms).toBeGreaterThanOrEqual(0);
    // The answer's text is the model's own; the gateway's metadata must not name the model.
    expect(Object.keys(call).sort()).toEqual(["call_id", "metadata", "response"]);
    expect(JSON.stringify(call.metadata)).not.toContain("gpt-");
    // A call does not charge by itself in job_based mode.
    expect(await balance(team)).toMatchObject({ credits_remaining: 100, credits_reserved: 1 });
  });

  it("`model` is accepted as an alias of `model_group`", async () => {
    const team = await createTeam();
    const jobId = await createJob(team);
    const call = await json("POST", `/api/jobs/${jobId}/llm-call`, 200, {
      key: team.key,
      body: { model: team.groups[0], messages: userMessage() },
    });
    expect(call.metadata.model_group).toBe(team.groups[0]);
  });

  it("GET job lists its calls without model names or provider cost", async () => {
    const team = await createTeam({ models: [["gpt-3.5-turbo", "gpt-4o-mini"]] });
    const jobId = await createJob(team, "customer_support");
    const first = await json("POST", `/api/jobs/${jobId}/llm-call`, 200, {
      key: team.key,
      body: { model_group: team.groups[0], messages: userMessage("first"), purpose: "initial_response" },
    });
    const second = await json("POST", `/api/jobs/${jobId}/llm-call`, 200, {
      key: team.key,
      body: { model_group: team.groups[0], messages: userMessage("second"), purpose: "follow_up" },
    });

    const res = await api("GET", `/api/jobs/${jobId}`, { key: team.key });
    const text = await res.text();
    expect(res.status).toBe(200);
    const job = JSON.parse(text);
    expect(job).toMatchObject({ job_id: jobId, team_id: team.teamId, job_type: "customer_support", status: "in_progress" });
    expect(job.calls.map((c: any) => [c.call_id, c.purpose, c.model_group, c.status, c.total_tokens])).toEqual([
      [first.call_id, "initial_response", team.groups[0], "success", first.metadata.tokens_used],
      [second.call_id, "follow_up", team.groups[0], "success", second.metadata.tokens_used],
    ]);
    expect(job.costs).toMatchObject({
      total_calls: 2,
      successful_calls: 2,
      failed_calls: 0,
      total_tokens: first.metadata.tokens_used + second.metadata.tokens_used,
    });
    for (const model of ["gpt-3.5-turbo", "gpt-4o-mini", "gpt-"]) expect(text).not.toContain(model);
    expect(text).not.toMatch(/provider|model_used|attempts/i);

    // The admin reads it too, naming the team.
    const asAdmin = await json("GET", `/api/jobs/${jobId}?team_id=${team.teamId}`, 200);
    expect(asAdmin.calls).toHaveLength(2);
  });

  it("a group not assigned and a group that does not exist get the same 403", async () => {
    const team = await createTeam();
    const unassigned = await createGroup(["gpt-4o-mini"]);
    const missing = uid("group");
    const jobId = await createJob(team);
    const a = await llmCall(team, jobId, unassigned);
    const b = await llmCall(team, jobId, missing);
    expect([a.status, b.status]).toEqual([403, 403]);
    const da = ((await a.json()) as any).detail as string;
    const db = ((await b.json()) as any).detail as string;
    expect(typeof da).toBe("string");
    expect(da.replaceAll(unassigned, "<group>")).toBe(db.replaceAll(missing, "<group>"));
    const job = await json("GET", `/api/jobs/${jobId}`, 200, { key: team.key });
    expect(job.calls).toEqual([]);
  });

  it("a call on a completed job is 409 and is not forwarded", async () => {
    const team = await createTeam();
    const jobId = await createJob(team);
    await json("POST", `/api/jobs/${jobId}/complete`, 200, { key: team.key, body: { status: "completed" } });
    const res = await llmCall(team, jobId);
    expect(res.status).toBe(409);
    expect(typeof ((await res.json()) as any).detail).toBe("string");
    expect((await json("GET", `/api/jobs/${jobId}`, 200, { key: team.key })).calls).toEqual([]);
  });

  it("an unknown job is 404 on get, call and complete", async () => {
    const team = await createTeam();
    const jobId = crypto.randomUUID();
    for (const res of [
      await api("GET", `/api/jobs/${jobId}`, { key: team.key }),
      await llmCall(team, jobId),
      await complete(team, jobId, { status: "completed" }),
    ]) {
      expect(res.status).toBe(404);
      expect(typeof ((await res.json()) as any).detail).toBe("string");
    }
    expect(await balance(team)).toMatchObject({ credits_remaining: 100, credits_reserved: 0 });
    await expectLedgerConsistent(team);
  });

  it("a job id that is not a UUID is 422 with loc ['path', 'job_id']", async () => {
    const team = await createTeam();
    for (const res of [
      await api("GET", "/api/jobs/not-a-uuid", { key: team.key }),
      await llmCall(team, "not-a-uuid"),
      await complete(team, "not-a-uuid", { status: "completed" }),
    ]) {
      expect(res.status).toBe(422);
      const body = (await res.json()) as any;
      expect(body.detail.map((d: any) => d.loc)).toContainEqual(["path", "job_id"]);
    }
  });

  it("an invalid call body is 422: no messages, temperature out of range, no group", async () => {
    const team = await createTeam();
    const jobId = await createJob(team);
    const cases: Array<[Record<string, unknown>, Array<string | number>]> = [
      [{ model_group: team.groups[0], messages: [] }, ["body", "messages"]],
      [{ model_group: team.groups[0], messages: userMessage(), temperature: 3 }, ["body", "temperature"]],
      [{ messages: userMessage() }, ["body", "model_group"]],
    ];
    for (const [body, loc] of cases) {
      const res = await api("POST", `/api/jobs/${jobId}/llm-call`, { key: team.key, body });
      expect(res.status).toBe(422);
      expect(((await res.json()) as any).detail.map((d: any) => d.loc)).toContainEqual(loc);
    }
    expect((await json("GET", `/api/jobs/${jobId}`, 200, { key: team.key })).calls).toEqual([]);
  });
});

describe("job completion", () => {
  it("completed charges one credit: the reservation becomes a deduction", async () => {
    const team = await createTeam();
    const jobId = await createJob(team);
    const call = await json("POST", `/api/jobs/${jobId}/llm-call`, 200, {
      key: team.key,
      body: { model_group: team.groups[0], messages: userMessage(), purpose: "answer" },
    });
    const done = await json("POST", `/api/jobs/${jobId}/complete`, 200, {
      key: team.key,
      body: { status: "completed", error_message: null },
    });
    expect(done).toMatchObject({ job_id: jobId, status: "completed" });
    expect(done.completed_at).toMatch(ISO_UTC);
    expect(done.costs).toMatchObject({
      total_calls: 1,
      successful_calls: 1,
      failed_calls: 0,
      total_tokens: call.metadata.tokens_used,
      credit_applied: true,
      credits_remaining: 99,
    });
    expect(typeof done.costs.total_cost_usd).toBe("number");
    expect(done.costs.total_cost_usd).toBeGreaterThan(0);
    expect(typeof done.costs.avg_latency_ms).toBe("number");
    expect(done.calls).toEqual([
      {
        call_id: call.call_id,
        purpose: "answer",
        model_group: team.groups[0],
        tokens: call.metadata.tokens_used,
        latency_ms: expect.any(Number),
        error: null,
      },
    ]);

    expect(await balance(team)).toMatchObject({
      credits_allocated: 100,
      credits_used: 1,
      credits_remaining: 99,
      credits_reserved: 0,
      credits_available: 99,
    });
    const [deduction] = await allTransactions(team);
    expect(deduction).toMatchObject({
      kind: "deduction",
      amount: -1,
      reserved_change: -1,
      job_id: jobId,
      balance_before: 100,
      balance_after: 99,
    });
    const job = await json("GET", `/api/jobs/${jobId}`, 200, { key: team.key });
    expect(job).toMatchObject({ status: "completed", credit_applied: true, credits_charged: 1 });
    await expectLedgerConsistent(team);
  });

  for (const status of ["failed", "cancelled"] as const) {
    it(`${status} charges nothing and releases the reservation`, async () => {
      const team = await createTeam({ credits: 10 });
      const jobId = await createJob(team);
      expect((await llmCall(team, jobId)).status).toBe(200);
      const done = await json("POST", `/api/jobs/${jobId}/complete`, 200, {
        key: team.key,
        body: { status, error_message: status === "failed" ? "downstream system rejected the answer" : null },
      });
      expect(done.status).toBe(status);
      expect(done.costs).toMatchObject({ credit_applied: false, credits_remaining: 10, total_calls: 1 });
      expect(await balance(team)).toMatchObject({ credits_used: 0, credits_remaining: 10, credits_reserved: 0, credits_available: 10 });
      const [release] = await allTransactions(team);
      expect(release).toMatchObject({ kind: "release", amount: 0, reserved_change: -1, job_id: jobId });
      const job = await json("GET", `/api/jobs/${jobId}`, 200, { key: team.key });
      expect(job).toMatchObject({ status, credit_applied: false, credits_charged: 0 });
      expect(job.error_message).toBe(status === "failed" ? "downstream system rejected the answer" : null);
      await expectLedgerConsistent(team);
    });
  }

  it("a second complete with the same status returns the same summary and charges nothing", async () => {
    const team = await createTeam();
    const jobId = await createJob(team);
    expect((await llmCall(team, jobId)).status).toBe(200);
    const first = await json("POST", `/api/jobs/${jobId}/complete`, 200, { key: team.key, body: { status: "completed" } });
    const rowsAfterFirst = (await allTransactions(team)).length;
    const second = await json("POST", `/api/jobs/${jobId}/complete`, 200, { key: team.key, body: { status: "completed" } });
    expect(second).toEqual(first);
    expect((await allTransactions(team)).length).toBe(rowsAfterFirst);
    expect((await balance(team)).credits_remaining).toBe(99);
    await expectLedgerConsistent(team);
  });

  it("a second cancel returns the same summary; a different terminal status afterwards is 409", async () => {
    const team = await createTeam();
    const jobId = await createJob(team);
    const first = await json("POST", `/api/jobs/${jobId}/complete`, 200, { key: team.key, body: { status: "cancelled" } });
    expect(await json("POST", `/api/jobs/${jobId}/complete`, 200, { key: team.key, body: { status: "cancelled" } })).toEqual(first);
    const conflict = await complete(team, jobId, { status: "completed" });
    expect(conflict.status).toBe(409);
    expect(typeof ((await conflict.json()) as any).detail).toBe("string");
    expect(await balance(team)).toMatchObject({ credits_remaining: 100, credits_used: 0, credits_reserved: 0 });
    expect((await json("GET", `/api/jobs/${jobId}`, 200, { key: team.key })).status).toBe("cancelled");
    await expectLedgerConsistent(team);
  });

  it("a completed job cannot become failed (409) and stays charged once", async () => {
    const team = await createTeam();
    const jobId = await createJob(team);
    await json("POST", `/api/jobs/${jobId}/complete`, 200, { key: team.key, body: { status: "completed" } });
    expect((await complete(team, jobId, { status: "failed" })).status).toBe(409);
    expect((await balance(team)).credits_remaining).toBe(99);
    await expectLedgerConsistent(team);
  });

  it("an invalid status is 422 and leaves the job open", async () => {
    const team = await createTeam();
    const jobId = await createJob(team);
    for (const status of ["done", "COMPLETED", "pending"]) {
      const res = await complete(team, jobId, { status });
      expect(res.status).toBe(422);
      expect(((await res.json()) as any).detail.map((d: any) => d.loc)).toContainEqual(["body", "status"]);
    }
    expect((await json("GET", `/api/jobs/${jobId}`, 200, { key: team.key })).status).toBe("pending");
    expect((await balance(team)).credits_reserved).toBe(1);
    await expectLedgerConsistent(team);
  });
});

describe("credits", () => {
  it("the admin adds credits: an allocation row, and the balance grows", async () => {
    const team = await createTeam({ credits: 10 });
    const added = await json("POST", `/api/credits/teams/${team.teamId}/add`, 200, { body: { credits: 25, reason: "monthly top-up" } });
    expect(added).toMatchObject({ team_id: team.teamId, credits_added: 25 });
    expect(added.transaction).toMatchObject({
      kind: "allocation",
      amount: 25,
      balance_before: 10,
      balance_after: 35,
      reason: "monthly top-up",
    });
    expect(added.transaction.transaction_id).toMatch(UUID);
    expect(await balance(team)).toMatchObject({ credits_allocated: 35, credits_remaining: 35, credits_available: 35 });
    await expectLedgerConsistent(team);
  });

  it("a team cannot fund itself: its key gets 403 on add", async () => {
    const team = await createTeam({ credits: 10 });
    const res = await api("POST", `/api/credits/teams/${team.teamId}/add`, { key: team.key, body: { credits: 1000 } });
    expect(res.status).toBe(403);
    expect((await balance(team)).credits_remaining).toBe(10);
    await expectLedgerConsistent(team);
  });

  it("credits must be a positive integer (422), and the add is 404 for an unknown team", async () => {
    const team = await createTeam({ credits: 10 });
    for (const credits of [0, -3, 1.5, "5"]) {
      const res = await api("POST", `/api/credits/teams/${team.teamId}/add`, { body: { credits } });
      expect(res.status, String(credits)).toBe(422);
      const detail = ((await res.json()) as any).detail;
      expect(detail.map((d: any) => d.loc)).toContainEqual(["body", "credits"]);
    }
    expect((await balance(team)).credits_remaining).toBe(10);
    expect((await api("POST", `/api/credits/teams/${uid("nope")}/add`, { body: { credits: 5 } })).status).toBe(404);
  });

  it("the balance is consistent: remaining = allocated - used, available = remaining - reserved", async () => {
    const team = await createTeam({ credits: 10 });
    const charged = await createJob(team);
    await createJob(team);
    await createJob(team);
    await json("POST", `/api/jobs/${charged}/complete`, 200, { key: team.key, body: { status: "completed" } });
    const b = await balance(team);
    expect(b).toMatchObject({
      team_id: team.teamId,
      organization_id: team.organizationId,
      credits_allocated: 10,
      credits_used: 1,
      credits_remaining: 9,
      credits_reserved: 2,
      credits_available: 7,
      budget_mode: "job_based",
      status: "active",
    });
    expect(typeof b.credits_per_dollar).toBe("number");
    expect(typeof b.tokens_per_credit).toBe("number");
    await expectLedgerConsistent(team);
  });

  it("transactions page newest first", async () => {
    const team = await createTeam({ credits: 1 });
    for (const credits of [2, 3, 4]) await json("POST", `/api/credits/teams/${team.teamId}/add`, 200, { body: { credits } });
    const first = await json("GET", `/api/credits/teams/${team.teamId}/transactions?limit=2`, 200, { key: team.key });
    expect(first.transactions.map((t: any) => t.amount)).toEqual([4, 3]);
    expect(first.has_more).toBe(true);
    const second = await json("GET", `/api/credits/teams/${team.teamId}/transactions?limit=2&offset=2`, 200, { key: team.key });
    expect(second.transactions.map((t: any) => [t.kind, t.amount])).toEqual([
      ["allocation", 2],
      ["allocation", 1],
    ]);
    expect(second.has_more).toBe(false);
    expect(second.transactions[1].reason).toMatch(/open/i);
    for (const t of [...first.transactions, ...second.transactions]) {
      expect(t.team_id).toBe(team.teamId);
      expect(t.created_at).toMatch(ISO_UTC);
    }
    await expectLedgerConsistent(team);
  });

  it("a job's whole life is in the ledger: allocation, reservation, deduction", async () => {
    const team = await createTeam({ credits: 3 });
    const jobId = await createJob(team);
    await json("POST", `/api/jobs/${jobId}/complete`, 200, { key: team.key, body: { status: "completed" } });
    const rows = await allTransactions(team);
    expect(rows.map((r) => [r.kind, r.amount, r.reserved_change, r.job_id])).toEqual([
      ["deduction", -1, -1, jobId],
      ["reservation", 0, 1, jobId],
      ["allocation", 3, 0, null],
    ]);
    await expectLedgerConsistent(team);
  });
});

describe("team job list", () => {
  it("lists the team's jobs newest first, filtered by status and job_type", async () => {
    const team = await createTeam();
    const a = await createJob(team, "support");
    const b = await createJob(team, "analysis");
    await json("POST", `/api/jobs/${a}/complete`, 200, { key: team.key, body: { status: "completed" } });
    const all = await json("GET", `/api/teams/${team.teamId}/jobs`, 200, { key: team.key });
    expect(all.jobs.map((j: any) => j.job_id).sort()).toEqual([a, b].sort());
    const completed = await json("GET", `/api/teams/${team.teamId}/jobs?status=completed`, 200, { key: team.key });
    expect(completed.jobs.map((j: any) => j.job_id)).toEqual([a]);
    const analysis = await json("GET", `/api/teams/${team.teamId}/jobs?job_type=analysis`, 200, { key: team.key });
    expect(analysis.jobs.map((j: any) => j.job_id)).toEqual([b]);
    const badStatus = await api("GET", `/api/teams/${team.teamId}/jobs?status=done`, { key: team.key });
    expect(badStatus.status).toBe(422);
  });
});
