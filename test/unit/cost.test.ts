import { beforeEach, describe, expect, it } from "vitest";
import { estimateTokens, parseUsage, providerCost, reportedCostHeader } from "../../src/calls/cost";
import { cachedPrices, forgetPrices, PRICE_CACHE_MS } from "../../src/db/price-cache";
import type { PricingRow, Repository } from "../../src/db/repository";

/** A repository that knows only the prices given, and records which models were looked up. */
function pricingRepository(prices: Record<string, { input: number; output: number }>) {
  const lookups: string[] = [];
  const repo = {
    pricing: {
      async get(model: string): Promise<PricingRow | undefined> {
        lookups.push(model);
        const price = prices[model];
        if (!price) return undefined;
        return { modelName: model, inputPerMillionUsd: price.input, outputPerMillionUsd: price.output } as PricingRow;
      },
    },
  };
  return { repo: repo as unknown as Repository, lookups };
}

const brokenRepository = {
  pricing: { get: () => Promise.reject(new Error("D1 is down")) },
} as unknown as Repository;

const usage = { promptTokens: 1_000, completionTokens: 500, totalTokens: 1_500 };

describe("the provider cost of a call", () => {
  // Prices are cached per isolate (prices.ts): each test starts with none, as a fresh isolate would.
  beforeEach(() => forgetPrices());

  it("is what LiteLLM reported, without looking at the pricing table", async () => {
    const { repo, lookups } = pricingRepository({ "gpt-4o-mini": { input: 100, output: 100 } });
    expect(await providerCost(cachedPrices(repo), "gpt-4o-mini", usage, 0.00012)).toEqual({ nano: 120_000, source: "litellm" });
    expect(lookups).toEqual([]);
  });

  it("is zero when LiteLLM reported zero", async () => {
    const { repo } = pricingRepository({});
    expect(await providerCost(cachedPrices(repo), "gpt-4o-mini", usage, 0)).toEqual({ nano: 0, source: "litellm" });
  });

  it("comes from the pricing table (USD per million tokens) when LiteLLM reported nothing", async () => {
    const { repo, lookups } = pricingRepository({ "gpt-4o-mini": { input: 0.15, output: 0.6 } });
    // 1000 × $0.15/M + 500 × $0.60/M = $0.00045
    expect(await providerCost(cachedPrices(repo), "gpt-4o-mini", usage, null)).toEqual({ nano: 450_000, source: "pricing_table" });
    expect(lookups).toEqual(["gpt-4o-mini"]);
  });

  it("ignores a negative or non-finite reported cost and prices the tokens instead", async () => {
    const { repo } = pricingRepository({ "gpt-4": { input: 30, output: 60 } });
    const expected = { nano: 60_000_000, source: "pricing_table" }; // $0.03 + $0.03
    expect(await providerCost(cachedPrices(repo), "gpt-4", usage, -0.5)).toEqual(expected);
    expect(await providerCost(cachedPrices(repo), "gpt-4", usage, Number.NaN)).toEqual(expected);
    expect(await providerCost(cachedPrices(repo), "gpt-4", usage, Number.POSITIVE_INFINITY)).toEqual(expected);
  });

  it("is unpriced when the model has no price", async () => {
    const { repo } = pricingRepository({ "gpt-4": { input: 30, output: 60 } });
    expect(await providerCost(cachedPrices(repo), "my-private-model", usage, null)).toEqual({ nano: null, source: "unpriced" });
  });

  it("reads a model's price from D1 once, then from the isolate's cache (for PRICE_CACHE_MS)", async () => {
    const { repo, lookups } = pricingRepository({ "gpt-4o-mini": { input: 0.15, output: 0.6 } });
    const first = await providerCost(cachedPrices(repo), "gpt-4o-mini", usage, null);
    expect(await providerCost(cachedPrices(repo), "gpt-4o-mini", usage, null)).toEqual(first);
    expect(lookups).toEqual(["gpt-4o-mini"]);
    expect(PRICE_CACHE_MS).toBe(60_000);
    forgetPrices();
    await providerCost(cachedPrices(repo), "gpt-4o-mini", usage, null);
    expect(lookups).toEqual(["gpt-4o-mini", "gpt-4o-mini"]);
  });

  it("is unpriced when no model answered, without a lookup", async () => {
    const { repo, lookups } = pricingRepository({});
    expect(await providerCost(cachedPrices(repo), null, usage, null)).toEqual({ nano: null, source: "unpriced" });
    expect(lookups).toEqual([]);
  });

  it("is unpriced, not an error, when the pricing lookup fails", async () => {
    expect(await providerCost(cachedPrices(brokenRepository), "gpt-4o-mini", usage, null)).toEqual({ nano: null, source: "unpriced" });
  });
});

describe("the x-litellm-response-cost header", () => {
  const cost = (value?: string) => reportedCostHeader(new Headers(value === undefined ? {} : { "x-litellm-response-cost": value }));

  it("reads LiteLLM's Python float formatting", () => {
    expect(cost("0.00012")).toBe(0.00012);
    expect(cost("1.5e-05")).toBe(0.000015);
    expect(cost("0")).toBe(0);
  });

  it("is unknown when absent or blank (LiteLLM omits a zero cost)", () => {
    expect(cost()).toBeNull();
    expect(cost("")).toBeNull();
    expect(cost("   ")).toBeNull();
  });

  it("is unknown when it is not a non-negative finite number", () => {
    expect(cost("free")).toBeNull();
    expect(cost("-0.001")).toBeNull();
    expect(cost("inf")).toBeNull();
    expect(cost("Infinity")).toBeNull();
    expect(cost("nan")).toBeNull();
  });
});

describe("usage from an OpenAI response", () => {
  it("reads the token counts", () => {
    expect(parseUsage({ prompt_tokens: 12, completion_tokens: 30, total_tokens: 42 })).toEqual({
      promptTokens: 12,
      completionTokens: 30,
      totalTokens: 42,
    });
  });

  it("keeps the upstream's total when it differs from the sum", () => {
    expect(parseUsage({ prompt_tokens: 12, completion_tokens: 30, total_tokens: 50 })?.totalTokens).toBe(50);
  });

  it("sums the total when the upstream left it out", () => {
    expect(parseUsage({ prompt_tokens: 12, completion_tokens: 30 })?.totalTokens).toBe(42);
  });

  it("counts a missing side as zero when the other is there", () => {
    expect(parseUsage({ prompt_tokens: 12 })).toEqual({ promptTokens: 12, completionTokens: 0, totalTokens: 12 });
    expect(parseUsage({ completion_tokens: 7 })).toEqual({ promptTokens: 0, completionTokens: 7, totalTokens: 7 });
  });

  it("rounds fractional counts and ignores negative, non-finite or non-number counts", () => {
    expect(parseUsage({ prompt_tokens: 10.6, completion_tokens: 2.4 })).toEqual({ promptTokens: 11, completionTokens: 2, totalTokens: 13 });
    expect(parseUsage({ prompt_tokens: -5, completion_tokens: 3, total_tokens: -1 })).toEqual({
      promptTokens: 0,
      completionTokens: 3,
      totalTokens: 3,
    });
    expect(parseUsage({ prompt_tokens: "10", completion_tokens: Number.NaN })).toBeNull();
  });

  it("is missing when there is no usage object or no count in it", () => {
    expect(parseUsage(undefined)).toBeNull();
    expect(parseUsage(null)).toBeNull();
    expect(parseUsage("12 tokens")).toBeNull();
    expect(parseUsage({})).toBeNull();
    expect(parseUsage({ total_tokens: 42 })).toBeNull();
  });
});

describe("the token estimate when the upstream reported none", () => {
  it("counts one token per four characters, rounding up", () => {
    expect(estimateTokens("")).toBe(0);
    expect(estimateTokens("abcd")).toBe(1);
    expect(estimateTokens("abcde")).toBe(2);
    expect(estimateTokens("x".repeat(4_000))).toBe(1_000);
  });
});
