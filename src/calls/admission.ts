import type { StoredAnswer } from "../cache/stored-answer";
import { onLedger } from "../ledger/client";
import type { CallBudget } from "../ledger/rules/holds";
import { type CacheLookup, type CallAdmission, isCacheLookup } from "../ledger/types";
import { answerKey, questionOf } from "./cache/answer-key";
import { findAnswer } from "./cache/answer-store";
import type { AdmittedCall, CallCache, CallContext } from "./call-context";
import type { CallRequest, Dialect } from "./dialect";
import { callTimeLimits } from "./upstream/deadline";
import { upstreamConfig } from "./upstream/litellm-client";

// Admission, the pipeline's first step: the team's object checks the key, the model group (403
// when not the team's; it answers with the group's models) and the job in one round trip, and
// holds the call's worst case (ledger/changes/call-holds.ts). A one-request job is opened and
// its call admitted in the same round trip (http/flows/one-request-job.ts).
//
// A group with a response cache takes one more trip: the object first checks the key and the
// group and answers where to look (nothing held yet); the Worker looks, then asks again with the
// hit's price or the worst case. So a key that may not use the group never reaches the cache,
// and a hit never needs a hold it would not use.

/**
 * What the team's object needs to hold a call's worst case: its id (made here, before admission),
 * the dialect's estimate of it (worst-case.ts), and its time limits (by when its record must
 * come). The object prices it with its group's dearest models.
 */
export function callBudgetOf<R extends CallRequest>(ctx: CallContext, dialect: Dialect<never, R>, request: R, stream: boolean): CallBudget {
  const limits = callTimeLimits(upstreamConfig(ctx.env), stream);
  return { callId: crypto.randomUUID(), ...dialect.estimate(request), limits, stream, labels: request.labels };
}

/** One admission round trip: the call admitted, or (a group with a cache, when asked to look first) where to look. */
export type AdmitStep = (budget: CallBudget) => Promise<CallAdmission | CacheLookup>;

/** A call admitted (possibly answered from the response cache), before the AdmittedCall is made of it. */
export interface Admitted {
  callId: string;
  admission: CallAdmission;
  cache: CallCache | null;
}

export function admittedCall(teamId: string, jobId: string, request: CallRequest, admitted: Admitted): AdmittedCall {
  const { callId, admission, cache } = admitted;
  // The call is for its job's end user (the object refused a call naming another).
  const labels = { tags: request.labels.tags, endUser: admission.endUser };
  const { modelGroup, purpose } = request;
  return { teamId, jobId, callId, modelGroup, models: admission.models, purpose, labels, admission, cache };
}

/**
 * Admits a call through `admit`, looking in its group's response cache first when the group has
 * one and the request allows it: a hit is admitted at the hit's price, a miss with its worst case.
 * Refusals are thrown by `admit` (LedgerRefusal).
 */
export async function admitThroughCache<R extends CallRequest>(
  ctx: CallContext,
  dialect: Dialect<never, R>,
  request: R,
  stream: boolean,
  admit: AdmitStep,
): Promise<Admitted> {
  const budget: CallBudget = { ...callBudgetOf(ctx, dialect, request, stream), lookUpFirst: ctx.cachePolicy === "use" };
  const question = () => questionOf(dialect, request);
  const first = await admit(budget);
  if (!isCacheLookup(first))
    return { callId: budget.callId, admission: first, cache: await callCacheOf(ctx, dialect, request, first, question) };

  const { lookUp } = first;
  const key = await answerKey(lookUp, { name: request.modelGroup, models: lookUp.models }, dialect.upstreamPath, question());
  const found = await findAnswer(ctx.env, lookUp.scopeId, key, stream ? "sse" : "json");
  const hit = found && { answer: found, price: hitOf(found, lookUp.hitPricePercent) };
  const admission = await admit({ ...budget, lookUpFirst: false, ...(hit ? { hit: hit.price } : {}) });
  if (isCacheLookup(admission)) throw new Error("the team's object answered a second cache lookup");
  const cache = hit ? { status: "HIT" as const, hit, keepAt: null } : await callCacheOf(ctx, dialect, request, admission, question);
  return { callId: budget.callId, admission, cache };
}

/** What a hit on `answer` is priced from. */
function hitOf(answer: StoredAnswer, hitPricePercent: number) {
  const { promptTokens, completionTokens, totalTokens, providerCostNano } = answer;
  return { promptTokens, completionTokens, totalTokens, originalProviderCostNano: providerCostNano, hitPricePercent };
}

/** How an admitted call that is not a hit meets its group's cache: none; bypassed (no-store); refreshed (no-cache) or missed, its answer kept. */
async function callCacheOf<R extends CallRequest>(
  ctx: CallContext,
  dialect: Dialect<never, R>,
  request: R,
  admission: CallAdmission,
  question: () => Record<string, unknown>,
): Promise<CallCache | null> {
  const setting = admission.cache;
  if (!setting) return null;
  if (ctx.cachePolicy === "bypass") return { status: "BYPASS", hit: null, keepAt: null };
  const status = ctx.cachePolicy === "refresh" ? "BYPASS" : "MISS";
  const key = await answerKey(setting, { name: request.modelGroup, models: admission.models }, dialect.upstreamPath, question());
  const keepAt = { scopeId: setting.scopeId, key, ttlSeconds: setting.ttlSeconds, cappedAt: admission.budgetMaxTokens };
  return { status, hit: null, keepAt };
}

/** A call in an open job of the team, admitted by its object (which may refuse: thrown as a LedgerRefusal). */
export async function admitCall<R extends CallRequest>(
  ctx: CallContext,
  dialect: Dialect<never, R>,
  request: R,
  jobId: string,
  stream: boolean,
): Promise<AdmittedCall> {
  const admitted = await admitThroughCache(ctx, dialect, request, stream, (budget) =>
    onLedger(ctx.env, ctx.teamId, "beginCall", ctx.caller, jobId, request.modelGroup, "team", budget),
  );
  return admittedCall(ctx.teamId, jobId, request, admitted);
}
