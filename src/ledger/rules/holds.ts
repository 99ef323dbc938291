import type { TokenPrice } from "../../db/price-cache";
import { type BudgetSettings, clientCostNano, MICRO_PER_CREDIT, NANO_PER_USD } from "./money";

// Per-call holds, the way a card network authorizes: before a call goes upstream the team's
// object holds its worst-case cost (prompt + max_tokens at the group's dearest prices); when
// the call is recorded the actual cost is captured into its job and the rest released. Pure
// rules here; the rows are in hold-store.ts, placing and capturing them in call-holds.ts.

/** The max_tokens the gateway sets on a call that has none, at most (when the credits allow more). */
export const DEFAULT_MAX_TOKENS = 4096;

/** A group's price for its hold: the dearest input and output price among its models, or null when one has none. */
export function dearestPrice(prices: Array<TokenPrice | null>): TokenPrice | null {
  if (prices.some((p) => p === null)) return null;
  return {
    inputPerMillionUsd: Math.max(...prices.map((p) => p!.inputPerMillionUsd)),
    outputPerMillionUsd: Math.max(...prices.map((p) => p!.outputPerMillionUsd)),
  };
}

/** What the Worker tells the object about a call it wants admitted. */
export interface CallBudget {
  callId: string;
  /** Prompt tokens, estimated from the request (4 characters a token). */
  promptTokens: number;
  /** The client's max_tokens (or max_completion_tokens), or null: the object then chooses one. */
  maxTokens: number | null;
}

/** What a call's worst case costs in micro-credits and client nano-dollars (rounded up: a hold never falls short). */
export function worstCase(settings: BudgetSettings, price: TokenPrice | null, promptTokens: number, maxTokens: number) {
  if (settings.budgetMode === "consumption_tokens") {
    return { holdMicro: Math.ceil(((promptTokens + maxTokens) * MICRO_PER_CREDIT) / settings.tokensPerCredit), capNano: null };
  }
  if (price === null) return null;
  // Prices per million tokens are nano-dollars per thousandth of a token: × 1000 gives nano per token.
  const providerNano = Math.ceil(promptTokens * price.inputPerMillionUsd * 1000 + maxTokens * price.outputPerMillionUsd * 1000);
  const capNano = clientCostNano(providerNano, settings.costMarkupPercentage);
  return { holdMicro: Math.ceil((capNano * settings.creditsPerDollar * MICRO_PER_CREDIT) / NANO_PER_USD), capNano };
}

/**
 * The largest max_tokens (up to DEFAULT_MAX_TOKENS) whose worst case fits `roomMicro`, or 0 when
 * not even the prompt fits. Found by bisection on `worstCase`, so it agrees with it exactly.
 */
export function affordableMaxTokens(settings: BudgetSettings, price: TokenPrice | null, promptTokens: number, roomMicro: number): number {
  const fits = (n: number) => (worstCase(settings, price, promptTokens, n)?.holdMicro ?? Number.POSITIVE_INFINITY) <= roomMicro;
  if (!fits(1)) return 0;
  let low = 1;
  let high = DEFAULT_MAX_TOKENS;
  if (fits(high)) return high;
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (fits(mid)) low = mid;
    else high = mid;
  }
  return low;
}

/** What a job exposes to the team's balance: its reservation, or what it consumed plus what its calls hold, if more. */
export function jobExposureMicro(reserved: number, consumedMicro: number, callsHoldMicro: number): number {
  return Math.max(reserved * MICRO_PER_CREDIT, consumedMicro + callsHoldMicro);
}

/** Credits shown for micro-credits held: rounded up, so a hold never looks smaller than it is. */
export function creditsHeld(holdMicro: number): number {
  return Math.ceil(holdMicro / MICRO_PER_CREDIT);
}
