import { describe, expect, it } from "vitest";
import { TokenBucket } from "../../src/ledger/rules/rate-limit";

const SECOND = 1_000;
const MINUTE = 60 * SECOND;

function takeMany(rate: TokenBucket, count: number, nowMs: number) {
  return Array.from({ length: count }, () => rate.take(1, nowMs));
}

describe("a team's request rate", () => {
  it("admits a full minute's worth at once, then refuses the next request", () => {
    const rate = new TokenBucket(60, 0);
    expect(takeMany(rate, 60, 0).every((result) => result.ok)).toBe(true);
    expect(rate.take(1, 0)).toEqual({ ok: false, retryAfterSeconds: 1 });
  });

  it("says how long until the next request is admitted", () => {
    const rate = new TokenBucket(1, 0);
    expect(rate.take(1, 0)).toEqual({ ok: true });
    expect(rate.take(1, 0)).toEqual({ ok: false, retryAfterSeconds: 60 });
    expect(rate.take(1, 30 * SECOND)).toEqual({ ok: false, retryAfterSeconds: 30 });
    expect(rate.take(1, 59_500)).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(rate.take(1, MINUTE)).toEqual({ ok: true });
  });

  it("never says to retry in less than a second", () => {
    const rate = new TokenBucket(6_000, 0);
    takeMany(rate, 6_000, 0);
    expect(rate.take(1, 0)).toEqual({ ok: false, retryAfterSeconds: 1 });
  });

  it("refills continuously: ten seconds give back a sixth of the minute", () => {
    const rate = new TokenBucket(60, 0);
    takeMany(rate, 60, 0);
    const afterTenSeconds = takeMany(rate, 11, 10 * SECOND);
    expect(afterTenSeconds.filter((result) => result.ok)).toHaveLength(10);
    expect(afterTenSeconds[10]).toEqual({ ok: false, retryAfterSeconds: 1 });
  });

  it("saves up no more than one minute's worth while idle", () => {
    const rate = new TokenBucket(60, 0);
    const afterAnHour = takeMany(rate, 61, 60 * MINUTE);
    expect(afterAnHour.filter((result) => result.ok)).toHaveLength(60);
    expect(afterAnHour[60].ok).toBe(false);
  });

  it("does not count refused requests against the team", () => {
    const rate = new TokenBucket(1, 0);
    rate.take(1, 0);
    for (let i = 0; i < 100; i++) rate.take(1, i * 100);
    expect(rate.take(1, MINUTE)).toEqual({ ok: true });
  });
});
