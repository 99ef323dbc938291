import { log } from "../../log";
import { signedHeaders } from "../../webhooks/signing";
import type { WebhookOutbox } from "../changes/webhook-outbox";
import type { OutboxRow } from "../rows";

// Delivering a team's webhook events from its object's alarm (never from a request: a call
// never waits for a receiver). Each endpoint's events go in order: the oldest undelivered one
// first, and a failing one holds back the later ones while it is retried with exponential
// backoff (base, 3x base, 9x base... at most 4 h apart) for 24 hours, then it is marked failed
// and the next one goes. At least once: the receiver deduplicates by the event id.

export const GIVE_UP_AFTER_MS = 24 * 60 * 60 * 1000;
const MAX_RETRY_DELAY_MS = 4 * 60 * 60 * 1000;
/** Rounds of deliveries in one alarm run (each round: one event per endpoint); the rest go on the next run. */
const ROUNDS_PER_RUN = 25;

export interface DeliverySettings {
  /** Each attempt's deadline. */
  timeoutMs: number;
  /** The delay before the first retry. */
  retryBaseMs: number;
}

export function deliverySettingsOf(env: Env): DeliverySettings {
  const positive = (value: string | undefined, fallback: number) => {
    const n = Number(value);
    return Number.isFinite(n) && n > 0 ? n : fallback;
  };
  return {
    timeoutMs: positive(env.WEBHOOK_ATTEMPT_TIMEOUT_MS, 10_000),
    retryBaseMs: positive(env.WEBHOOK_RETRY_BASE_MS, 10_000),
  };
}

/** The delay after the `attempts`-th failed attempt. */
export function retryDelayMs(attempts: number, baseMs: number): number {
  return Math.min(baseMs * 3 ** Math.max(0, attempts - 1), MAX_RETRY_DELAY_MS);
}

export class WebhookDelivery {
  /** One delivery run at a time per object (an alarm and a test's runDurableObjectAlarm must not both send an event). */
  private running = false;

  constructor(
    private readonly outbox: WebhookOutbox,
    private readonly settings: DeliverySettings,
  ) {}

  /** When the alarm must next run for webhooks, or null with nothing to send. */
  nextDeliveryDueAt(): number | null {
    return this.outbox.nextDueAt();
  }

  /**
   * Sends what is due, in order per endpoint. Never throws: a failure is recorded on its event.
   * False when another run is under way (it schedules what follows when it ends).
   */
  async deliverDue(nowMs: number): Promise<boolean> {
    if (this.running) return false;
    this.running = true;
    try {
      for (let round = 0; round < ROUNDS_PER_RUN; round++) {
        const heads = this.outbox.dueHeads(Math.max(nowMs, Date.now()));
        if (heads.length === 0) break;
        await Promise.all(heads.map((row) => this.attempt(row)));
      }
      this.outbox.prune(Date.now());
    } catch (error) {
      log("error", "webhook delivery run failed", { error: error instanceof Error ? error.message : String(error) });
    } finally {
      this.running = false;
    }
    return true;
  }

  private async attempt(row: OutboxRow): Promise<void> {
    const endpoint = this.outbox.endpoint(row.scope);
    if (!endpoint) return; // removed since: its events were dropped with it
    const started = Date.now();
    let status: number | null = null;
    let error: string | null = null;
    try {
      const res = await fetch(endpoint.url, {
        method: "POST",
        headers: await signedHeaders(endpoint.secret, row.event_id, row.body, started),
        body: row.body,
        redirect: "manual",
        signal: AbortSignal.timeout(this.settings.timeoutMs),
      });
      status = res.status;
      await res.body?.cancel();
      if (status < 200 || status > 299) error = `receiver answered ${status}`;
    } catch (e) {
      const name = e instanceof Error ? e.name : "";
      error =
        name === "TimeoutError" || name === "AbortError"
          ? `no answer within ${this.settings.timeoutMs} ms`
          : `could not reach the receiver: ${(e instanceof Error ? e.message : String(e)).slice(0, 200)}`;
    }
    const finishedAt = Date.now();
    const delivered = error === null;
    const retryAt = finishedAt + retryDelayMs(row.attempts + 1, this.settings.retryBaseMs);
    const givenUp = !delivered && retryAt - row.created_at_ms > GIVE_UP_AFTER_MS;
    if (!delivered) {
      log("warn", "webhook delivery failed", {
        event_id: row.event_id,
        scope: row.scope,
        attempt: row.attempts + 1,
        error,
        given_up: givenUp,
      });
    }
    const outcome = { atMs: started, status, error, durationMs: finishedAt - started };
    this.outbox.recordAttempt(row, outcome, delivered, delivered || givenUp ? null : retryAt);
  }
}
