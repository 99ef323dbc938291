import { onLedger } from "../ledger/client";
import type { CallBudget } from "../ledger/holds";
import { type CallInput, promptTokensEstimate } from "../llm/call-record";
import { groupPrice } from "../llm/prices";
import type { ChatParameters } from "../llm/upstream-request";
import type { AppContext } from "./context";
import { apiError } from "./errors";

// What every LLM-call route does before the call: find the team's model group, have the
// team's ledger admit the call, and hand the llm layer its input.

/** The fields of a call body these helpers read; validation has checked the rest. */
export type CallBody = ChatParameters & { model_group?: string; model?: string; purpose?: string | null };

/**
 * The model group a call body asks for, and its models in priority order: resolved by
 * requireTeamCall along with the key (or here, if it could not be). 403 when not the team's.
 */
export async function resolveModelGroup(c: AppContext, teamId: string, body: { model_group?: string; model?: string }) {
  const modelGroup = (body.model_group ?? body.model)!;
  const resolved = c.get("callGroup");
  const models = resolved?.name === modelGroup ? resolved.models : await c.get("repo").resolveModelGroup(teamId, modelGroup);
  if (models === null) throw apiError(403, `Model group '${modelGroup}' is not assigned to this team`);
  if (models.length === 0) throw apiError(502, `Model group '${modelGroup}' has no models`);
  return { modelGroup, models };
}

/** A call in an open job: its group resolved, then admitted by the team's ledger (which may refuse or hold its worst case). */
export async function admitCall(c: AppContext, teamId: string, jobId: string, body: CallBody): Promise<CallInput> {
  const { modelGroup, models } = await resolveModelGroup(c, teamId, body);
  const budget = await callBudgetOf(c, models, body);
  const admission = await onLedger(c.env, teamId, "beginCall", jobId, modelGroup, "team", budget);
  return callInputOf(teamId, jobId, modelGroup, models, body, admission, budget.callId);
}

/** What the ledger needs to hold a call's worst case: its prompt (estimated), its max_tokens, the group's dearest prices. */
export async function callBudgetOf(c: AppContext, models: string[], body: CallBody): Promise<CallBudget> {
  const asked = [body.max_tokens, body.max_completion_tokens].filter((n): n is number => typeof n === "number");
  return {
    callId: crypto.randomUUID(),
    promptTokens: promptTokensEstimate(body),
    maxTokens: asked.length === 0 ? null : Math.max(...asked),
    price: await groupPrice(c.get("repo"), models),
  };
}

export function callInputOf(
  teamId: string,
  jobId: string,
  modelGroup: string,
  models: string[],
  body: CallBody,
  admission: CallInput["admission"],
  callId: string,
): CallInput {
  // A call without max_tokens gets the one its hold was worked out for.
  const chosen = admission.budgetMaxTokens;
  const params = (chosen === null ? body : { ...body, max_tokens: chosen }) as ChatParameters;
  return { teamId, jobId, callId, modelGroup, models, params, purpose: body.purpose ?? null, admission };
}
