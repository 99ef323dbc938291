import type { DailyGroupUsage } from "../../db/usage-records";
import type { ModelUsageRow, UsageRow } from "../rows";

// The SQL of a team's usage aggregates (storage migration 10): per day and job type, per day,
// model group and model, and which days D1 has not yet been sent. Bumped in the same
// transaction as the money change they describe; read by the usage report and the flush.

/** Which days a period covers: `YYYY-MM` is a month, `YYYY-MM-DD` one day (both UTC). */
function daysLike(period: string): string {
  return period.length === 7 ? `${period}-%` : period;
}

/**
 * Adds to a day's aggregates of a job type and of the job's key (the day the job was created),
 * and marks the day for the flush (only the job types' totals go to D1).
 */
export function bumpDailyUsage(
  sql: SqlStorage,
  job: { created_at: string; job_type: string; key_id: string | null },
  delta: Partial<Record<keyof UsageRow, number>>,
  nowMs = Date.now(),
): void {
  const day = job.created_at.slice(0, 10);
  const columns = Object.keys(delta) as Array<keyof UsageRow>;
  const bump = (table: string, dimension: string, name: string) =>
    sql.exec(
      `INSERT INTO ${table} (day, ${dimension}, ${columns.join(", ")}) VALUES (?, ?, ${columns.map(() => "?").join(", ")})
       ON CONFLICT (day, ${dimension}) DO UPDATE SET ${columns.map((c) => `${c} = ${c} + excluded.${c}`).join(", ")}`,
      day,
      name,
      ...columns.map((c) => delta[c]),
    );
  bump("usage_daily", "job_type", job.job_type);
  if (job.key_id !== null) bump("usage_keys_daily", "key_id", job.key_id);
  sql.exec(
    `INSERT INTO usage_dirty (day, version, since_ms) VALUES (?, 1, ?)
     ON CONFLICT (day) DO UPDATE SET version = version + 1`,
    day,
    nowMs,
  );
}

/** Adds a call to the day's aggregates of its group and of the model that served it ('' when none did). */
export function bumpModelUsage(
  sql: SqlStorage,
  createdAt: string,
  modelGroup: string,
  model: string | null,
  delta: Omit<ModelUsageRow, "calls">,
): void {
  sql.exec(
    `INSERT INTO usage_models_daily (day, model_group, model, calls, prompt_tokens, completion_tokens, total_tokens, client_cost_nano,
       provider_cost_nano, cache_hits, cache_saved_nano, cache_saved_provider_nano) VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (day, model_group, model) DO UPDATE SET calls = calls + 1, prompt_tokens = prompt_tokens + excluded.prompt_tokens,
       completion_tokens = completion_tokens + excluded.completion_tokens, total_tokens = total_tokens + excluded.total_tokens,
       client_cost_nano = client_cost_nano + excluded.client_cost_nano, provider_cost_nano = provider_cost_nano + excluded.provider_cost_nano,
       cache_hits = cache_hits + excluded.cache_hits, cache_saved_nano = cache_saved_nano + excluded.cache_saved_nano,
       cache_saved_provider_nano = cache_saved_provider_nano + excluded.cache_saved_provider_nano`,
    createdAt.slice(0, 10),
    modelGroup,
    model ?? "",
    delta.prompt_tokens,
    delta.completion_tokens,
    delta.total_tokens,
    delta.client_cost_nano,
    delta.provider_cost_nano,
    delta.cache_hits,
    delta.cache_saved_nano,
    delta.cache_saved_provider_nano,
  );
}

/** The usage aggregates by one of a call's labels: per day and tag, per day and end user. */
export const LABEL_USAGE = {
  tag: { table: "usage_tags_daily", column: "tag" },
  end_user: { table: "usage_end_users_daily", column: "end_user" },
} as const;
export type LabelDimension = keyof typeof LABEL_USAGE;

/** Adds a call to the day's aggregates of one of its labels ('' for a call without a tag or an end user). */
export function bumpLabelUsage(
  sql: SqlStorage,
  dimension: LabelDimension,
  createdAt: string,
  label: string,
  delta: Omit<ModelUsageRow, "calls">,
): void {
  const { table, column } = LABEL_USAGE[dimension];
  sql.exec(
    `INSERT INTO ${table} (day, ${column}, calls, prompt_tokens, completion_tokens, total_tokens, client_cost_nano, provider_cost_nano,
       cache_hits, cache_saved_nano, cache_saved_provider_nano)
     VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (day, ${column}) DO UPDATE SET calls = calls + 1, prompt_tokens = prompt_tokens + excluded.prompt_tokens,
       completion_tokens = completion_tokens + excluded.completion_tokens, total_tokens = total_tokens + excluded.total_tokens,
       client_cost_nano = client_cost_nano + excluded.client_cost_nano, provider_cost_nano = provider_cost_nano + excluded.provider_cost_nano,
       cache_hits = cache_hits + excluded.cache_hits, cache_saved_nano = cache_saved_nano + excluded.cache_saved_nano,
       cache_saved_provider_nano = cache_saved_provider_nano + excluded.cache_saved_provider_nano`,
    createdAt.slice(0, 10),
    label,
    delta.prompt_tokens,
    delta.completion_tokens,
    delta.total_tokens,
    delta.client_cost_nano,
    delta.provider_cost_nano,
    delta.cache_hits,
    delta.cache_saved_nano,
    delta.cache_saved_provider_nano,
  );
}

/** A period's usage per tag or per end user ('' for calls without one). */
export function labelUsageRows(sql: SqlStorage, dimension: LabelDimension, period: string): Array<ModelUsageRow & { label: string }> {
  const { table, column } = LABEL_USAGE[dimension];
  return sql
    .exec<ModelUsageRow & { label: string }>(
      `SELECT ${column} AS label, SUM(calls) AS calls, SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens,
         SUM(total_tokens) AS total_tokens, SUM(client_cost_nano) AS client_cost_nano, SUM(provider_cost_nano) AS provider_cost_nano,
         SUM(cache_hits) AS cache_hits, SUM(cache_saved_nano) AS cache_saved_nano, SUM(cache_saved_provider_nano) AS cache_saved_provider_nano
       FROM ${table} WHERE day LIKE ? GROUP BY ${column} ORDER BY ${column}`,
      daysLike(period),
    )
    .toArray();
}

const USAGE_SUMS = `SUM(jobs) AS jobs, SUM(completed) AS completed, SUM(failed) AS failed, SUM(cancelled) AS cancelled,
  SUM(expired) AS expired, SUM(calls) AS calls, SUM(credits_charged) AS credits_charged, SUM(prompt_tokens) AS prompt_tokens,
  SUM(completion_tokens) AS completion_tokens, SUM(total_tokens) AS total_tokens, SUM(client_cost_nano) AS client_cost_nano,
  SUM(provider_cost_nano) AS provider_cost_nano, SUM(cache_hits) AS cache_hits, SUM(cache_saved_nano) AS cache_saved_nano,
  SUM(cache_saved_provider_nano) AS cache_saved_provider_nano`;

/** A period's usage per job type, or per day (of the jobs' creation, UTC), in that order. */
export function usageRowsBy<K extends "job_type" | "day">(sql: SqlStorage, period: string, key: K): Array<UsageRow & Record<K, string>> {
  return sql
    .exec<UsageRow & Record<K, string>>(
      `SELECT ${key}, ${USAGE_SUMS} FROM usage_daily WHERE day LIKE ? GROUP BY ${key} ORDER BY ${key}`,
      daysLike(period),
    )
    .toArray();
}

/** A period's usage per model group and model. */
export function modelUsageRows(sql: SqlStorage, period: string): Array<ModelUsageRow & { model_group: string; model: string }> {
  return sql
    .exec<ModelUsageRow & { model_group: string; model: string }>(
      `SELECT model_group, model, SUM(calls) AS calls, SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens,
         SUM(total_tokens) AS total_tokens, SUM(client_cost_nano) AS client_cost_nano, SUM(provider_cost_nano) AS provider_cost_nano,
         SUM(cache_hits) AS cache_hits, SUM(cache_saved_nano) AS cache_saved_nano, SUM(cache_saved_provider_nano) AS cache_saved_provider_nano
       FROM usage_models_daily WHERE day LIKE ? GROUP BY model_group, model ORDER BY model_group, model`,
      daysLike(period),
    )
    .toArray();
}

/** A period's usage per key (jobs opened before keys had ids are in no key's). */
export function keyUsageRows(sql: SqlStorage, period: string): Array<UsageRow & { key_id: string }> {
  return sql
    .exec<UsageRow & { key_id: string }>(
      `SELECT key_id, ${USAGE_SUMS} FROM usage_keys_daily WHERE day LIKE ? GROUP BY key_id ORDER BY key_id`,
      daysLike(period),
    )
    .toArray();
}

/** Days whose totals D1 has not been sent yet (the longest waiting first), with the version each was read at. */
export function dirtyDays(sql: SqlStorage, limit: number): Array<{ day: string; version: number }> {
  return sql.exec<{ day: string; version: number }>("SELECT day, version FROM usage_dirty ORDER BY since_ms, day LIMIT ?", limit).toArray();
}

/** When the oldest unsent change was made, or null when D1 has everything. */
export function oldestDirtyMs(sql: SqlStorage): number | null {
  return sql.exec<{ since: number | null }>("SELECT MIN(since_ms) AS since FROM usage_dirty").one().since;
}

/** The absolute totals of these days, per job type. */
export function dailyRowsOf(sql: SqlStorage, days: string[]): Array<UsageRow & { day: string; job_type: string }> {
  if (days.length === 0) return [];
  return sql
    .exec<UsageRow & { day: string; job_type: string }>(
      `SELECT * FROM usage_daily WHERE day IN (${days.map(() => "?").join(", ")}) ORDER BY day, job_type`,
      ...days,
    )
    .toArray();
}

/** The absolute totals of these days, per model group: the group's calls and cache hits. */
export function dailyGroupRowsOf(sql: SqlStorage, days: string[]): DailyGroupUsage[] {
  if (days.length === 0) return [];
  return sql
    .exec<DailyGroupUsage>(
      `SELECT day, model_group, SUM(calls) AS calls, SUM(cache_hits) AS cache_hits, SUM(cache_saved_nano) AS cache_saved_nano
       FROM usage_models_daily WHERE day IN (${days.map(() => "?").join(", ")}) GROUP BY day, model_group ORDER BY day, model_group`,
      ...days,
    )
    .toArray();
}

/** The day was sent as of `version`; a change made since keeps it dirty. */
export function clearDirty(sql: SqlStorage, day: string, version: number): void {
  sql.exec("DELETE FROM usage_dirty WHERE day = ? AND version = ?", day, version);
}
