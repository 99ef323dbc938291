import type { Repository } from "../db/repository";
import type { TokenPrice } from "../ledger/holds";

// The pricing table as a call's hold needs it: the dearest input and output price among a
// group's models. Kept in isolate memory for PRICE_CACHE_MS, so a warm call reads nothing from
// D1; a price change reaches other isolates within that time (this isolate forgets at once).

export const PRICE_CACHE_MS = 60_000;

const cache = new Map<string, { price: TokenPrice | null; readAtMs: number }>();

async function priceOf(repo: Repository, model: string, nowMs: number): Promise<TokenPrice | null> {
  const cached = cache.get(model);
  if (cached && nowMs - cached.readAtMs < PRICE_CACHE_MS) return cached.price;
  // A failing D1 throws (503): a call is never held at a price that could not be read.
  const row = await repo.getPricing(model);
  const price = row ? { inputPerMillionUsd: row.inputPerMillionUsd, outputPerMillionUsd: row.outputPerMillionUsd } : null;
  cache.set(model, { price, readAtMs: nowMs });
  return price;
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
