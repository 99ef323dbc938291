import { describe, expect, it } from "vitest";
import type { GrantRow } from "../../src/ledger/rows";
import { periodEndAfter, periodStartOn, rolledOver } from "../../src/ledger/rules/allowance";
import { monthRange, statementOf } from "../../src/ledger/rules/grant-views";
import { burnOrder, drawDown, expiringNoticeAtMs, grantStatusOf, heldFromEndingGrant } from "../../src/ledger/rules/grants";

const utc = (text: string) => Date.parse(text);
const iso = (ms: number) => new Date(ms).toISOString();

function grant(id: string, overrides: Partial<GrantRow> = {}): GrantRow {
  return {
    seq: 1,
    grant_id: id,
    source: "paid",
    credits: 10,
    remaining: 10,
    priority: 50,
    expires_at_ms: null,
    created_at_ms: 0,
    reason: "test",
    external_ref: null,
    allowance_id: null,
    plan_period_ms: null,
    plan_kind: null,
    ended: null,
    ended_at_ms: null,
    notice_sent: 0,
    ...overrides,
  };
}

describe("burn-down order", () => {
  it("lowest priority number first, then soonest expiry (never-expiring last), then oldest", () => {
    const grants = [
      grant("paid-old", { seq: 1 }),
      grant("promo-late", { seq: 2, expires_at_ms: 2_000 }),
      grant("plan-soon", { seq: 3, expires_at_ms: 1_000 }),
      grant("urgent", { seq: 4, priority: 10 }),
      grant("paid-new", { seq: 5 }),
      grant("promo-late-newer", { seq: 6, expires_at_ms: 2_000 }),
    ];
    expect([...grants].sort(burnOrder).map((g) => g.grant_id)).toEqual([
      "urgent",
      "plan-soon",
      "promo-late",
      "promo-late-newer",
      "paid-old",
      "paid-new",
    ]);
  });

  it("a charge takes each grant down to zero in order, and what none can pay is the shortfall", () => {
    const ordered = [
      { grant_id: "a", remaining: 3 },
      { grant_id: "b", remaining: 0 },
      { grant_id: "c", remaining: 5 },
    ];
    expect(drawDown(ordered, 2)).toEqual({ draws: [{ grant_id: "a", credits: -2 }], shortfall: 0 });
    expect(drawDown(ordered, 6)).toEqual({
      draws: [
        { grant_id: "a", credits: -3 },
        { grant_id: "c", credits: -3 },
      ],
      shortfall: 0,
    });
    expect(drawDown(ordered, 10)).toEqual({
      draws: [
        { grant_id: "a", credits: -3 },
        { grant_id: "c", credits: -5 },
      ],
      shortfall: 2,
    });
  });
});

describe("holds on an ending grant", () => {
  const ordered = [
    { grant_id: "first", remaining: 4 },
    { grant_id: "ending", remaining: 6 },
    { grant_id: "last", remaining: 100 },
  ];

  it("holds draw on grants in burn-down order, oldest job first: the ending grant funds what the grants before it do not", () => {
    const jobs = [
      { job_id: "j1", uncovered: 3 },
      { job_id: "j2", uncovered: 3 },
      { job_id: "j3", uncovered: 3 },
    ];
    // Credits 0-3 of the holds come from `first`, 4-9 from `ending`: j2's last 2, j3's 3 (and `last` would fund the rest).
    expect(heldFromEndingGrant(ordered, "ending", jobs)).toEqual([
      { job_id: "j2", credits: 2 },
      { job_id: "j3", credits: 3 },
    ]);
  });

  it("holds the grants before it cover take none of it; holds larger than it take all of it", () => {
    expect(heldFromEndingGrant(ordered, "ending", [{ job_id: "j1", uncovered: 4 }])).toEqual([]);
    expect(heldFromEndingGrant(ordered, "ending", [{ job_id: "j1", uncovered: 50 }])).toEqual([{ job_id: "j1", credits: 6 }]);
    expect(heldFromEndingGrant(ordered, "first", [{ job_id: "j1", uncovered: 2 }])).toEqual([{ job_id: "j1", credits: 2 }]);
  });
});

describe("expiry notices and statuses", () => {
  it("a grant is announced `notice` before its expiry, unless it was made within that time (never for one that never expires)", () => {
    const day = 86_400_000;
    expect(expiringNoticeAtMs({ expires_at_ms: 10 * day, created_at_ms: 0 }, 3 * 86_400)).toBe(7 * day);
    expect(expiringNoticeAtMs({ expires_at_ms: 2 * day, created_at_ms: 0 }, 3 * 86_400)).toBeNull();
    expect(expiringNoticeAtMs({ expires_at_ms: null, created_at_ms: 0 }, 3 * 86_400)).toBeNull();
    expect(expiringNoticeAtMs({ expires_at_ms: 10 * day, created_at_ms: 0 }, 0)).toBeNull();
  });

  it("a live grant is active with credits left and depleted without; an ended one says how it ended", () => {
    expect(grantStatusOf({ remaining: 1, ended: null })).toBe("active");
    expect(grantStatusOf({ remaining: 0, ended: null })).toBe("depleted");
    expect(grantStatusOf({ remaining: 2, ended: "expired" })).toBe("expired");
    expect(grantStatusOf({ remaining: 0, ended: "voided" })).toBe("voided");
  });
});

describe("allowance periods (UTC)", () => {
  it("a day begins at midnight", () => {
    const terms = { period: "day" as const, anchor: 1 };
    expect(iso(periodStartOn(terms, utc("2027-03-05T17:30:00Z")))).toBe("2027-03-05T00:00:00.000Z");
    expect(iso(periodEndAfter(terms, utc("2027-03-05T00:00:00Z")))).toBe("2027-03-06T00:00:00.000Z");
  });

  it("a week begins on its anchor weekday (1 Monday ... 7 Sunday)", () => {
    // 2027-03-05 is a Friday.
    expect(iso(periodStartOn({ period: "week", anchor: 1 }, utc("2027-03-05T12:00:00Z")))).toBe("2027-03-01T00:00:00.000Z");
    expect(iso(periodStartOn({ period: "week", anchor: 5 }, utc("2027-03-05T12:00:00Z")))).toBe("2027-03-05T00:00:00.000Z");
    expect(iso(periodStartOn({ period: "week", anchor: 6 }, utc("2027-03-05T12:00:00Z")))).toBe("2027-02-27T00:00:00.000Z");
    expect(iso(periodStartOn({ period: "week", anchor: 7 }, utc("2027-03-07T00:00:00Z")))).toBe("2027-03-07T00:00:00.000Z");
    expect(iso(periodEndAfter({ period: "week", anchor: 3 }, utc("2027-03-03T00:00:00Z")))).toBe("2027-03-10T00:00:00.000Z");
  });

  it("a month begins on its anchor day, or the last day of a shorter month", () => {
    const on15 = { period: "month" as const, anchor: 15 };
    expect(iso(periodStartOn(on15, utc("2027-03-20T00:00:00Z")))).toBe("2027-03-15T00:00:00.000Z");
    expect(iso(periodStartOn(on15, utc("2027-03-14T23:59:59Z")))).toBe("2027-02-15T00:00:00.000Z");
    expect(iso(periodEndAfter(on15, utc("2027-12-15T00:00:00Z")))).toBe("2028-01-15T00:00:00.000Z");
    const on31 = { period: "month" as const, anchor: 31 };
    expect(iso(periodStartOn(on31, utc("2027-03-01T00:00:00Z")))).toBe("2027-02-28T00:00:00.000Z");
    expect(iso(periodEndAfter(on31, utc("2027-02-28T00:00:00Z")))).toBe("2027-03-31T00:00:00.000Z");
    expect(iso(periodEndAfter(on31, utc("2028-01-31T00:00:00Z")))).toBe("2028-02-29T00:00:00.000Z");
    const first = { period: "month" as const, anchor: 1 };
    expect(iso(periodStartOn(first, utc("2027-01-01T00:00:00Z")))).toBe("2027-01-01T00:00:00.000Z");
    expect(iso(periodStartOn(first, utc("2026-12-31T23:59:59.999Z")))).toBe("2026-12-01T00:00:00.000Z");
  });

  it("what rolls over is the leftover up to max, or nothing", () => {
    expect(rolledOver({ rolloverMax: null }, 40)).toBe(0);
    expect(rolledOver({ rolloverMax: 25 }, 40)).toBe(25);
    expect(rolledOver({ rolloverMax: 25 }, 10)).toBe(10);
    expect(rolledOver({ rolloverMax: 25 }, 0)).toBe(0);
  });
});

describe("statements", () => {
  it("a month is [first day, next month's first day) in UTC; anything else is not a month", () => {
    expect(monthRange("2027-02")).toEqual({ fromMs: utc("2027-02-01T00:00:00Z"), toMs: utc("2027-03-01T00:00:00Z") });
    expect(monthRange("2027-12")?.toMs).toBe(utc("2028-01-01T00:00:00Z"));
    expect(monthRange("2027-13")).toBeNull();
    expect(monthRange("2027-1")).toBeNull();
  });

  it("totals come from the ledger; each grant's line from its moves, and the lines add up to the totals", () => {
    const promo = grant("promo", { source: "promotional", credits: 50, remaining: 0, ended: "expired", expires_at_ms: 5 });
    const paid = grant("paid", { credits: 30, remaining: 25 });
    const s = statementOf({
      teamId: "t",
      period: "2027-03",
      fromMs: 0,
      toMs: 10,
      openingBalance: 30,
      ledger: [
        { kind: "allocation", amount: 50 },
        { kind: "deduction", amount: -25 },
        { kind: "expiry", amount: -30 },
        { kind: "reservation", amount: 0 },
      ],
      before: [{ grant_id: "paid", credits: 30 }],
      moves: [
        { grant_id: "promo", kind: "grant", credits: 50 },
        { grant_id: "promo", kind: "charge", credits: -20 },
        { grant_id: "paid", kind: "charge", credits: -5 },
        { grant_id: "promo", kind: "expiry", credits: -30 },
      ],
      grants: [promo, paid],
    });
    expect(s).toMatchObject({ opening: 30, granted: 50, consumed: 25, expired: 30, voided: 0, refunded: 0, closing: 25 });
    expect(s.by_source.promotional).toEqual({ opening: 0, granted: 50, consumed: 20, refunded: 0, expired: 30, voided: 0, closing: 0 });
    expect(s.by_source.paid).toEqual({ opening: 30, granted: 0, consumed: 5, refunded: 0, expired: 0, voided: 0, closing: 25 });
    expect(s.grants.map((g) => [g.grant_id, g.status, g.closing])).toEqual([
      ["paid", "active", 25],
      ["promo", "expired", 0],
    ]);
  });

  it("an overdraft is its own line: spent beyond every grant, then paid back by the next grant", () => {
    const paid = grant("paid", { credits: 10, remaining: 6 });
    const s = statementOf({
      teamId: "t",
      period: "2027-03",
      fromMs: 0,
      toMs: 10,
      openingBalance: -4,
      ledger: [{ kind: "allocation", amount: 10 }],
      before: [{ grant_id: null, credits: -4 }],
      moves: [
        { grant_id: "paid", kind: "grant", credits: 10 },
        { grant_id: "paid", kind: "overdraft", credits: -4 },
        { grant_id: null, kind: "overdraft", credits: 4 },
      ],
      grants: [paid],
    });
    expect(s).toMatchObject({ opening: -4, granted: 10, consumed: 0, closing: 6 });
    expect(s.by_source.overdraft).toEqual({ opening: -4, granted: 0, consumed: -4, refunded: 0, expired: 0, voided: 0, closing: 0 });
    expect(s.by_source.paid).toEqual({ opening: 0, granted: 10, consumed: 4, refunded: 0, expired: 0, voided: 0, closing: 6 });
  });
});
