import { describe, expect, it } from "vitest";
import {
  balanceOf,
  completionAnswerOf,
  completionSummaryOf,
  jobListingOf,
  jobViewOf,
  pageOf,
  usageReportOf,
} from "../../src/ledger/rules/views";
import { COMPLETION_CALLS_SHOWN } from "../../src/schemas/jobs";
import { accountRow, callRow, jobRow } from "./ledger-rows";

const usage = (jobType: string, n: number) => ({
  job_type: jobType,
  jobs: n,
  completed: n,
  failed: 0,
  cancelled: 0,
  expired: 0,
  calls: 2 * n,
  credits_charged: n,
  prompt_tokens: 10 * n,
  completion_tokens: 5 * n,
  total_tokens: 15 * n,
  client_cost_nano: 500_000_000 * n,
  provider_cost_nano: 400_000_000 * n,
  cache_hits: 0,
  cache_saved_nano: 0,
  cache_saved_provider_nano: 0,
});

const modelUsage = (modelGroup: string, model: string, n: number) => ({
  model_group: modelGroup,
  model,
  calls: n,
  prompt_tokens: 10 * n,
  completion_tokens: 5 * n,
  total_tokens: 15 * n,
  client_cost_nano: 500_000_000 * n,
  provider_cost_nano: 400_000_000 * n,
  cache_hits: 0,
  cache_saved_nano: 0,
  cache_saved_provider_nano: 0,
});

describe("ledger views", () => {
  it("a balance: remaining is allocated minus used; available also leaves out what open jobs hold", () => {
    // Two open jobs hold their 1-credit reservations.
    const acct = accountRow({ credits_allocated: 10, credits_used: 3, credits_reserved: 2, open_jobs_hold_micro: 2_000_000 });
    expect(balanceOf(acct, "team")).toMatchObject({ credits_remaining: 7, credits_available: 5, credits_reserved: 2, team_id: "team-a" });
  });

  it("credits_available is net of what calls in flight hold beyond their jobs' reservations, rounded down; credits_held beside it", () => {
    // One open job: its reservation (1) is below what its call in flight holds (2.5), so it holds 2.5.
    const acct = accountRow({
      credits_allocated: 10,
      credits_reserved: 1,
      open_jobs_hold_micro: 2_500_000,
      call_holds_micro: 2_500_000,
    });
    expect(balanceOf(acct, "team")).toMatchObject({ credits_remaining: 10, credits_reserved: 1, credits_held: 3, credits_available: 7 });
  });

  it("a team's unfinished_jobs is its own, or its budget mode's default", () => {
    expect(balanceOf(accountRow({ budget_mode: "job_based" }), "team").unfinished_jobs).toBe("free");
    expect(balanceOf(accountRow({ budget_mode: "consumption_usd" }), "team").unfinished_jobs).toBe("charged");
    expect(balanceOf(accountRow({ budget_mode: "consumption_tokens", unfinished_jobs: "free" }), "team").unfinished_jobs).toBe("free");
    expect(balanceOf(accountRow({ budget_mode: "job_based", unfinished_jobs: "charged" }), "team").unfinished_jobs).toBe("charged");
  });

  it("the markup is the admin's to see, never the team's", () => {
    const acct = accountRow({ cost_markup_percentage: 35 });
    expect(balanceOf(acct, "team")).not.toHaveProperty("cost_markup_percentage");
    expect(balanceOf(acct, "admin").cost_markup_percentage).toBe(35);
  });

  it("a call's upstream error text is in the admin's job view only; the team sees the gateway's words", () => {
    const calls = [callRow({ status: "failed", error: "The model failed mid-stream", upstream_error: "litellm.APIConnectionError: x" })];
    const asTeam = jobViewOf("team-a", jobRow(), calls, "team").calls[0];
    expect(asTeam.error).toBe("The model failed mid-stream");
    expect(asTeam).not.toHaveProperty("upstream_error");
    expect(jobViewOf("team-a", jobRow(), calls, "admin").calls[0].upstream_error).toBe("litellm.APIConnectionError: x");
  });

  it("a call's model and attempts (provider identity) are in the admin's job view only", () => {
    const attempts = [
      { model: "gpt-4o", outcome: "http_error", status: 500, latency_ms: 40, error: "boom" },
      { model: "gpt-4o-mini", outcome: "ok", status: 200, latency_ms: 90 },
    ];
    const calls = [callRow({ model_used: "gpt-4o-mini", attempts: JSON.stringify(attempts) })];
    const asTeam = jobViewOf("team-a", jobRow(), calls, "team").calls[0];
    expect(asTeam).not.toHaveProperty("attempts");
    expect(asTeam).not.toHaveProperty("model_used");
    const asAdmin = jobViewOf("team-a", jobRow(), calls, "admin").calls[0];
    expect(asAdmin.model_used).toBe("gpt-4o-mini");
    expect(asAdmin.attempts).toEqual(attempts);
  });

  it("a job view: costs in USD, the average latency rounded, flags as booleans", () => {
    const job = jobRow({
      client_cost_nano: 2_500_000,
      latency_sum_ms: 301,
      latency_count: 2,
      credit_applied: 1,
      model_groups_used: '["fast"]',
    });
    const view = jobViewOf("team-a", job, [callRow({ stream: 1 })], "team");
    expect(view.costs).toEqual({
      total_calls: 0,
      successful_calls: 0,
      failed_calls: 0,
      total_tokens: 0,
      total_cost_usd: 0.0025,
      avg_latency_ms: 151,
      cache_hits: 0,
      cache_saved_usd: 0,
    });
    expect(view).toMatchObject({ credit_applied: true, model_groups_used: ["fast"], team_id: "team-a" });
    expect(view.calls[0]).toMatchObject({ stream: true, usage_estimated: false, cost_usd: 0.0015 });
    expect(jobListingOf("team-a", job)).not.toHaveProperty("calls");
  });

  it("a completion summary keeps what was charged but not the calls; its answer lists the first calls and says whether more follow", () => {
    const stored = completionSummaryOf(jobRow(), {
      status: "completed",
      completedAt: "2026-01-01T00:10:00.000Z",
      charge: 1,
      creditsRemaining: 9,
      callsThroughSeq: 7,
    });
    expect(stored).not.toHaveProperty("calls");
    expect(stored).toMatchObject({ calls_through_seq: 7, costs: { credit_applied: true, credits_charged: 1, credits_remaining: 9 } });
    const answer = completionAnswerOf(stored, [callRow()]);
    expect(answer).not.toHaveProperty("calls_through_seq");
    expect(answer.calls).toEqual([{ call_id: "call-1", purpose: null, model_group: "fast", tokens: 15, latency_ms: 120, error: null }]);
    expect(answer.calls_has_more).toBe(false);
    const many = completionAnswerOf(
      stored,
      Array.from({ length: COMPLETION_CALLS_SHOWN + 1 }, (_, i) => callRow({ call_id: `c${i}` })),
    );
    expect(many.calls).toHaveLength(COMPLETION_CALLS_SHOWN);
    expect(many.calls_has_more).toBe(true);
  });

  it("a summary kept whole by an older version is answered with its first calls", () => {
    const { calls_through_seq: _seq, ...older } = completionSummaryOf(jobRow(), {
      status: "completed",
      completedAt: "2026-01-01T00:10:00.000Z",
      charge: 1,
      creditsRemaining: 9,
      callsThroughSeq: 0,
    });
    const calls = Array.from({ length: 150 }, (_, i) => ({
      call_id: `c${i}`,
      purpose: null,
      model_group: "fast",
      tokens: 1,
      latency_ms: 1,
      error: null,
    }));
    const answer = completionAnswerOf({ ...older, calls }, []);
    expect(answer.calls).toEqual(calls.slice(0, COMPLETION_CALLS_SHOWN));
    expect(answer.calls_has_more).toBe(true);
  });

  it("a page holds at most `limit` rows and says whether more follow", () => {
    expect(pageOf([1, 2, 3], 2, 0)).toEqual({ items: [1, 2], limit: 2, offset: 0, has_more: true });
    expect(pageOf([1, 2], 2, 4)).toEqual({ items: [1, 2], limit: 2, offset: 4, has_more: false });
  });

  it("a usage report sums the job types of the month", () => {
    const byDay = (day: string, n: number) => {
      const { job_type: _type, ...row } = usage("any", n);
      return { day, ...row };
    };
    const rows = { jobTypes: [usage("a", 1), usage("b", 2)], days: [byDay("2026-01-02", 1), byDay("2026-01-05", 2)], models: [] };
    const report = usageReportOf("team-a", "2026-01", rows, "team");
    expect(report.summary).toMatchObject({ jobs: 3, calls: 6, total_tokens: 45, client_cost_usd: 1.5 });
    expect(Object.keys(report.job_types)).toEqual(["a", "b"]);
    expect(report.job_types.b.client_cost_usd).toBe(1);
    expect(Object.keys(report.days)).toEqual(["2026-01-02", "2026-01-05"]);
    expect(report.days["2026-01-05"]).toEqual(report.job_types.b);
    expect(report.summary.provider_cost_usd).toBeUndefined();
    expect(usageReportOf("team-a", "2026-01", rows, "admin").summary.provider_cost_usd).toBeCloseTo(1.2, 9);
  });

  it("groups calls by model group for everyone, and by serving model for the admin key only", () => {
    const models = [modelUsage("fast", "gpt-4o-mini", 1), modelUsage("fast", "", 2), modelUsage("smart", "gpt-4o-mini", 3)];
    const asTeam = usageReportOf("team-a", "2026-01-05", { jobTypes: [], days: [], models }, "team");
    expect(asTeam.model_groups).toEqual({
      fast: {
        calls: 3,
        prompt_tokens: 30,
        completion_tokens: 15,
        total_tokens: 45,
        client_cost_usd: 1.5,
        cache_hits: 0,
        cache_saved_usd: 0,
      },
      smart: {
        calls: 3,
        prompt_tokens: 30,
        completion_tokens: 15,
        total_tokens: 45,
        client_cost_usd: 1.5,
        cache_hits: 0,
        cache_saved_usd: 0,
      },
    });
    expect(asTeam.models).toBeUndefined();
    const asAdmin = usageReportOf("team-a", "2026-01-05", { jobTypes: [], days: [], models }, "admin");
    expect(Object.keys(asAdmin.models!)).toEqual(["gpt-4o-mini", "(none)"]);
    expect(asAdmin.models!["gpt-4o-mini"]).toMatchObject({ calls: 4, provider_cost_usd: 1.6 });
    expect(asAdmin.model_groups.fast.provider_cost_usd).toBeCloseTo(1.2, 9);
  });
});
