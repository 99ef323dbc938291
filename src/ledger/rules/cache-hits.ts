import type { GroupCache } from "../../db/access-records";
import type { BudgetSettings } from "../types";
import { clientCostNano, consumedCredits, MICRO_PER_CREDIT } from "./money";

export type { GroupCache };

// A model group's response cache, as the team's object knows it, and what an answer served from
// it costs: a hit is a call of its job with the original's tokens, no provider cost, and a client
// cost of `hitPricePercent` of what the original costs this team. Pure: no storage, no clock.

/** The scope an account's entries of a group live in. */
export function cacheScopeId(cache: GroupCache, acct: { team_id: string; organization_id: string }): string {
  return cache.scope === "team" ? `team:${acct.team_id}` : `organization:${acct.organization_id}`;
}

/** What a hit is priced from: the stored answer's tokens, what it cost upstream (null: unpriced), and the group's hit price. */
export interface CacheHit {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  originalProviderCostNano: number | null;
  hitPricePercent: number;
}

/** What a hit costs a team, and what it saved. */
export interface HitPrice {
  /** The hit's client cost: hitPricePercent of the original's client cost for this team. */
  clientNano: number;
  /** Tokens the hit is billed for in consumption_tokens (hitPricePercent of its tokens). */
  billedTokens: number;
  /** The client cost the hit saved against the original's. */
  savedNano: number;
  /** The provider cost it saved (the original's): admins only. */
  savedProviderNano: number;
  /** What the hit consumes, in micro-credits: its hold under `overdraft: none`, and what that hold captures. */
  consumedMicro: number;
}

const percentOf = (value: number, percent: number) => Math.round((value * percent) / 100);

export function hitPriceOf(settings: BudgetSettings, hit: CacheHit): HitPrice {
  const original = hit.originalProviderCostNano === null ? 0 : clientCostNano(hit.originalProviderCostNano, settings.costMarkupPercentage);
  const clientNano = percentOf(original, hit.hitPricePercent);
  const billedTokens = percentOf(hit.totalTokens, hit.hitPricePercent);
  return {
    clientNano,
    billedTokens,
    savedNano: original - clientNano,
    savedProviderNano: hit.originalProviderCostNano ?? 0,
    consumedMicro: Math.ceil(consumedCredits(settings, clientNano, billedTokens) * MICRO_PER_CREDIT),
  };
}
