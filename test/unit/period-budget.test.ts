import { describe, expect, it } from "vitest";
import { budgetExceeded } from "../../src/ledger/rules/admission";
import { budgetRoomMicro, thresholdsCrossed, windowEndMs, windowStartMs } from "../../src/ledger/rules/period-budget";

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

describe("period budget windows (UTC)", () => {
  it("a day runs from midnight UTC to the next midnight, whatever the time of day", () => {
    for (const now of ["2026-12-06T00:00:00.000Z", "2026-12-06T13:45:10.000Z", "2026-12-06T23:59:59.999Z"]) {
      expect(iso(windowStartMs("day", at(now)))).toBe("2026-12-06T00:00:00.000Z");
      expect(iso(windowEndMs("day", at(now)))).toBe("2026-12-07T00:00:00.000Z");
    }
  });

  it("a week starts on Monday 00:00 UTC (a Sunday belongs to the week that began six days before)", () => {
    // 2026-12-06 is a Sunday; 2026-11-30 the Monday before it, 2026-12-07 the Monday after.
    expect(iso(windowStartMs("week", at("2026-12-06T22:00:00Z")))).toBe("2026-11-30T00:00:00.000Z");
    expect(iso(windowEndMs("week", at("2026-12-06T22:00:00Z")))).toBe("2026-12-07T00:00:00.000Z");
    expect(iso(windowStartMs("week", at("2026-12-07T00:00:00Z")))).toBe("2026-12-07T00:00:00.000Z");
  });

  it("a month runs from the 1st to the 1st, across year ends and short months", () => {
    expect(iso(windowStartMs("month", at("2026-12-31T23:59:59Z")))).toBe("2026-12-01T00:00:00.000Z");
    expect(iso(windowEndMs("month", at("2026-12-31T23:59:59Z")))).toBe("2027-01-01T00:00:00.000Z");
    expect(iso(windowEndMs("month", at("2028-02-10T00:00:00Z")))).toBe("2028-03-01T00:00:00.000Z");
  });

  it("total never resets", () => {
    expect(windowStartMs("total", at("2026-12-06T12:00:00Z"))).toBe(0);
    expect(windowEndMs("total", at("2026-12-06T12:00:00Z"))).toBeNull();
  });
});

describe("what a budget leaves, and its alerts", () => {
  it("room is the cap less what was spent in the window and what is held now (negative once overrun)", () => {
    expect(budgetRoomMicro(5_000_000, 2_000_000, 1_000_000)).toBe(2_000_000);
    expect(budgetRoomMicro(1_000_000, 1_000_000, 0)).toBe(0);
    expect(budgetRoomMicro(1_000_000, 0, 1_500_000)).toBe(-500_000);
  });

  it("thresholds reached and not yet fired come back in ascending order; one spend can cross several", () => {
    expect(thresholdsCrossed([100, 50, 80], 10_000_000, 8_000_000, 0)).toEqual([50, 80]);
    expect(thresholdsCrossed([50, 80, 100], 10_000_000, 8_000_000, 50)).toEqual([80]);
    expect(thresholdsCrossed([50, 80, 100], 10_000_000, 7_999_999, 50)).toEqual([]);
    expect(thresholdsCrossed([50, 80, 100], 10_000_000, 10_000_000, 80)).toEqual([100]);
    expect(thresholdsCrossed([50, 80, 100], 10_000_000, 12_000_000, 100)).toEqual([]);
    expect(thresholdsCrossed([50], 0, 0, 0)).toEqual([]);
  });

  it("a refusal names the budget, what is left and when it resets", () => {
    const refusal = budgetExceeded("key 'batch'", { credits: 1, period: "day" }, 0, 1_000_000, at("2026-12-07T00:00:00Z"), "a new job");
    expect(refusal.code).toBe("BUDGET_EXCEEDED");
    expect(refusal.detail).toBe(
      "Budget exceeded: key 'batch' has a budget of 1 credit(s) per day, 0 left, and a new job needs up to 1; it resets at 2026-12-07T00:00:00.000Z",
    );
    const total = budgetExceeded("end user 'alice'", { credits: 3, period: "total" }, 500_000, 2_000_000, null, "this call");
    expect(total.detail).toContain("a budget of 3 credit(s) in total, 0 left");
    expect(total.detail).toContain("it does not reset");
  });
});
