import { type Refusal, refusal } from "../types";
import { rateLimited } from "./admission";
import { TokenRate } from "./holds";

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

/** A team's limit on new jobs and calls, kept in its object's memory (the object's only in-memory state). */
export class TeamRate {
  private bucket: RequestRate | undefined;

  /** Takes one new job or call from the team's limit (none when it has none); refused when it is used up. */
  refuse(perMinute: number | null, nowMs: number): Refusal | null {
    if (perMinute === null) return null;
    if (this.bucket?.perMinute !== perMinute) this.bucket = new RequestRate(perMinute, nowMs);
    const taken = this.bucket.take(nowMs);
    return taken.ok ? null : rateLimited(perMinute, taken.retryAfterSeconds);
  }
}

/** A team's tokens-per-minute limit (holds.ts TokenRate), kept in its object's memory like the request rate. */
export class TeamTokenRate {
  private bucket: TokenRate | undefined;

  /** Takes a call's held tokens from the team's limit (none when it has none); refused when they are not there. */
  refuse(perMinute: number | null, count: number, nowMs: number): Refusal | null {
    if (perMinute === null) return null;
    if (this.bucket?.perMinute !== perMinute) this.bucket = new TokenRate(perMinute, nowMs);
    const taken = this.bucket.take(count, nowMs);
    if (taken.ok) return null;
    return {
      ...refusal(
        "RATE_LIMITED",
        `Tokens-per-minute limit of ${perMinute} reached (this call may use ${count}); retry in ${taken.retryAfterSeconds} s`,
      ),
      retryAfterSeconds: taken.retryAfterSeconds,
    };
  }

  /** Settles a recorded call: `heldTokens` were taken, `usedTokens` were used. */
  settle(perMinute: number | null, heldTokens: number, usedTokens: number, nowMs: number): void {
    if (perMinute !== null && this.bucket?.perMinute === perMinute) this.bucket.settle(heldTokens, usedTokens, nowMs);
  }
}
