import type { OutboxRow } from "../rows";

// What GET /api/teams/{id}/webhook/deliveries shows of a team's webhook events: each event with
// its state, its latest attempts (status codes, errors) and when it is retried next.

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function webhookDeliveriesOf(teamId: string, rows: OutboxRow[], limit: number, offset: number) {
  const items = rows.slice(0, limit).map((r) => ({
    event_id: r.event_id,
    type: r.event_type,
    scope: r.scope,
    state: r.state,
    attempts: r.attempts,
    created_at: iso(r.created_at_ms)!,
    last_attempt_at: iso(r.last_attempt_ms),
    last_status_code: r.last_status,
    last_error: r.last_error,
    next_retry_at: r.state === "pending" && r.attempts > 0 ? iso(r.next_attempt_ms) : null,
    delivered_at: iso(r.delivered_at_ms),
    recent_attempts: (
      JSON.parse(r.attempt_log) as Array<{ at_ms: number; status_code: number | null; error: string | null; duration_ms: number }>
    ).map((a) => ({ at: iso(a.at_ms)!, status_code: a.status_code, error: a.error, duration_ms: a.duration_ms })),
  }));
  return { team_id: teamId, items, limit, offset, has_more: rows.length > limit };
}
