import { onLedger } from "../ledger/client";
import type { CallBudget } from "../ledger/rules/holds";
import type { CallAdmission } from "../ledger/types";
import type { AdmittedCall, CallContext } from "./call-context";
import type { CallRequest, Dialect } from "./dialect";
import { callTimeLimits } from "./upstream/deadline";
import { upstreamConfig } from "./upstream/litellm-client";

// Admission, the pipeline's first step: the team's object checks the key, the model group (403
// when not the team's; it answers with the group's models) and the job in one round trip, and
// holds the call's worst case (ledger/changes/call-holds.ts). A one-request job is opened and
// its call admitted in the same round trip (http/flows/one-request-job.ts).

/**
 * What the team's object needs to hold a call's worst case: its id (made here, before admission),
 * the dialect's estimate of it (worst-case.ts), and its time limits (by when its record must
 * come). The object prices it with its group's dearest models.
 */
export function callBudgetOf<R extends CallRequest>(ctx: CallContext, dialect: Dialect<never, R>, request: R, stream: boolean): CallBudget {
  const limits = callTimeLimits(upstreamConfig(ctx.env), stream);
  return { callId: crypto.randomUUID(), ...dialect.estimate(request), limits, stream, labels: request.labels };
}

export function admittedCall(teamId: string, jobId: string, request: CallRequest, admission: CallAdmission, callId: string): AdmittedCall {
  // The call is for its job's end user (the object refused a call naming another).
  const labels = { tags: request.labels.tags, endUser: admission.endUser };
  return { teamId, jobId, callId, modelGroup: request.modelGroup, models: admission.models, purpose: request.purpose, labels, admission };
}

/** A call in an open job of the team, admitted by its object (which may refuse: thrown as a LedgerRefusal). */
export async function admitCall<R extends CallRequest>(
  ctx: CallContext,
  dialect: Dialect<never, R>,
  request: R,
  jobId: string,
  stream: boolean,
): Promise<AdmittedCall> {
  const budget = callBudgetOf(ctx, dialect, request, stream);
  const admission = await onLedger(ctx.env, ctx.teamId, "beginCall", ctx.caller, jobId, request.modelGroup, "team", budget);
  return admittedCall(ctx.teamId, jobId, request, admission, budget.callId);
}
