import { describe, expect, it } from "vitest";
import {
  affordableMaxTokens,
  creditsHeld,
  DEFAULT_MAX_TOKENS,
  dearestPrice,
  jobExposureMicro,
  worstCase,
} from "../../src/ledger/rules/holds";
import { MICRO_PER_CREDIT } from "../../src/ledger/rules/money";
import type { BudgetSettings } from "../../src/ledger/types";

const perTokens = (tokensPerCredit: number): BudgetSettings => ({
  budgetMode: "consumption_tokens",
  creditsPerDollar: 10,
  tokensPerCredit,
  costMarkupPercentage: 0,
});
const perDollar = (creditsPerDollar: number, costMarkupPercentage = 0): BudgetSettings => ({
  budgetMode: "consumption_usd",
  creditsPerDollar,
  tokensPerCredit: 10_000,
  costMarkupPercentage,
});
const price = (input: number, output: number) => ({ inputPerMillionUsd: input, outputPerMillionUsd: output });

describe("a call's worst case", () => {
  it("in consumption_tokens, is its prompt and max_tokens at the team's tokens per credit, with no cost cap", () => {
    // 100 + 400 tokens at 10,000 tokens a credit: 0.05 credits.
    expect(worstCase(perTokens(10_000), null, 100, 400)).toEqual({ holdMicro: 50_000, capNano: null, providerNano: null });
  });

  it("in consumption_usd, prices the prompt and max_tokens at the group's dearest prices, with the markup", () => {
    // 1,000 prompt tokens at $1/M and 500 at $2/M: $0.002; +50%: $0.003; at 10 credits a dollar: 0.03 credits.
    expect(worstCase(perDollar(10, 50), price(1, 2), 1_000, 500)).toEqual({
      holdMicro: 30_000,
      capNano: 3_000_000,
      providerNano: 2_000_000,
    });
  });

  it("rounds up, so a hold never falls short of what the call may cost", () => {
    // One token at $0.3333/M is 333.3 nano-dollars: held as 334.
    expect(worstCase(perDollar(10), price(0.3333, 0), 1, 0)?.capNano).toBe(334);
    // Three tokens at 7 tokens a credit: 428,571.4 micro-credits, held as 428,572.
    expect(worstCase(perTokens(7), null, 3, 0)?.holdMicro).toBe(428_572);
  });

  it("cannot be worked out in consumption_usd without a price (the group has an unpriced model)", () => {
    expect(worstCase(perDollar(10), null, 100, 100)).toBeNull();
  });
});

describe("the max_tokens the gateway chooses for a call without one", () => {
  it("is the default when the credits pay for it", () => {
    expect(affordableMaxTokens(perTokens(10_000), null, 100, 100 * MICRO_PER_CREDIT)).toBe(DEFAULT_MAX_TOKENS);
  });

  it("is the largest the room pays for, exactly at the edge", () => {
    // Each token holds 100 micro-credits at 10,000 tokens a credit: 50,000 hold 500 tokens, 100 of them the prompt.
    const settings = perTokens(10_000);
    const chosen = affordableMaxTokens(settings, null, 100, 50_000);
    expect(chosen).toBe(400);
    expect(worstCase(settings, null, 100, chosen)!.holdMicro).toBeLessThanOrEqual(50_000);
    expect(worstCase(settings, null, 100, chosen + 1)!.holdMicro).toBeGreaterThan(50_000);
  });

  it("is 0 when not even the prompt with one completion token fits", () => {
    expect(affordableMaxTokens(perTokens(10_000), null, 100, 100 * 100)).toBe(0);
    expect(affordableMaxTokens(perTokens(10_000), null, 100, 101 * 100)).toBe(1);
  });

  it("agrees with the worst case whatever the prices, prompt and room", () => {
    const settings = perDollar(7, 25);
    const group = price(0.15, 0.6);
    for (const [prompt, room] of [
      [10, 2_000],
      [1_000, 5_000],
      [3, 137],
      [50_000, 90_000],
    ]) {
      const chosen = affordableMaxTokens(settings, group, prompt, room);
      const fits = (n: number) => worstCase(settings, group, prompt, n)!.holdMicro <= room;
      if (chosen === 0) expect(fits(1)).toBe(false);
      else {
        expect(fits(chosen)).toBe(true);
        if (chosen < DEFAULT_MAX_TOKENS) expect(fits(chosen + 1)).toBe(false);
      }
    }
  });

  it("is 0 in consumption_usd without a price", () => {
    expect(affordableMaxTokens(perDollar(10), null, 10, 100 * MICRO_PER_CREDIT)).toBe(0);
  });
});

describe("what holds show and add up to", () => {
  it("a job exposes its reservation, or what it consumed plus what its calls hold when that is more", () => {
    expect(jobExposureMicro(1, 200_000, 300_000)).toBe(MICRO_PER_CREDIT);
    expect(jobExposureMicro(1, 800_000, 300_000)).toBe(1_100_000);
    expect(jobExposureMicro(0, 0, 0)).toBe(0);
  });

  it("credits held are shown rounded up", () => {
    expect(creditsHeld(0)).toBe(0);
    expect(creditsHeld(1)).toBe(1);
    expect(creditsHeld(MICRO_PER_CREDIT)).toBe(1);
    expect(creditsHeld(MICRO_PER_CREDIT + 1)).toBe(2);
  });

  it("a group is held at its dearest input and output prices, which may come from different models", () => {
    expect(dearestPrice([price(1, 4), price(3, 2)])).toEqual(price(3, 4));
    expect(dearestPrice([price(1, 4)])).toEqual(price(1, 4));
  });

  it("a group with one unpriced model has no price to hold", () => {
    expect(dearestPrice([price(1, 4), null])).toBeNull();
  });
});
