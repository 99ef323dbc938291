import { CallFailure } from "../errors";
import { tryLedger } from "../ledger/client";
import type { CallRecord, CallStatus } from "../ledger/types";
import { log } from "../log";
import type { AdmittedCall, CallContext } from "./call-context";
import { providerCost, tokensForChars, type Usage } from "./cost";
import type { Attempt } from "./upstream/litellm-client";

// The record the team's ledger keeps of a call, however it was made and however it ended: what
// it used and cost (as reported, or estimated), and the attempts it took.

export type CallRecordFields = Partial<CallRecord> & { status: CallStatus };
export type Recorder = (attempts: Attempt[], fields: CallRecordFields) => CallRecord;

/** Builds a call's ledger record: nothing observed yet, then whatever the caller knows. */
export function callRecorder(call: AdmittedCall, started: number, stream: boolean): Recorder {
  return (attempts, fields) => ({
    callId: call.callId,
    modelGroup: call.modelGroup,
    modelUsed: null,
    attempts,
    purpose: call.purpose,
    tags: call.labels.tags,
    endUser: call.labels.endUser,
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
 * The usage LiteLLM reported or, when it reported none, an estimate from the prompt and the
 * number of characters the client got (so an unreported call is still billed).
 */
export function usageOrEstimate(
  reported: Usage | null,
  promptTokens: number,
  deliveredChars: number,
): { usage: Usage; estimated: boolean } {
  if (reported !== null) return { usage: reported, estimated: false };
  const completionTokens = tokensForChars(deliveredChars);
  return { usage: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens }, estimated: true };
}

/** What was metered of a call: its usage (reported or estimated) and what the model that served it cost. */
export interface Metered {
  usage: Usage;
  fields: Pick<
    CallRecord,
    "promptTokens" | "completionTokens" | "totalTokens" | "providerCostNano" | "costSource" | "usageEstimated" | "cache"
  >;
}

/**
 * Meters an admitted call's answer (as meter does), except a cache hit: the original's usage at
 * no provider cost, with what the team's object prices the hit from (ledger/rules/cache-hits.ts).
 */
export function meterAnswer(
  ctx: CallContext,
  call: AdmittedCall,
  model: string | null,
  reading: { usage: Usage | null; deliveredChars: number; reportedUsd: number | null },
  promptTokens: number,
): Promise<Metered> {
  const hit = call.cache?.hit;
  if (!hit) return meter(ctx, model, reading, promptTokens);
  const { answer, price } = hit;
  const usage = { promptTokens: answer.promptTokens, completionTokens: answer.completionTokens, totalTokens: answer.totalTokens };
  return Promise.resolve({
    usage,
    fields: {
      ...usage,
      providerCostNano: 0,
      costSource: "cache",
      usageEstimated: answer.usageEstimated,
      cache: { hitPricePercent: price.hitPricePercent, originalProviderCostNano: price.originalProviderCostNano },
    },
  });
}

/** Meters a call: usage as reported or estimated, priced as LiteLLM said (`reportedUsd`) or by the pricing table. Never throws. */
export async function meter(
  ctx: CallContext,
  model: string | null,
  reading: { usage: Usage | null; deliveredChars: number; reportedUsd: number | null },
  promptTokens: number,
): Promise<Metered> {
  const { usage, estimated } = usageOrEstimate(reading.usage, promptTokens, reading.deliveredChars);
  const cost = await providerCost(ctx.prices, model, usage, reading.reportedUsd);
  return {
    usage,
    fields: {
      promptTokens: usage.promptTokens,
      completionTokens: usage.completionTokens,
      totalTokens: usage.totalTokens,
      providerCostNano: cost.nano,
      costSource: cost.source,
      usageEstimated: estimated,
    },
  };
}

/**
 * The usage of a call that got no answer the client could use although a model had its prompt
 * (the client left, or the answer was over the size cap): the prompt, estimated and priced.
 */
export async function promptOnly(ctx: CallContext, model: string | null, promptTokens: number): Promise<Metered["fields"]> {
  return (await meter(ctx, model, { usage: null, deliveredChars: 0, reportedUsd: null }, promptTokens)).fields;
}

/** Pauses before each further try to record a call while the ledger is unreachable. */
const RECORD_RETRY_DELAYS_MS = [500, 2_000];

/**
 * Records a call whose outcome the client already has (or will not get), trying `tries` times
 * (at most 3, about 2.5 s apart in all) while the ledger is unreachable. A failure is logged,
 * not thrown: true when recorded.
 */
export async function recordCallOrLog(ctx: CallContext, call: AdmittedCall, record: CallRecord, tries = 1): Promise<boolean> {
  const where = { team_id: call.teamId, job_id: call.jobId, call_id: record.callId };
  for (let attempt = 1; attempt <= tries; attempt++) {
    const pause = RECORD_RETRY_DELAYS_MS[attempt - 2];
    if (pause !== undefined) await new Promise((resolve) => setTimeout(resolve, pause));
    try {
      const result = await tryLedger(ctx.env, call.teamId, "recordCall", call.jobId, record);
      if (result.ok) return true;
      log("error", "call could not be recorded", { ...where, code: result.code });
      return false;
    } catch {
      if (attempt === tries) log("error", "call could not be recorded: ledger unreachable", where);
    }
  }
  return false;
}

/** Records a call whose answer is not yet given: an answer that cannot be recorded is not served (throws a CallFailure). */
export async function recordBeforeAnswering(ctx: CallContext, call: AdmittedCall, record: CallRecord): Promise<void> {
  if (!(await recordCallOrLog(ctx, call, record))) {
    throw new CallFailure(
      "not_recorded",
      "The call could not be recorded, so its answer is withheld; please retry. The call is settled from its hold: at most its worst case",
    );
  }
}
