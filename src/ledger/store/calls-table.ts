import type { CallRecord } from "../types";

// The calls table: one row per recorded call, and its job's running totals with it.

/** Stores a call and adds it to its job's totals, in the caller's transaction. */
export function insertCall(sql: SqlStorage, jobId: string, call: CallRecord, clientCostNano: number, createdAt: string): void {
  const succeeded = call.status === "success";
  sql.exec(
    `INSERT INTO calls (call_id, job_id, model_group, model_used, attempts, purpose, status, prompt_tokens, completion_tokens,
       total_tokens, provider_cost_nano, client_cost_nano, cost_source, usage_estimated, latency_ms, error, upstream_error, stream,
       created_at, tags, end_user)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    call.callId,
    jobId,
    call.modelGroup,
    call.modelUsed,
    JSON.stringify(call.attempts),
    call.purpose,
    call.status,
    call.promptTokens,
    call.completionTokens,
    call.totalTokens,
    call.providerCostNano,
    clientCostNano,
    call.costSource,
    call.usageEstimated ? 1 : 0,
    Math.round(call.latencyMs),
    call.error,
    call.upstreamError ?? null,
    call.stream ? 1 : 0,
    createdAt,
    JSON.stringify(call.tags ?? []),
    call.endUser ?? null,
  );
  sql.exec(
    `UPDATE jobs SET total_calls = total_calls + 1, successful_calls = successful_calls + ?, failed_calls = failed_calls + ?,
       prompt_tokens = prompt_tokens + ?, completion_tokens = completion_tokens + ?, total_tokens = total_tokens + ?,
       provider_cost_nano = provider_cost_nano + ?, client_cost_nano = client_cost_nano + ?,
       latency_sum_ms = latency_sum_ms + ?, latency_count = latency_count + 1 WHERE job_id = ?`,
    succeeded ? 1 : 0,
    succeeded ? 0 : 1,
    call.promptTokens,
    call.completionTokens,
    call.totalTokens,
    call.providerCostNano ?? 0,
    clientCostNano,
    Math.round(call.latencyMs),
    jobId,
  );
}
