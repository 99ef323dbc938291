import type { CallRecord } from "../types";

// The calls table: one row per recorded call, and its job's running totals with it.

/** What a call answered from the response cache saved, and the tokens it is not billed for. */
export interface HitSavings {
  savedNano: number;
  savedProviderNano: number;
  unbilledTokens: number;
}

/** Stores a call and adds it to its job's totals (a cache hit with what it saved), in the caller's transaction. */
export function insertCall(
  sql: SqlStorage,
  jobId: string,
  call: CallRecord,
  clientCostNano: number,
  createdAt: string,
  hit: HitSavings | null = null,
): void {
  const succeeded = call.status === "success";
  sql.exec(
    `INSERT INTO calls (call_id, job_id, model_group, model_used, attempts, purpose, status, prompt_tokens, completion_tokens,
       total_tokens, provider_cost_nano, client_cost_nano, cost_source, usage_estimated, latency_ms, error, upstream_error, stream,
       created_at, cached, saved_nano, saved_provider_nano, tags, end_user)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
    hit ? 1 : 0,
    hit?.savedNano ?? 0,
    hit?.savedProviderNano ?? 0,
    JSON.stringify(call.tags ?? []),
    call.endUser ?? null,
  );
  sql.exec(
    `UPDATE jobs SET total_calls = total_calls + 1, successful_calls = successful_calls + ?, failed_calls = failed_calls + ?,
       prompt_tokens = prompt_tokens + ?, completion_tokens = completion_tokens + ?, total_tokens = total_tokens + ?,
       provider_cost_nano = provider_cost_nano + ?, client_cost_nano = client_cost_nano + ?,
       latency_sum_ms = latency_sum_ms + ?, latency_count = latency_count + 1,
       cache_hits = cache_hits + ?, cache_saved_nano = cache_saved_nano + ?, unbilled_tokens = unbilled_tokens + ? WHERE job_id = ?`,
    succeeded ? 1 : 0,
    succeeded ? 0 : 1,
    call.promptTokens,
    call.completionTokens,
    call.totalTokens,
    call.providerCostNano ?? 0,
    clientCostNano,
    Math.round(call.latencyMs),
    hit ? 1 : 0,
    hit?.savedNano ?? 0,
    hit?.unbilledTokens ?? 0,
    jobId,
  );
}
