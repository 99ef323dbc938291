import { type CallInput, promptTokensEstimate } from "../calls/call-record";
import type { ChatParameters } from "../calls/upstream/upstream-request";
import { onLedger } from "../ledger/client";
import type { CallBudget } from "../ledger/rules/holds";
import type { CallAdmission } from "../ledger/types";
import type { AppContext } from "./context";
import { callerOf } from "./middleware/auth";

// What every LLM-call route does before the call: have the team's object check the key, the
// model group (403 when not the team's; the object answers with its models) and the job, in
// one round trip, and hand the llm layer its input.

/** The fields of a call body these helpers read; validation has checked the rest. */
export type CallBody = ChatParameters & { model_group?: string; model?: string; purpose?: string | null };

/** The model group a call body asks for (`model` is its alias). */
export function groupOf(body: { model_group?: string; model?: string }): string {
  return (body.model_group ?? body.model)!;
}

/** A call in an open job, admitted by the team's object (which may refuse, or hold its worst case). */
export async function admitCall(c: AppContext, teamId: string, jobId: string, body: CallBody): Promise<CallInput> {
  const modelGroup = groupOf(body);
  const budget = callBudgetOf(body);
  const admission = await onLedger(c.env, teamId, "beginCall", callerOf(c), jobId, modelGroup, "team", budget);
  return callInputOf(teamId, jobId, modelGroup, body, admission, budget.callId);
}

/**
 * What the team's object needs to hold a call's worst case: its id (made before admission), its
 * prompt (estimated) and its max_tokens. The object prices it with its group's dearest models.
 */
export function callBudgetOf(body: CallBody): CallBudget {
  const asked = [body.max_tokens, body.max_completion_tokens].filter((n): n is number => typeof n === "number");
  return {
    callId: crypto.randomUUID(),
    promptTokens: promptTokensEstimate(body),
    maxTokens: asked.length === 0 ? null : Math.max(...asked),
  };
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
