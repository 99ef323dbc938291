import type { WebhookChange, WebhookEndpoint, WebhookEventType, WebhookScope } from "../../webhooks/events";
import type { AccountRow, JobRow, OutboxRow } from "../rows";
import { nanoToUsd } from "../rules/money";
import { balanceOf } from "../rules/views";
import type { CompletionStatus } from "../types";
import type { SettledHold } from "./unrecorded";

// A team's webhooks, inside its object: the endpoints, and the outbox their events wait in.
// Events are born here synchronously, in the transaction of the change they tell of (a charge,
// a top-up, a job's end), so a crossing below a threshold is seen exactly once however many
// calls race: each endpoint remembers whether the balance is below its threshold / exhausted,
// fires on the way down and is re-armed on the way back up. Delivery is webhook-delivery.ts.

type EndpointRow = {
  scope: WebhookScope;
  url: string;
  events: string;
  low_balance_threshold: number | null;
  secret: string;
  below_low: number;
  exhausted: number;
};

export interface AttemptOutcome {
  atMs: number;
  status: number | null;
  error: string | null;
  durationMs: number;
}

/** How long delivered and given-up events stay listed. */
const KEEP_FINISHED_MS = 7 * 24 * 60 * 60 * 1000;
/** How many attempts each event's listing remembers (the latest). */
const ATTEMPTS_KEPT = 10;

/** The balance an event carries. */
function availableOf(acct: AccountRow) {
  const { credits_remaining, credits_reserved, credits_available, credits_held } = balanceOf(acct, "admin");
  return { credits_remaining, credits_reserved, credits_available, credits_held };
}

/**
 * What balance.low and balance.exhausted compare with their thresholds: the settled credits
 * (remaining less reserved). Holds of calls in flight come and go with every call, so
 * `credits_available` (net of them) would fire and re-arm the events call after call.
 */
function settledAvailableOf(acct: AccountRow): number {
  return acct.credits_allocated - acct.credits_used - acct.credits_reserved;
}

export class WebhookOutbox {
  /**
   * How many endpoints the team has, once read (null: not yet, or changed since). A team without
   * webhooks then pays nothing on its money changes; only change() alters the number.
   */
  private endpointCount: number | null = null;
  /** Told after each change of the balance, in its transaction, whether or not the team has endpoints (recharges.ts). */
  private readonly balanceWatchers: Array<(accountNow: () => AccountRow, nowMs: number) => void> = [];

  /** `born` is told after an event is written (to wake the delivery alarm). */
  constructor(
    private readonly sql: SqlStorage,
    private readonly born: () => void,
  ) {}

  /** Sets, replaces or removes an endpoint. A new one starts from where the balance is now: only later crossings fire. */
  change(acct: AccountRow | null, change: WebhookChange, nowMs: number): void {
    this.endpointCount = null;
    if ("remove" in change) {
      this.sql.exec("DELETE FROM webhook_endpoints WHERE scope = ?", change.remove);
      this.sql.exec(
        "UPDATE webhook_outbox SET state = 'dropped', next_attempt_ms = NULL WHERE scope = ? AND state = 'pending'",
        change.remove,
      );
      return;
    }
    const e: WebhookEndpoint = change.set;
    const available = acct ? settledAvailableOf(acct) : 0;
    this.sql.exec(
      `INSERT OR REPLACE INTO webhook_endpoints (scope, url, events, low_balance_threshold, secret, below_low, exhausted, updated_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      e.scope,
      e.url,
      JSON.stringify(e.events),
      e.lowBalanceThreshold,
      e.secret,
      e.lowBalanceThreshold !== null && available < e.lowBalanceThreshold ? 1 : 0,
      available <= 0 ? 1 : 0,
      nowMs,
    );
  }

  endpoint(scope: WebhookScope): WebhookEndpoint | null {
    const row = this.sql.exec<EndpointRow>("SELECT * FROM webhook_endpoints WHERE scope = ?", scope).toArray()[0];
    return row
      ? {
          scope: row.scope,
          url: row.url,
          events: JSON.parse(row.events),
          lowBalanceThreshold: row.low_balance_threshold,
          secret: row.secret,
        }
      : null;
  }

  private endpoints(): EndpointRow[] {
    if (this.endpointCount === 0) return [];
    const rows = this.sql.exec<EndpointRow>("SELECT * FROM webhook_endpoints ORDER BY scope").toArray();
    this.endpointCount = rows.length;
    return rows;
  }

  /** Adds a watcher of the available balance (told after each change, in its transaction). */
  watchBalance(watcher: (accountNow: () => AccountRow, nowMs: number) => void): void {
    this.balanceWatchers.push(watcher);
  }

  /**
   * After any change of the balance (call inside its transaction): fires balance.low and
   * balance.exhausted on a crossing downwards, and re-arms them when the balance is back above.
   */
  balanceChanged(accountNow: () => AccountRow, nowMs: number): void {
    for (const watch of this.balanceWatchers) watch(accountNow, nowMs);
    const endpoints = this.endpoints();
    // A team without webhooks reads nothing more (its account row is read only when it is needed).
    if (endpoints.length === 0) return;
    const acct = accountNow();
    const available = settledAvailableOf(acct);
    for (const e of endpoints) {
      const low = e.low_balance_threshold !== null && available < e.low_balance_threshold ? 1 : 0;
      const exhausted = available <= 0 ? 1 : 0;
      if (low === e.below_low && exhausted === e.exhausted) continue;
      this.sql.exec("UPDATE webhook_endpoints SET below_low = ?, exhausted = ? WHERE scope = ?", low, exhausted, e.scope);
      if (low && !e.below_low) this.write(e, "balance.low", acct, nowMs, { low_balance_threshold: e.low_balance_threshold });
      if (exhausted && !e.exhausted) this.write(e, "balance.exhausted", acct, nowMs, {});
    }
  }

  /** An event that is not a crossing (a job's end, a suspension), for every endpoint that asked for it. */
  emit(type: WebhookEventType, acct: AccountRow, nowMs: number, data: Record<string, unknown> = {}): void {
    for (const e of this.endpoints()) this.write(e, type, acct, nowMs, data);
  }

  /** A job ended: job.completed or job.failed (a cancelled job is not told). */
  jobEnded(acct: AccountRow, job: JobRow, status: CompletionStatus, creditsCharged: number, nowMs: number): void {
    const type = status === "completed" ? "job.completed" : status === "failed" ? "job.failed" : null;
    if (type) this.emit(type, acct, nowMs, { job_id: job.job_id, job_type: job.job_type, credits_charged: creditsCharged });
  }

  /** A job the alarm expired (released, or charged for what it consumed under `unfinished_jobs: charged`). */
  jobExpired(acct: AccountRow, job: JobRow, creditsCharged: number, nowMs: number): void {
    this.emit("job.expired", acct, nowMs, { job_id: job.job_id, job_type: job.job_type, credits_charged: creditsCharged });
  }

  /** Calls settled from their holds because their records never came (unrecorded.ts). */
  callsUnrecorded(acct: AccountRow, settled: SettledHold[], nowMs: number): void {
    for (const s of settled) {
      this.emit("call.unrecorded", acct, nowMs, {
        job_id: s.job.job_id,
        job_type: s.job.job_type,
        call_id: s.call.callId,
        model_group: s.call.modelGroup,
        cause: s.cause,
        prompt_tokens: s.call.promptTokens,
        completion_tokens: s.call.completionTokens,
        cost_usd: nanoToUsd(s.clientNano),
      });
    }
  }

  private write(e: EndpointRow, type: WebhookEventType, acct: AccountRow, nowMs: number, data: Record<string, unknown>): void {
    if (!(JSON.parse(e.events) as string[]).includes(type)) return;
    const eventId = `evt_${crypto.randomUUID().replaceAll("-", "")}`;
    const body = JSON.stringify({
      id: eventId,
      type,
      timestamp: new Date(nowMs).toISOString(),
      data: { team_id: acct.team_id, organization_id: acct.organization_id, ...data, balance: availableOf(acct) },
    });
    this.sql.exec(
      `INSERT INTO webhook_outbox (event_id, scope, event_type, body, state, created_at_ms, next_attempt_ms)
       VALUES (?, ?, ?, ?, 'pending', ?, ?)`,
      eventId,
      e.scope,
      type,
      body,
      nowMs,
      nowMs,
    );
    this.born();
  }

  /** When the next delivery is due: the earliest head of an endpoint's queue (events go in order per endpoint). */
  nextDueAt(): number | null {
    return this.sql
      .exec<{ next: number | null }>(
        `SELECT MIN(next_attempt_ms) AS next FROM webhook_outbox o
         WHERE state = 'pending' AND seq = (SELECT MIN(seq) FROM webhook_outbox WHERE scope = o.scope AND state = 'pending')`,
      )
      .one().next;
  }

  /** The oldest undelivered event of each endpoint, when it is due by `nowMs`. */
  dueHeads(nowMs: number): OutboxRow[] {
    return this.sql
      .exec<OutboxRow>(
        `SELECT * FROM webhook_outbox o
         WHERE state = 'pending' AND next_attempt_ms <= ?
           AND seq = (SELECT MIN(seq) FROM webhook_outbox WHERE scope = o.scope AND state = 'pending')`,
        nowMs,
      )
      .toArray();
  }

  /** Records an attempt: delivered, retried at `retryAtMs`, or given up (`retryAtMs` null). */
  recordAttempt(row: OutboxRow, outcome: AttemptOutcome, delivered: boolean, retryAtMs: number | null): void {
    const log = [
      ...(JSON.parse(row.attempt_log) as unknown[]),
      { at_ms: outcome.atMs, status_code: outcome.status, error: outcome.error, duration_ms: outcome.durationMs },
    ];
    const state = delivered ? "delivered" : retryAtMs === null ? "failed" : "pending";
    this.sql.exec(
      `UPDATE webhook_outbox SET state = ?, attempts = attempts + 1, next_attempt_ms = ?, last_attempt_ms = ?, last_status = ?,
         last_error = ?, delivered_at_ms = ?, attempt_log = ? WHERE seq = ? AND state = 'pending'`,
      state,
      state === "pending" ? retryAtMs : null,
      outcome.atMs,
      outcome.status,
      outcome.error,
      delivered ? outcome.atMs : null,
      JSON.stringify(log.slice(-ATTEMPTS_KEPT)),
      row.seq,
    );
  }

  /** Forgets events delivered or given up more than a week ago. */
  prune(nowMs: number): void {
    this.sql.exec("DELETE FROM webhook_outbox WHERE state != 'pending' AND created_at_ms < ?", nowMs - KEEP_FINISHED_MS);
  }

  /** The latest events, newest first (one more than `limit`, to tell whether there are more). */
  recent(limit: number, offset: number): OutboxRow[] {
    return this.sql.exec<OutboxRow>("SELECT * FROM webhook_outbox ORDER BY seq DESC LIMIT ? OFFSET ?", limit + 1, offset).toArray();
  }
}
