import type { PriceLookup } from "../db/price-cache";
import { usdToNano } from "../ledger/rules/money";

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

export interface ProviderCost {
  nano: number | null;
  source: "litellm" | "pricing_table" | "unpriced";
}

/**
 * Provider cost of a call: what LiteLLM reported (`x-litellm-response-cost`, or `usage.cost` in a
 * stream) when it did, else tokens × the pricing table (cached up to a minute), else unpriced (0, flagged). Never throws.
 */
export async function providerCost(
  prices: PriceLookup,
  model: string | null,
  usage: Usage,
  reportedUsd: number | null,
): Promise<ProviderCost> {
  if (reportedUsd !== null && Number.isFinite(reportedUsd) && reportedUsd >= 0) {
    return { nano: usdToNano(reportedUsd), source: "litellm" };
  }
  if (model !== null) {
    // The call happened whatever D1 says: a failed lookup leaves it unpriced, never unrecorded.
    // Read through the isolate's price cache (db/price-cache.ts): at most once a minute per model.
    const price = await prices(model).catch(() => null);
    if (price) {
      const usd = (usage.promptTokens * price.inputPerMillionUsd + usage.completionTokens * price.outputPerMillionUsd) / 1_000_000;
      return { nano: usdToNano(usd), source: "pricing_table" };
    }
  }
  return { nano: null, source: "unpriced" };
}

/** The cost LiteLLM put in its response header; absent means unknown (it omits a zero cost). */
export function reportedCostHeader(headers: Headers): number | null {
  const value = headers.get("x-litellm-response-cost");
  if (value === null || value.trim() === "") return null;
  const usd = Number.parseFloat(value);
  return Number.isFinite(usd) && usd >= 0 ? usd : null;
}

/** Non-negative integer token counts from an OpenAI `usage` object, or null when it is missing. */
export function parseUsage(raw: unknown): Usage | null {
  if (!raw || typeof raw !== "object") return null;
  const u = raw as Record<string, unknown>;
  const count = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? Math.round(v) : null);
  const prompt = count(u.prompt_tokens);
  const completion = count(u.completion_tokens);
  if (prompt === null && completion === null) return null;
  const promptTokens = prompt ?? 0;
  const completionTokens = completion ?? 0;
  return { promptTokens, completionTokens, totalTokens: count(u.total_tokens) ?? promptTokens + completionTokens };
}

/** A rough token count (4 characters a token), for when the upstream reported none. */
export function estimateTokens(text: string): number {
  return tokensForChars(text.length);
}

/** The same estimate from a character count, for text that was counted rather than kept. */
export function tokensForChars(chars: number): number {
  return Math.ceil(chars / 4);
}
