import type { StoredAnswer } from "../cache/stored-answer";
import type { PriceLookup } from "../db/price-cache";
import type { Caller } from "../ledger/rules/access";
import type { CacheHit } from "../ledger/rules/cache-hits";
import type { CallAdmission } from "../ledger/types";
import type { CallLabels } from "./labels";

// What a call needs from the request it serves, in one value instead of positional arguments:
// the Worker's bindings, its background work, the client's connection, who asks, and how a model
// is priced (a narrow lookup: the calls never see the database).

/** The part of the Workers ExecutionContext a call needs: work that outlives the request. */
export interface BackgroundWork {
  waitUntil(promise: Promise<unknown>): void;
}

/**
 * Hands `promise` to `waitUntil` and returns it: the caller still awaits it, but a client that
 * leaves meanwhile no longer cancels it (a call's record must not die with its request).
 */
export function outliving<T>(work: BackgroundWork, promise: Promise<T>): Promise<T> {
  work.waitUntil(promise.catch(() => {}));
  return promise;
}

/** How a request meets its group's response cache (its Cache-Control): look up, refresh (no-cache), or neither (no-store). */
export type CachePolicy = "use" | "refresh" | "bypass";

export interface CallContext {
  /** The Worker's bindings: LiteLLM's address and key, the team objects, the end-of-stream wait. */
  env: Env;
  work: BackgroundWork;
  /** The client's connection: aborted when the client leaves. */
  signal?: AbortSignal;
  /** The team the key belongs to, and the key as its object checks it. */
  teamId: string;
  caller: Caller;
  /** A model's price, for a call LiteLLM reported no cost for. */
  prices: PriceLookup;
  /** What the request's Cache-Control lets its group's response cache do. */
  cachePolicy: CachePolicy;
}

/** How a call met its group's response cache (calls/cache/cached-admission.ts). */
export interface CallCache {
  /** The answer's `x-gateway-cache`: answered from the cache, from upstream after a lookup, or without one. */
  status: "HIT" | "MISS" | "BYPASS";
  /** The entry that answers the call, and what its hit is priced from (HIT only). */
  hit: { answer: StoredAnswer; price: CacheHit } | null;
  /** Where the call's complete answer is kept for later calls; null when it is not (a hit, or no-store). */
  keepAt: {
    scopeId: string;
    key: string;
    ttlSeconds: number;
    /**
     * The max_tokens the gateway chose for this team's credits (null: the client's own, or none):
     * an answer that used that many may have been cut short for this team, and is not kept.
     */
    cappedAt: number | null;
  } | null;
}

/** A call the team's object admitted: what the rest of the pipeline runs and records. */
export interface AdmittedCall {
  teamId: string;
  jobId: string;
  /** Made before admission: the object keys the call's hold by it, and records the call under it. */
  callId: string;
  modelGroup: string;
  /** The group's models, priority first, as the team's object holds them. */
  models: string[];
  purpose: string | null;
  /** The request's tags, and its job's end user. */
  labels: CallLabels;
  admission: CallAdmission;
  /** Null when the call's group has no response cache. */
  cache: CallCache | null;
}
