import { onLedger } from "../ledger/client";
import type { CallBudget } from "../ledger/holds";
import type { CallAdmission } from "../ledger/types";
import type { CallInput } from "../llm/call-record";
import { callTimeLimits } from "../llm/deadline";
import { upstreamConfig } from "../llm/litellm-client";
import type { ChatParameters } from "../llm/upstream-request";
import { chatWorstCase, embeddingWorstCase } from "../llm/worst-case";
import { callerOf } from "./auth";
import type { AppContext } from "./context";

// What every LLM-call route does before the call: have the team's object check the key, the
// model group (403 when not the team's; the object answers with its models) and the job, in
// one round trip, and hand the llm layer its input.

/** The fields of a call body these helpers read; validation has checked the rest. */
export type CallBody = ChatParameters & { model_group?: string; model?: string; purpose?: string | null };

/** What is called: a chat completion, plain or streamed, or embeddings of an input. Its worst case is held by its kind's rule. */
export type CallKind = { kind: "chat"; stream: boolean } | { kind: "embeddings"; input: unknown };

export const PLAIN_CHAT: CallKind = { kind: "chat", stream: false };
export const STREAMED_CHAT: CallKind = { kind: "chat", stream: true };

/** The model group a call body asks for (`model` is its alias). */
export function groupOf(body: { model_group?: string; model?: string }): string {
  return (body.model_group ?? body.model)!;
}

/** A call in an open job, admitted by the team's object (which may refuse it, and holds its worst case). */
export async function admitCall(c: AppContext, teamId: string, jobId: string, body: CallBody, kind: CallKind): Promise<CallInput> {
  const modelGroup = groupOf(body);
  const budget = callBudgetOf(c.env, body, kind);
  const admission = await onLedger(c.env, teamId, "beginCall", callerOf(c), jobId, modelGroup, "team", budget);
  return callInputOf(teamId, jobId, modelGroup, body, admission, budget.callId);
}

/**
 * What the team's object needs to hold a call's worst case (llm/worst-case.ts, one rule per
 * kind): its id (made before admission), its prompt, its max_tokens and choices, and its time
 * limits (by when its record must come). The object prices it with its group's dearest models.
 */
export function callBudgetOf(env: Env, body: CallBody, kind: CallKind): CallBudget {
  const worst = kind.kind === "embeddings" ? embeddingWorstCase(kind.input) : chatWorstCase(body);
  const stream = kind.kind === "chat" && kind.stream;
  return { callId: crypto.randomUUID(), ...worst, limits: callTimeLimits(upstreamConfig(env), stream), stream };
}

export function callInputOf(
  teamId: string,
  jobId: string,
  modelGroup: string,
  body: CallBody,
  admission: CallAdmission,
  callId: string,
): CallInput {
  const { models } = admission;
  // A call without max_tokens gets the one its hold was worked out for.
  const chosen = admission.budgetMaxTokens;
  const params = (chosen === null ? body : { ...body, max_tokens: chosen }) as ChatParameters;
  return { teamId, jobId, callId, modelGroup, models, params, purpose: body.purpose ?? null, admission };
}
