import type { Repository } from "../db/repository";
import { tryLedger } from "../ledger/client";
import type { CallAdmission, CallRecord, CallStatus } from "../ledger/types";
import { log } from "../log";
import { type ProviderCost, providerCost, tokensForChars, type Usage } from "./cost";
import type { Attempt } from "./litellm-client";
import { buildUpstreamBody, type ChatParameters } from "./upstream-request";
import { chatPromptTokens } from "./worst-case";

// One LLM call inside an admitted job, as the plain and the streamed call both see it: what it
// was asked, what the upstream is sent, and the record the team's ledger keeps of it.

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

export interface CallInput {
  teamId: string;
  jobId: string;
  /** Made before admission: the ledger keys the call's hold by it, and records the call under it. */
  callId: string;
  modelGroup: string;
  models: string[];
  params: ChatParameters;
  purpose: string | null;
  admission: CallAdmission;
}

/** The body sent to LiteLLM for a call (the model is set per attempt). */
export function upstreamBodyFor(input: CallInput, callId: string, stream: boolean): Record<string, unknown> {
  const attribution = {
    teamId: input.teamId,
    jobId: input.jobId,
    jobType: input.admission.jobType,
    purpose: input.purpose,
    endUser: input.admission.userId,
    callId,
  };
  return buildUpstreamBody(input.params, input.models[0] ?? "", attribution, stream);
}

export type CallRecordFields = Partial<CallRecord> & { status: CallStatus };

/** Builds a call's ledger record: nothing observed yet, then whatever the caller knows. */
export function callRecorder(input: CallInput, callId: string, started: number, stream: boolean) {
  return (attempts: Attempt[], fields: CallRecordFields): CallRecord => ({
    callId,
    modelGroup: input.modelGroup,
    modelUsed: null,
    attempts,
    purpose: input.purpose,
    promptTokens: 0,
    completionTokens: 0,
    totalTokens: 0,
    providerCostNano: null,
    costSource: "unpriced",
    usageEstimated: false,
    latencyMs: performance.now() - started,
    error: null,
    stream,
    ...fields,
  });
}

/** A prompt's tokens, estimated as its hold counted them (worst-case.ts): what an unreported call is billed for its prompt. */
export function promptTokensEstimate(params: ChatParameters): number {
  return chatPromptTokens(params);
}

/**
 * The usage the upstream reported or, when it reported none, an estimate from the prompt and
 * the number of characters the client got (so an unreported call is still billed).
 */
export function usageOrEstimate(
  reported: Usage | null,
  params: ChatParameters,
  deliveredChars: number,
): { usage: Usage; estimated: boolean } {
  if (reported !== null) return { usage: reported, estimated: false };
  const promptTokens = promptTokensEstimate(params);
  const completionTokens = tokensForChars(deliveredChars);
  return { usage: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens }, estimated: true };
}

/**
 * The usage of a call that got no answer the client could use although a model had its prompt
 * (the client left, or the answer was over the size cap): the prompt, estimated and priced.
 */
export async function promptOnlyFields(repo: Repository, input: CallInput, model: string | null) {
  const { usage, estimated } = usageOrEstimate(null, input.params, 0);
  return meteredFields(usage, await providerCost(repo, model, usage, null), estimated);
}

/** What a call record says about usage and cost, whichever way the call was made. */
export function meteredFields(usage: Usage, cost: ProviderCost, usageEstimated: boolean) {
  return {
    promptTokens: usage.promptTokens,
    completionTokens: usage.completionTokens,
    totalTokens: usage.totalTokens,
    providerCostNano: cost.nano,
    costSource: cost.source,
    usageEstimated,
  };
}

/** Pauses before each further try to record a call while the ledger is unreachable. */
const RECORD_RETRY_DELAYS_MS = [500, 2_000];

/**
 * Records a call whose outcome the client already has (or will not get), trying `tries` times
 * (at most 3, about 2.5 s apart in all) while the ledger is unreachable. A failure is logged,
 * not thrown: true when recorded.
 */
export async function recordCallOrLog(env: Env, input: CallInput, call: CallRecord, tries = 1): Promise<boolean> {
  for (let attempt = 1; attempt <= tries; attempt++) {
    const pause = RECORD_RETRY_DELAYS_MS[attempt - 2];
    if (pause !== undefined) await new Promise((resolve) => setTimeout(resolve, pause));
    try {
      const result = await tryLedger(env, input.teamId, "recordCall", input.jobId, call);
      if (result.ok) return true;
      log("error", "call could not be recorded", { team_id: input.teamId, job_id: input.jobId, call_id: call.callId, code: result.code });
      return false;
    } catch {
      if (attempt === tries) {
        log("error", "call could not be recorded: ledger unreachable", {
          team_id: input.teamId,
          job_id: input.jobId,
          call_id: call.callId,
        });
      }
    }
  }
  return false;
}
