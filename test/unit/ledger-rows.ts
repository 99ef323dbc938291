import type { AccountRow, CallRow, JobRow } from "../../src/ledger/rows";

// Ledger rows as storage.ts reads them, for the pure admission and view tests.

export function accountRow(overrides: Partial<AccountRow> = {}): AccountRow {
  return {
    team_id: "team-a",
    organization_id: "org-a",
    status: "active",
    budget_mode: "job_based",
    credits_per_dollar: 10,
    tokens_per_credit: 10_000,
    cost_markup_percentage: 0,
    job_ttl_seconds: 3600,
    rate_limit_per_minute: null,
    credits_allocated: 10,
    credits_used: 0,
    credits_reserved: 0,
    open_jobs_hold_micro: 0,
    created_at: "2026-01-01T00:00:00.000Z",
    overdraft: "none",
    unpriced_calls: "refuse",
    tpm_limit: null,
    call_holds_micro: 0,
    grant_notice_seconds: 259_200,
    unfinished_jobs: null,
    ...overrides,
  };
}

export function jobRow(overrides: Partial<JobRow> = {}): JobRow {
  return {
    job_id: "job-1",
    job_type: "summarize",
    user_id: null,
    status: "pending",
    metadata: "{}",
    error_message: null,
    created_at: "2026-01-01T00:00:00.000Z",
    started_at: null,
    completed_at: null,
    expires_at: "2026-01-01T01:00:00.000Z",
    expires_at_ms: 0,
    reserved: 1,
    hold_micro: 1_000_000,
    credit_applied: 0,
    credits_charged: 0,
    refunded: 0,
    model_groups_used: "[]",
    total_calls: 0,
    successful_calls: 0,
    failed_calls: 0,
    prompt_tokens: 0,
    completion_tokens: 0,
    total_tokens: 0,
    provider_cost_nano: 0,
    client_cost_nano: 0,
    latency_sum_ms: 0,
    latency_count: 0,
    summary: null,
    owner: "team",
    calls_hold_micro: 0,
    tags: "[]",
    key_id: null,
    end_user: null,
    ...overrides,
  };
}

export function callRow(overrides: Partial<CallRow> = {}): CallRow {
  return {
    call_id: "call-1",
    model_group: "fast",
    purpose: null,
    status: "success",
    prompt_tokens: 10,
    completion_tokens: 5,
    total_tokens: 15,
    client_cost_nano: 1_500_000,
    usage_estimated: 0,
    latency_ms: 120,
    error: null,
    upstream_error: null,
    attempts: '[{"model":"gpt-4o-mini","outcome":"ok","status":200,"latency_ms":118}]',
    stream: 0,
    tags: "[]",
    end_user: null,
    created_at: "2026-01-01T00:00:01.000Z",
    model_used: "gpt-4o-mini",
    provider_cost_nano: 1_000_000,
    ...overrides,
  };
}
