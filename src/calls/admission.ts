import type { StoredAnswer } from "../cache/stored-answer";
import { onLedger, type TeamAddress, tryLedger } from "../ledger/client";
import type { CallBudget } from "../ledger/rules/holds";
import { type CacheLookup, type CallAdmission, isCacheLookup } from "../ledger/types";
import { answerKey, questionOf } from "./cache/answer-key";
import { findAnswer } from "./cache/answer-store";
import type { AdmittedCall, CallCache, CallContext } from "./call-context";
import type { CallRequest, Dialect } from "./dialect";
import { type Admitting, admissionSight, type JobFacts } from "./speculation";
import { callTimeLimits } from "./upstream/deadline";
import { upstreamConfig } from "./upstream/litellm-client";

// Admission, the pipeline's first step: the team's object checks the key, the model group (403
// when not the team's; it answers with the group's models) and the job in one round trip, and
// holds the call's worst case (ledger/changes/call-holds.ts). A one-request job is opened and
// its call admitted in the same round trip (http/flows/one-request-job.ts). The round trip may
// run while the call is already on its way upstream, when this isolate expects it to succeed
// (speculation.ts); nothing reaches the client before it has (pipeline.ts: admitAndOpen).
//
// A group with a response cache takes one more trip: the object first checks the key and the
// group and answers where to look (nothing held yet); the Worker looks, then asks again with the
// hit's price or the worst case. So a key that may not use the group never reaches the cache,
// and a hit never needs a hold it would not use, nor an upstream request started early: a
// group with a cache is never expected (speculation.ts).

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

export function admittedCall(team: TeamAddress, jobId: string, request: CallRequest, admitted: Admitted): AdmittedCall {
  const { callId, admission, cache } = admitted;
  const { teamId, jurisdiction } = team;
  // The call is for its job's end user (the object refused a call naming another).
  const labels = { tags: request.labels.tags, endUser: admission.endUser };
  const { modelGroup, purpose } = request;
  return { teamId, jurisdiction, jobId, callId, modelGroup, models: admission.models, purpose, labels, admission, cache };
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
  budget: CallBudget,
  admit: AdmitStep,
): Promise<Admitted> {
  const stream = budget.stream;
  const question = () => questionOf(dialect, request);
  const first = await admit(budget);
  if (!isCacheLookup(first))
    return { callId: budget.callId, admission: first, cache: await callCacheOf(ctx, dialect, request, first, question) };

  const { lookUp } = first;
  const key = await answerKey(lookUp, { name: request.modelGroup, models: lookUp.models }, dialect.upstreamPath, question());
  const found = await findAnswer(ctx.env, ctx, lookUp.scopeId, key, stream ? "sse" : "json");
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

/** A call on its way to its admission: the round trip that asks, and the admission this isolate expects. */
export interface PendingAdmission {
  budget: CallBudget;
  /** The call as this isolate expects it admitted (speculation.ts), which may go upstream before the answer; null: admit first. */
  expected: AdmittedCall | null;
  /** Asks the team's object; throws its refusal. Either way, this isolate's sight of the team learns the answer. */
  admit(): Promise<AdmittedCall>;
}

/** One admission round trip as a flow makes it: the job the call is in with its admission, or (a group with a cache) where to look. */
export type AskAdmission = (budget: CallBudget) => Promise<{ jobId: string; admission: CallAdmission } | CacheLookup>;

/**
 * A call's admission as `ask` makes it (the team's object answers the job the call is in and the
 * admission, through the group's response cache when it has one), expected by this isolate when
 * it saw the key admitted recently. `job` is the job's attribution when the request opens the job
 * itself; `opensJob`: its reservation must fit too.
 */
export function pendingAdmission<R extends CallRequest>(
  ctx: CallContext,
  dialect: Dialect<never, R>,
  request: R,
  stream: boolean,
  target: { jobId: string; job?: JobFacts; opensJob?: boolean },
  ask: AskAdmission,
): PendingAdmission {
  const budget: CallBudget = { ...callBudgetOf(ctx, dialect, request, stream), lookUpFirst: ctx.cachePolicy === "use" };
  const seen: Admitting | null =
    ctx.caller.kind === "team"
      ? {
          teamId: ctx.teamId,
          keyHash: ctx.caller.keyHash,
          jobId: target.jobId,
          job: target.job,
          modelGroup: request.modelGroup,
          estimate: budget,
        }
      : null;
  const speculation = seen ? admissionSight.expect(seen, target.opensJob) : null;
  const expected = speculation && { callId: budget.callId, admission: speculation.admission, cache: null };
  return {
    budget,
    expected: expected && admittedCall(ctx, target.jobId, request, expected),
    async admit() {
      try {
        let jobId = target.jobId;
        const admitted = await admitThroughCache(ctx, dialect, request, budget, async (asked) => {
          const answer = await ask(asked);
          if (isCacheLookup(answer)) return answer;
          jobId = answer.jobId;
          return answer.admission;
        });
        if (seen) admissionSight.admitted({ ...seen, jobId }, admitted.admission);
        return admittedCall(ctx, jobId, request, admitted);
      } catch (refused) {
        if (seen) admissionSight.refused(seen.teamId);
        throw refused;
      } finally {
        if (speculation) admissionSight.settled(speculation);
      }
    },
  };
}

/** A call in an open job of the team, to be admitted by its object (which may refuse: thrown as a LedgerRefusal). */
export function admitCall<R extends CallRequest>(
  ctx: CallContext,
  dialect: Dialect<never, R>,
  request: R,
  jobId: string,
  stream: boolean,
): PendingAdmission {
  return pendingAdmission(ctx, dialect, request, stream, { jobId }, async (budget) => {
    const admission = await onLedger(ctx.env, ctx, "beginCall", ctx.caller, jobId, request.modelGroup, "team", budget);
    return isCacheLookup(admission) ? admission : { jobId, admission };
  });
}

/** Tells the team's object that a call sent upstream early was aborted (counted for admins); background work, never throws. */
export async function countSpeculativeAbort(ctx: CallContext): Promise<void> {
  try {
    await tryLedger(ctx.env, ctx, "countSpeculativeAbort");
  } catch {
    // Logged by tryLedger; only a counter is lost.
  }
}
