import { tryLedger } from "../ledger/client";
import type { CallAdmission, CallRecord, CallStatus } from "../ledger/types";
import { log } from "../log";
import { estimateTokens, type ProviderCost, type Usage } from "./cost";
import type { Attempt } from "./litellm-client";
import { buildUpstreamBody, type ChatParameters } from "./upstream-request";

// One LLM call inside an admitted job, as the plain and the streamed call both see it: what it
// was asked, what the upstream is sent, and the record the team's ledger keeps of it.

export interface CallInput {
  teamId: string;
  jobId: string;
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

/**
 * The usage the upstream reported or, when it reported none, an estimate from the prompt and
 * the text the client got (so an unreported call is still billed).
 */
export function usageOrEstimate(
  reported: Usage | null,
  params: ChatParameters,
  deliveredText: string,
): { usage: Usage; estimated: boolean } {
  if (reported !== null) return { usage: reported, estimated: false };
  const promptTokens = estimateTokens(JSON.stringify(params.messages ?? []));
  const completionTokens = estimateTokens(deliveredText);
  return { usage: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens }, estimated: true };
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

/**
 * Records a call whose outcome the client already has (or will not get), trying `tries` times
 * while the ledger is unreachable. A failure is logged, not thrown: true when recorded.
 */
export async function recordCallOrLog(env: Env, input: CallInput, call: CallRecord, tries = 1): Promise<boolean> {
  for (let attempt = 1; attempt <= tries; attempt++) {
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
