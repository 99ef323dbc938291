import { describe, expect, it } from "vitest";
import { answerKey, cachePolicyOf, canonicalJson, questionOf } from "../../src/calls/cache/answer-key";
import { cacheHeaders } from "../../src/calls/cache/answer-store";
import { jobChat } from "../../src/calls/dialects/job-chat";
import { openAIChat } from "../../src/calls/dialects/openai-chat";
import { openAIEmbeddings } from "../../src/calls/dialects/openai-embeddings";
import { cacheScopeId, hitPriceOf } from "../../src/ledger/rules/cache-hits";
import type { BudgetSettings } from "../../src/ledger/types";

// The response cache's pure parts: what a request asks (its key), how Cache-Control is read, and
// what a hit costs.

const usd: BudgetSettings = { budgetMode: "consumption_usd", creditsPerDollar: 10, tokensPerCredit: 1000, costMarkupPercentage: 20 };

describe("the key of a cached answer", () => {
  it("canonical JSON sorts every object's keys and keeps arrays in order", () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null } })).toBe('{"a":{"c":null,"d":[2,1]},"b":1}');
    expect(canonicalJson({ a: { c: 1, d: 2 } })).toBe(canonicalJson({ a: { d: 2, c: 1 } }));
  });

  it("a request's question leaves out who asks, how it is delivered and what is not forwarded", () => {
    const messages = [{ role: "user" as const, content: "hi" }];
    const asked = questionOf(
      openAIChat,
      openAIChat.parse({ model: "g", messages, temperature: 0, stream: true, stream_options: { include_usage: true }, user: "u-1" }),
    );
    expect(asked).toEqual({ messages, temperature: 0 });
    // The job API's purpose and group name are not parameters of the answer either.
    expect(questionOf(jobChat, jobChat.parse({ model_group: "g", purpose: "p", messages, temperature: 0 }))).toEqual(asked);
    expect(questionOf(openAIEmbeddings, openAIEmbeddings.parse({ model: "e", input: ["a"] }))).toEqual({ input: ["a"] });
  });

  it("differs by scope, group, models, endpoint and question; equal inputs give equal keys", async () => {
    const question = { messages: [{ role: "user", content: "hi" }] };
    const key = (scopeId: string, models = ["m1"], path = "/chat/completions", q: object = question, name = "g") =>
      answerKey({ scopeId }, { name, models }, path, q as Record<string, unknown>);
    const base = await key("team:a");
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(await key("team:a")).toBe(base);
    expect(await key("team:b")).not.toBe(base);
    expect(await key("organization:a")).not.toBe(base);
    expect(await key("team:a", ["m1", "m2"])).not.toBe(base);
    expect(await key("team:a", ["m1"], "/embeddings")).not.toBe(base);
    expect(await key("team:a", ["m1"], "/chat/completions", { messages: [{ role: "user", content: "ho" }] })).not.toBe(base);
    expect(await key("team:a", ["m1"], "/chat/completions", question, "h")).not.toBe(base);
  });

  it("a team's scope and an organization's never share an id, even under the same name", () => {
    const acct = { team_id: "same", organization_id: "same" };
    expect(cacheScopeId({ ttlSeconds: 1, scope: "team", hitPricePercent: 0 }, acct)).toBe("team:same");
    expect(cacheScopeId({ ttlSeconds: 1, scope: "organization", hitPricePercent: 0 }, acct)).toBe("organization:same");
  });
});

describe("Cache-Control on a request", () => {
  it("no-store bypasses reading and writing, no-cache refreshes, anything else looks up", () => {
    expect(cachePolicyOf(undefined)).toBe("use");
    expect(cachePolicyOf("max-age=60")).toBe("use");
    expect(cachePolicyOf("no-cache")).toBe("refresh");
    expect(cachePolicyOf("No-Cache, max-age=0")).toBe("refresh");
    expect(cachePolicyOf("no-store")).toBe("bypass");
    expect(cachePolicyOf("no-cache, no-store")).toBe("bypass");
  });

  it("the answer says HIT with its age, MISS or BYPASS, and nothing for a group without a cache", () => {
    const answer = { storedAtMs: 1_000 } as never;
    expect(cacheHeaders(null)).toEqual({});
    expect(cacheHeaders({ status: "MISS", hit: null, keepAt: null })).toEqual({ "x-gateway-cache": "MISS" });
    const hit = {
      answer,
      price: { promptTokens: 0, completionTokens: 0, totalTokens: 0, originalProviderCostNano: 0, hitPricePercent: 0 },
    };
    expect(cacheHeaders({ status: "HIT", hit, keepAt: null }, 62_500)).toEqual({ "x-gateway-cache": "HIT", age: "61" });
  });
});

describe("what a hit costs", () => {
  const hit = { promptTokens: 100, completionTokens: 50, totalTokens: 150, originalProviderCostNano: 1_000_000, hitPricePercent: 25 };

  it("hit_price_percent of the original's client cost for this team (its markup), and the rest saved", () => {
    // The original costs this team 1,000,000 × 1.2 = 1,200,000 nano-dollars.
    expect(hitPriceOf(usd, hit)).toEqual({
      clientNano: 300_000,
      billedTokens: 38,
      savedNano: 900_000,
      savedProviderNano: 1_000_000,
      consumedMicro: 3_000,
    });
  });

  it("free at 0 %, the full price at 100 %", () => {
    expect(hitPriceOf(usd, { ...hit, hitPricePercent: 0 })).toMatchObject({ clientNano: 0, consumedMicro: 0, savedNano: 1_200_000 });
    expect(hitPriceOf(usd, { ...hit, hitPricePercent: 100 })).toMatchObject({ clientNano: 1_200_000, savedNano: 0 });
  });

  it("consumption_tokens bills hit_price_percent of the tokens; job_based consumes nothing per call", () => {
    expect(hitPriceOf({ ...usd, budgetMode: "consumption_tokens" }, hit)).toMatchObject({ billedTokens: 38, consumedMicro: 38_000 });
    expect(hitPriceOf({ ...usd, budgetMode: "job_based" }, hit).consumedMicro).toBe(0);
  });

  it("an unpriced original makes a free hit", () => {
    expect(hitPriceOf(usd, { ...hit, originalProviderCostNano: null })).toMatchObject({
      clientNano: 0,
      savedNano: 0,
      savedProviderNano: 0,
    });
  });
});
