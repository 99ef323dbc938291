import type { Repository } from "./repository";

// The pricing table, kept in isolate memory for PRICE_CACHE_MS: read by the team's object for a
// call's hold (the dearest input and output price among a group's models) and by the Worker to
// price a call LiteLLM reported no cost for. A warm call reads nothing from D1; a price change
// reaches other isolates (a team's object may run in one) within that time, and the isolate
// that took the PUT or DELETE /api/pricing forgets at once.

export const PRICE_CACHE_MS = 60_000;

/** USD per million tokens; for a group, the dearest input and output price among its models. */
export interface TokenPrice {
  inputPerMillionUsd: number;
  outputPerMillionUsd: number;
}

/** A model's price (null: not in the pricing table). Throws when the table cannot be read. */
export type PriceLookup = (model: string) => Promise<TokenPrice | null>;

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

/** The price lookup of the pricing table in `repo`, through this isolate's cache. */
export function cachedPrices(repo: Repository): PriceLookup {
  return (model) => priceOf(repo, model, Date.now());
}

/** Forgets cached prices (the pricing table changed in this isolate). */
export function forgetPrices(): void {
  cache.clear();
}
