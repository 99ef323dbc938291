import { type Refusal, refusal } from "../types";
import { rateLimited } from "./admission";

// A team's request rate, limited inside its ledger object (where every new job and call is
// admitted anyway), so the limit is exact and costs no extra round trip.

/**
 * A token bucket of `perMinute` tokens, refilled continuously. The request rate takes one per
 * new job or call; the tokens-per-minute limit takes a call's held tokens when it is admitted and
 * gives back (or takes more) when it is settled, so that bucket may dip below zero when a call
 * used more than it held.
 */
export class TokenBucket {
  private tokens: number;
  private updatedMs: number;

  constructor(
    readonly perMinute: number,
    nowMs: number,
  ) {
    this.tokens = perMinute;
    this.updatedMs = nowMs;
  }

  private refill(nowMs: number) {
    this.tokens = Math.min(this.perMinute, this.tokens + ((nowMs - this.updatedMs) * this.perMinute) / 60_000);
    this.updatedMs = nowMs;
  }

  /** Takes `count` tokens (more than the whole bucket needs a full one); when they are not there, says how many seconds until they are. */
  take(count: number, nowMs: number): { ok: true } | { ok: false; retryAfterSeconds: number } {
    this.refill(nowMs);
    const needed = Math.min(count, this.perMinute);
    if (this.tokens >= needed) {
      this.tokens -= count;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(((needed - this.tokens) * 60) / this.perMinute)) };
  }

  /** Settles a call: `heldTokens` were taken, `usedTokens` were used. */
  settle(heldTokens: number, usedTokens: number, nowMs: number): void {
    this.refill(nowMs);
    this.tokens = Math.min(this.perMinute, this.tokens + heldTokens - usedTokens);
  }
}

/** A team's limit on new jobs and calls, kept in its object's memory (the object's only in-memory state). */
export class TeamRate {
  private bucket: TokenBucket | undefined;

  /** Takes one new job or call from the team's limit (none when it has none); refused when it is used up. */
  refuse(perMinute: number | null, nowMs: number): Refusal | null {
    if (perMinute === null) return null;
    if (this.bucket?.perMinute !== perMinute) this.bucket = new TokenBucket(perMinute, nowMs);
    const taken = this.bucket.take(1, nowMs);
    return taken.ok ? null : rateLimited(perMinute, taken.retryAfterSeconds);
  }
}

/** A team's tokens-per-minute limit, kept in its object's memory like the request rate. */
export class TeamTokenRate {
  private bucket: TokenBucket | undefined;

  /** Takes a call's held tokens from the team's limit (none when it has none); refused when they are not there. */
  refuse(perMinute: number | null, count: number, nowMs: number): Refusal | null {
    if (perMinute === null) return null;
    if (this.bucket?.perMinute !== perMinute) this.bucket = new TokenBucket(perMinute, nowMs);
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
