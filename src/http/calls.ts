import { onLedger } from "../ledger/client";
import type { CallAdmission } from "../ledger/types";
import type { CallInput } from "../llm/call-record";
import type { ChatParameters } from "../llm/upstream-request";
import { callerOf } from "./auth";
import type { AppContext } from "./context";

// What every LLM-call route does before the call: have the team's object check the key, the
// model group (403 when not the team's; the object answers with its models) and the job, in
// one round trip, and hand the llm layer its input.

/** The fields of a call body these helpers read; validation has checked the rest. */
export type CallBody = ChatParameters & { model_group?: string; model?: string; purpose?: string | null };

/** The model group a call body asks for (`model` is its alias). */
export function groupOf(body: { model_group?: string; model?: string }): string {
  return (body.model_group ?? body.model)!;
}

/** A call in an open job, admitted by the team's object (which may refuse). */
export async function admitCall(c: AppContext, teamId: string, jobId: string, body: CallBody): Promise<CallInput> {
  const modelGroup = groupOf(body);
  const admission = await onLedger(c.env, teamId, "beginCall", callerOf(c), jobId, modelGroup);
  return callInputOf(teamId, jobId, modelGroup, body, admission);
}

export function callInputOf(teamId: string, jobId: string, modelGroup: string, body: CallBody, admission: CallAdmission): CallInput {
  const { models } = admission;
  return { teamId, jobId, modelGroup, models, params: body as ChatParameters, purpose: body.purpose ?? null, admission };
}
