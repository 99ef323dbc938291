import type { TokenPrice } from "../../db/price-cache";
import type { BudgetSettings } from "../types";
import type { CacheHit } from "./cache-hits";
import { clientCostNano, MICRO_PER_CREDIT, NANO_PER_USD } from "./money";

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

/** How long a call may take: each model's try, and how long a stream may run once it opened (0 for a plain call). */
export interface CallTimeLimits {
  attemptMs: number;
  answerMs: number;
}

/** What the Worker tells the object about a call it wants admitted: its worst case (llm/worst-case.ts) and its time limits. */
export interface CallBudget {
  callId: string;
  /** Prompt tokens, estimated from every prompt-side field of the request. */
  promptTokens: number;
  /** The client's max_tokens (or max_completion_tokens) per choice; null: the object then chooses one; 0: nothing is completed (embeddings). */
  maxTokens: number | null;
  /** Choices asked for (`n`, 1 unless more): the completion may be `choices × maxTokens`. */
  choices: number;
  /** The least max_tokens the call's API accepts (the Responses API: 16); a choice below it refuses the call. Absent: 1. */
  minMaxTokens?: number;
  /** The call's time limits, from which its hold's deadline follows (holdDeadlineMs). */
  limits: CallTimeLimits;
  /** Whether it is streamed (kept for the record of a call that never reports). */
  stream: boolean;
  /**
   * The Worker will look in the group's response cache before the call is admitted: for a group
   * with one, the object then answers where to look (a CacheLookup) and admits nothing yet.
   */
  lookUpFirst?: boolean;
  /** The call is answered from the response cache: it holds the hit's price (cache-hits.ts), not a worst case. */
  hit?: CacheHit;
  /** Its tags and own end user (kept for the record of a call that never reports). */
  labels?: { tags: string[]; endUser: string | null };
}

/**
 * What a call's record may take beyond its time limits: the record's own retries, the price
 * lookup and the trip to the object, with room to spare. A hold unrecorded past its deadline
 * (holdDeadlineMs) is settled by the object's alarm.
 */
export const HOLD_MARGIN_MS = 60_000;

/**
 * When a call admitted at `admittedAtMs` must have been recorded: every model of its group tried
 * to its deadline, a stream run to its longest, and the margin.
 */
export function holdDeadlineMs(admittedAtMs: number, models: number, limits: CallTimeLimits): number {
  return admittedAtMs + Math.max(1, models) * limits.attemptMs + limits.answerMs + HOLD_MARGIN_MS;
}

/** The tokens a call may use at most: its prompt and every choice's completion. */
export function heldTokens(hold: { prompt_tokens: number; max_tokens: number; choices: number }): number {
  return hold.prompt_tokens + hold.max_tokens * hold.choices;
}

/**
 * What a call's worst case costs, in micro-credits, client nano-dollars and provider nano-dollars
 * (rounded up: a hold never falls short). `completionTokens` is every choice's max_tokens together.
 */
export function worstCase(settings: BudgetSettings, price: TokenPrice | null, promptTokens: number, completionTokens: number) {
  if (settings.budgetMode === "consumption_tokens") {
    const holdMicro = Math.ceil(((promptTokens + completionTokens) * MICRO_PER_CREDIT) / settings.tokensPerCredit);
    return { holdMicro, capNano: null, providerNano: null };
  }
  if (price === null) return null;
  // Prices per million tokens are nano-dollars per thousandth of a token: × 1000 gives nano per token.
  const providerNano = Math.ceil(promptTokens * price.inputPerMillionUsd * 1000 + completionTokens * price.outputPerMillionUsd * 1000);
  const capNano = clientCostNano(providerNano, settings.costMarkupPercentage);
  return { holdMicro: Math.ceil((capNano * settings.creditsPerDollar * MICRO_PER_CREDIT) / NANO_PER_USD), capNano, providerNano };
}

/**
 * The largest max_tokens per choice (up to DEFAULT_MAX_TOKENS) whose worst case, for `choices`
 * choices, fits `roomMicro`, or 0 when not even the prompt fits. Found by bisection on
 * `worstCase`, so it agrees with it exactly.
 */
export function affordableMaxTokens(
  settings: BudgetSettings,
  price: TokenPrice | null,
  promptTokens: number,
  roomMicro: number,
  choices = 1,
): number {
  const fits = (n: number) => (worstCase(settings, price, promptTokens, n * choices)?.holdMicro ?? Number.POSITIVE_INFINITY) <= roomMicro;
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
