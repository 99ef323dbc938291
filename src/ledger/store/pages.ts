import type { CallRow, JobRow, LedgerRow } from "../rows";
import type { CallsPage, JobStatus } from "../types";
import { keyUsageRows, type LabelDimension, labelUsageRows, modelUsageRows, usageRowsBy } from "./usage-store";

// The paged reads of a team's history that its views show: the ledger, its jobs, a job's calls
// and its usage. Read-only and synchronous, like every statement of the object (storage.ts
// has the rest); each list reads one more row than asked, so a view can tell there is more.

/** The ledger's columns, and each row's grant moves as JSON (see withGrantSplits). */
export const LEDGER_SELECT = `SELECT seq, transaction_id, kind, amount, reserved_change, held_change_micro, balance_before, balance_after,
  job_id, reason, created_at,
  (SELECT json_group_array(json(split)) FROM (
     SELECT json_object('grant_id', m.grant_id, 'source', g.source, 'kind', m.kind, 'credits', m.credits) AS split
     FROM grant_moves m LEFT JOIN grants g ON g.grant_id = m.grant_id WHERE m.ledger_seq = ledger.seq ORDER BY m.seq)) AS grants
  FROM ledger`;

/** A ledger row as read with LEDGER_SELECT, its grant moves parsed. */
export function withGrantSplits<R extends { grants: string }>(row: R): Omit<R, "grants"> & { grants: LedgerRow["grants"] } {
  return { ...row, grants: JSON.parse(row.grants) };
}

export class LedgerPages {
  constructor(private readonly sql: SqlStorage) {}

  /** One more row than `limit`, newest first. */
  ledgerRows(limit: number, offset: number): Array<LedgerRow & { seq: number }> {
    return this.sql
      .exec<LedgerRow & { seq: number; grants: string }>(`${LEDGER_SELECT} ORDER BY seq DESC LIMIT ? OFFSET ?`, limit + 1, offset)
      .toArray()
      .map(withGrantSplits);
  }

  /** Like ledgerRows, the rows written before position `beforeSeq` (all with null). */
  ledgerRowsBefore(beforeSeq: number | null, limit: number): Array<LedgerRow & { seq: number }> {
    return this.sql
      .exec<LedgerRow & { seq: number; grants: string }>(
        `${LEDGER_SELECT} WHERE ?1 IS NULL OR seq < ?1 ORDER BY seq DESC LIMIT ?2`,
        beforeSeq,
        limit + 1,
      )
      .toArray()
      .map(withGrantSplits);
  }

  /** One more row than `limit`, newest first. */
  jobRows(filter: { status?: JobStatus; jobType?: string; limit: number; offset: number }): JobRow[] {
    return this.sql
      .exec<JobRow>(
        `SELECT * FROM jobs WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR job_type = ?2)
         ORDER BY created_at DESC, job_id LIMIT ?3 OFFSET ?4`,
        filter.status ?? null,
        filter.jobType ?? null,
        filter.limit + 1,
        filter.offset,
      )
      .toArray();
  }

  /** One more row than `page.limit`, in recording order; with `throughSeq`, only calls recorded up to it. */
  callRows(jobId: string, page: CallsPage & { throughSeq?: number }): CallRow[] {
    return this.sql
      .exec<CallRow>(
        `SELECT call_id, model_group, purpose, status, prompt_tokens, completion_tokens, total_tokens, client_cost_nano,
           usage_estimated, latency_ms, error, upstream_error, stream, created_at, tags, end_user, model_used, attempts, provider_cost_nano,
           cached
         FROM calls
         WHERE job_id = ?1 AND (?2 IS NULL OR seq <= ?2) ORDER BY seq LIMIT ?3 OFFSET ?4`,
        jobId,
        page.throughSeq ?? null,
        page.limit + 1,
        page.offset,
      )
      .toArray();
  }

  /**
   * A period's (YYYY-MM or YYYY-MM-DD) usage per job type, per day, and per model group and model,
   * and with `groupBy` per tag or per end user (usage-store.ts).
   */
  usageRows(period: string, groupBy?: LabelDimension) {
    return {
      jobTypes: usageRowsBy(this.sql, period, "job_type"),
      days: usageRowsBy(this.sql, period, "day"),
      models: modelUsageRows(this.sql, period),
      ...(groupBy ? { labels: { dimension: groupBy, rows: labelUsageRows(this.sql, groupBy, period) } } : {}),
    };
  }

  /** A period's usage per key (usage-store.ts). */
  keyUsageRows(period: string) {
    return keyUsageRows(this.sql, period);
  }
}
