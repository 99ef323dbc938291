import { describe, expect, it } from "vitest";
import {
  completionOf,
  headroomMicro,
  MAX_CALLS_PER_JOB,
  rateLimited,
  refuseCall,
  refuseInactive,
  refuseNewJob,
  refuseOtherEndUser,
  refuseRefund,
  refuseSuspended,
} from "../../src/ledger/rules/admission";
import { accountRow, jobRow } from "./ledger-rows";

describe("who may use the team's ledger", () => {
  it("a suspended team's key is refused; the admin still reads", () => {
    const suspended = accountRow({ status: "suspended" });
    expect(refuseSuspended(suspended, "team")).toMatchObject({ ok: false, code: "TEAM_SUSPENDED" });
    expect(refuseSuspended(suspended, "admin")).toBeNull();
  });

  it("a paused team opens no job and makes no call; an active one may", () => {
    expect(refuseInactive(accountRow({ status: "paused" }))).toMatchObject({ code: "TEAM_PAUSED" });
    expect(refuseInactive(accountRow({ status: "suspended" }))).toMatchObject({ code: "TEAM_SUSPENDED" });
    expect(refuseInactive(accountRow())).toBeNull();
  });

  it("a rate refusal says when to retry", () => {
    expect(rateLimited(30, 2)).toEqual({
      ok: false,
      code: "RATE_LIMITED",
      detail: "Rate limit of 30 new jobs and calls per minute reached; retry in 2 s",
      retryAfterSeconds: 2,
    });
  });
});

describe("opening a job", () => {
  it("headroom is what is left beyond what open jobs hold, in micro-credits", () => {
    expect(headroomMicro(accountRow({ credits_allocated: 5, credits_used: 2, open_jobs_hold_micro: 1_500_000 }))).toBe(1_500_000);
  });

  it("needs one credit of headroom for its reservation", () => {
    expect(refuseNewJob(accountRow({ credits_allocated: 1 }), null, "j")).toBeNull();
    expect(refuseNewJob(accountRow({ credits_allocated: 1, open_jobs_hold_micro: 1_000_000 }), null, "j")).toEqual({
      ok: false,
      code: "INSUFFICIENT_CREDITS",
      detail: "Insufficient credits: 0 available, 1 required to open a job",
    });
  });

  it("an id already used is refused", () => {
    expect(refuseNewJob(accountRow(), jobRow({ job_id: "j" }), "j")).toMatchObject({ code: "JOB_EXISTS" });
  });
});

describe("admitting a call", () => {
  it("needs the job, open", () => {
    expect(refuseCall(accountRow(), null, "missing")).toMatchObject({ code: "JOB_NOT_FOUND", detail: "Job 'missing' not found" });
    expect(refuseCall(accountRow(), jobRow({ status: "completed" }), "job-1")).toMatchObject({ code: "JOB_FINISHED" });
    expect(refuseCall(accountRow(), jobRow({ status: "in_progress" }), "job-1")).toBeNull();
  });

  it("job_based: a job may call whatever the team's headroom, its price is fixed", () => {
    const broke = accountRow({ credits_allocated: 1, open_jobs_hold_micro: 1_000_000 });
    expect(refuseCall(broke, jobRow({ total_tokens: 1_000_000 }), "job-1")).toBeNull();
  });

  it("consumption: a job past its reservation goes on only while the team has headroom", () => {
    const acct = { budget_mode: "consumption_tokens" as const, tokens_per_credit: 1000, credits_allocated: 1 };
    // The job consumed 2 credits' worth and holds them; nothing is left.
    const overrun = jobRow({ total_tokens: 2000, hold_micro: 2_000_000 });
    expect(refuseCall(accountRow({ ...acct, open_jobs_hold_micro: 2_000_000 }), overrun, "job-1")).toMatchObject({
      code: "INSUFFICIENT_CREDITS",
    });
    // Within its own reservation it may go on even with no headroom.
    const within = jobRow({ total_tokens: 500 });
    expect(refuseCall(accountRow({ ...acct, open_jobs_hold_micro: 1_000_000 }), within, "job-1")).toBeNull();
  });
});

describe("calls per job", () => {
  it("a job takes calls up to MAX_CALLS_PER_JOB and refuses the next with JOB_CALL_LIMIT", () => {
    const acct = accountRow();
    expect(refuseCall(acct, jobRow({ total_calls: MAX_CALLS_PER_JOB - 1 }), "job-1")).toBeNull();
    expect(refuseCall(acct, jobRow({ total_calls: MAX_CALLS_PER_JOB }), "job-1")).toMatchObject({ code: "JOB_CALL_LIMIT" });
  });
});

describe("completing a job", () => {
  it("an open job can end", () => {
    expect(completionOf(jobRow({ status: "in_progress" }), "completed")).toEqual({ open: true });
  });

  it("a completed job replays its summary for the same status and refuses another", () => {
    const summary = { job_id: "job-1", status: "completed" };
    const done = jobRow({ status: "completed", summary: JSON.stringify(summary) });
    expect(completionOf(done, "completed")).toEqual({ open: false, replay: summary });
    expect(completionOf(done, "failed")).toMatchObject({
      open: false,
      refusal: { code: "JOB_STATUS_CONFLICT", detail: "Job 'job-1' is already completed; it cannot become failed" },
    });
  });

  it("an expired job cannot be completed", () => {
    expect(completionOf(jobRow({ status: "expired" }), "completed")).toMatchObject({ refusal: { code: "JOB_STATUS_CONFLICT" } });
  });
});

describe("refunding a job", () => {
  it("only a charged, completed job, and only once", () => {
    expect(refuseRefund(jobRow({ status: "completed", credits_charged: 2 }))).toBeNull();
    expect(refuseRefund(jobRow({ status: "completed", credits_charged: 2, refunded: 1 }))).toMatchObject({ code: "ALREADY_REFUNDED" });
    expect(refuseRefund(jobRow({ status: "failed" }))).toMatchObject({ code: "JOB_NOT_CHARGED" });
  });
});

describe("a job's end user", () => {
  it("its calls may name it or none; naming another is refused, for a job of no end user too", () => {
    const job = jobRow({ job_id: "j1", end_user: "ann" });
    expect(refuseOtherEndUser(job, null)).toBeNull();
    expect(refuseOtherEndUser(job, undefined)).toBeNull();
    expect(refuseOtherEndUser(job, "ann")).toBeNull();
    const other = refuseOtherEndUser(job, "ben");
    expect(other).toMatchObject({ ok: false, code: "END_USER_MISMATCH" });
    expect(other?.detail).toContain("Job 'j1' is for end user 'ann'");
    expect(other?.detail).toContain("'ben'");
    expect(refuseOtherEndUser(jobRow({ end_user: null }), "ben")?.detail).toContain("is for no end user");
    expect(refuseOtherEndUser(jobRow({ end_user: null }), null)).toBeNull();
  });
});
