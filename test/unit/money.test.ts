import { describe, expect, it } from "vitest";
import {
  clientCostNano,
  completionCharge,
  consumedCredits,
  jobHoldMicro,
  MICRO_PER_CREDIT,
  nanoToUsd,
  usdToNano,
} from "../../src/ledger/rules/money";
import type { BudgetSettings } from "../../src/ledger/types";

const jobBased: BudgetSettings = { budgetMode: "job_based", creditsPerDollar: 10, tokensPerCredit: 10_000, costMarkupPercentage: 0 };
const perDollar = (creditsPerDollar: number): BudgetSettings => ({ ...jobBased, budgetMode: "consumption_usd", creditsPerDollar });
const perTokens = (tokensPerCredit: number): BudgetSettings => ({ ...jobBased, budgetMode: "consumption_tokens", tokensPerCredit });

describe("USD amounts in nano-dollars", () => {
  it("converts dollars to whole nano-dollars, absorbing float noise", () => {
    expect(usdToNano(0.3)).toBe(300_000_000);
    expect(usdToNano(0.1 + 0.2)).toBe(300_000_000);
    expect(usdToNano(0.000015)).toBe(15_000);
    expect(usdToNano(0)).toBe(0);
  });

  it("rounds sub-nano amounts to the nearest nano-dollar", () => {
    expect(usdToNano(1.4e-9)).toBe(1);
    expect(usdToNano(4e-10)).toBe(0);
  });

  it("converts back to dollars", () => {
    expect(nanoToUsd(15_000)).toBe(0.000015);
    expect(nanoToUsd(usdToNano(12.5))).toBe(12.5);
  });

  it("keeps a million dollars exact", () => {
    expect(usdToNano(1_000_000)).toBe(1_000_000_000_000_000);
    expect(Number.isSafeInteger(usdToNano(1_000_000))).toBe(true);
  });
});

describe("client cost (provider cost plus markup)", () => {
  it("is the provider cost when there is no markup", () => {
    expect(clientCostNano(450_000, 0)).toBe(450_000);
  });

  it("adds the markup percentage", () => {
    expect(clientCostNano(1_000, 50)).toBe(1_500);
    expect(clientCostNano(1_000, 100)).toBe(2_000);
  });

  it("rounds half a nano-dollar up", () => {
    expect(clientCostNano(333, 50)).toBe(500); // 499.5
    expect(clientCostNano(1, 20)).toBe(1); // 1.2
  });
});

describe("the charge for a completed job", () => {
  it("is one credit in job_based mode, whatever the job cost or used", () => {
    expect(completionCharge(jobBased, 0, 0)).toBe(1);
    expect(completionCharge(jobBased, usdToNano(250), 5_000_000)).toBe(1);
  });

  it("is floor(client cost × credits per dollar) in consumption_usd mode", () => {
    expect(completionCharge(perDollar(10), usdToNano(0.35), 0)).toBe(3);
    expect(completionCharge(perDollar(10), usdToNano(0.2999), 0)).toBe(2);
    expect(completionCharge(perDollar(1_000_000), usdToNano(0.000045), 0)).toBe(45);
  });

  it("charges exactly 3 credits for $0.30 at 10 credits per dollar (not 2.9999…)", () => {
    expect(completionCharge(perDollar(10), usdToNano(0.1 + 0.2), 0)).toBe(3);
  });

  it("does not lose a credit to float noise with a fractional rate ($25 at 1.16 a dollar is 29)", () => {
    // 2.5e10 × 1.16 / 1e9 is 28.999999999999996 in floating point.
    expect(completionCharge(perDollar(1.16), usdToNano(25), 0)).toBe(29);
  });

  it("never charges less than one credit in consumption_usd mode", () => {
    expect(completionCharge(perDollar(10), 0, 0)).toBe(1);
    expect(completionCharge(perDollar(10), usdToNano(0.05), 0)).toBe(1);
    expect(completionCharge(perDollar(10), usdToNano(0.1), 0)).toBe(1); // exactly one credit
    expect(completionCharge(perDollar(10), usdToNano(0.2), 0)).toBe(2);
  });

  it("is floor(tokens / tokens per credit), at least one, in consumption_tokens mode", () => {
    expect(completionCharge(perTokens(10_000), 0, 0)).toBe(1);
    expect(completionCharge(perTokens(10_000), 0, 9_999)).toBe(1);
    expect(completionCharge(perTokens(10_000), 0, 10_000)).toBe(1);
    expect(completionCharge(perTokens(10_000), 0, 19_999)).toBe(1);
    expect(completionCharge(perTokens(10_000), 0, 20_000)).toBe(2);
  });

  it("ignores the cost in token mode and the tokens in dollar mode", () => {
    expect(completionCharge(perTokens(10_000), usdToNano(100), 30_000)).toBe(3);
    expect(completionCharge(perDollar(10), usdToNano(0.5), 10_000_000)).toBe(5);
  });

  it("stays exact for huge jobs", () => {
    expect(completionCharge(perDollar(10), usdToNano(1_000_000), 0)).toBe(10_000_000);
    expect(completionCharge(perTokens(1), 0, 1_000_000_000_000)).toBe(1_000_000_000_000);
  });
});

describe("credits consumed by an open job", () => {
  it("is nothing in job_based mode (the job holds its reservation)", () => {
    expect(consumedCredits(jobBased, usdToNano(9), 90_000)).toBe(0);
  });

  it("is a fraction, not rounded, in the consumption modes", () => {
    expect(consumedCredits(perDollar(10), usdToNano(0.15), 0)).toBe(1.5);
    expect(consumedCredits(perTokens(10_000), 0, 15_000)).toBe(1.5);
  });
});

describe("what an open job holds against the balance, in micro-credits", () => {
  it("is the one-credit reservation while the job has consumed less", () => {
    expect(jobHoldMicro(perDollar(10), 1, usdToNano(0.05), 0)).toBe(1_000_000);
    expect(jobHoldMicro(perTokens(10_000), 1, 0, 0)).toBe(MICRO_PER_CREDIT);
  });

  it("is the reservation when consumption is exactly one credit", () => {
    expect(jobHoldMicro(perDollar(10), 1, usdToNano(0.1), 0)).toBe(1_000_000);
    expect(jobHoldMicro(perTokens(10_000), 1, 0, 10_000)).toBe(1_000_000);
  });

  it("grows with consumption beyond the reservation, to the micro-credit", () => {
    expect(jobHoldMicro(perDollar(10), 1, usdToNano(0.15), 0)).toBe(1_500_000);
    expect(jobHoldMicro(perTokens(10_000), 1, 0, 10_001)).toBe(1_000_100);
    expect(jobHoldMicro(perTokens(3), 1, 0, 4)).toBe(1_333_333);
  });

  it("stays at the reservation in job_based mode however much the job used", () => {
    expect(jobHoldMicro(jobBased, 1, usdToNano(500), 10_000_000)).toBe(1_000_000);
  });

  it("rounds a fraction of a micro-credit to the nearest whole one, so holds add and subtract exactly", () => {
    expect(jobHoldMicro(perTokens(3), 0, 0, 1)).toBe(333_333);
    expect(jobHoldMicro(perTokens(3), 0, 0, 2)).toBe(666_667);
  });
});
