import type { TokenPrice } from "../ledger/rules/holds";
import type { Repository } from "./repository";

// The pricing table, kept in isolate memory for PRICE_CACHE_MS: read by the team's object for a
// call's hold (the dearest input and output price among a group's models) and by the Worker to
// price a call LiteLLM reported no cost for. A warm call reads nothing from D1; a price change
// reaches other isolates (a team's object may run in one) within that time, and the isolate
// that took the PUT or DELETE /api/pricing forgets at once.

export const PRICE_CACHE_MS = 60_000;

const cache = new Map<string, { price: TokenPrice | null; readAtMs: number }>();

async function priceOf(repo: Repository, model: string, nowMs: number): Promise<TokenPrice | null> {
  const cached = cache.get(model);
  if (cached && nowMs - cached.readAtMs < PRICE_CACHE_MS) return cached.price;
  // A failing D1 throws (503): a call is never held at a price that could not be read.
  const row = await repo.pricing.get(model);
  const price = row ? { inputPerMillionUsd: row.inputPerMillionUsd, outputPerMillionUsd: row.outputPerMillionUsd } : null;
  cache.set(model, { price, readAtMs: nowMs });
  return price;
}

/** One model's price (null: not in the table); a failing D1 throws. */
export function modelPrice(repo: Repository, model: string): Promise<TokenPrice | null> {
  return priceOf(repo, model, Date.now());
}

/** The dearest price per token kind among `models`, or null when one of them has no price. */
export async function groupPrice(repo: Repository, models: string[]): Promise<TokenPrice | null> {
  const nowMs = Date.now();
  const prices = await Promise.all(models.map((model) => priceOf(repo, model, nowMs)));
  if (prices.some((p) => p === null)) return null;
  return {
    inputPerMillionUsd: Math.max(...prices.map((p) => p!.inputPerMillionUsd)),
    outputPerMillionUsd: Math.max(...prices.map((p) => p!.outputPerMillionUsd)),
  };
}

/** Forgets cached prices (the pricing table changed in this isolate). */
export function forgetPrices(): void {
  cache.clear();
}
