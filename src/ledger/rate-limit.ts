// A team's request rate, limited inside its ledger object (where every new job and call is
// admitted anyway), so the limit is exact and costs no extra round trip.

/** A token bucket holding `perMinute` tokens, refilled continuously. */
export class RequestRate {
  private tokens: number;
  private updatedMs: number;

  constructor(
    readonly perMinute: number,
    nowMs: number,
  ) {
    this.tokens = perMinute;
    this.updatedMs = nowMs;
  }

  /** Takes one token; when none is left, says how many seconds until one is. */
  take(nowMs: number): { ok: true } | { ok: false; retryAfterSeconds: number } {
    const perMs = this.perMinute / 60_000;
    this.tokens = Math.min(this.perMinute, this.tokens + (nowMs - this.updatedMs) * perMs);
    this.updatedMs = nowMs;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - this.tokens) / perMs / 1000)) };
  }
}
