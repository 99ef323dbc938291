import { onLedger, type TeamAddress, tryLedger } from "../ledger/client";
import type { CallBudget } from "../ledger/rules/holds";
import type { CallAdmission } from "../ledger/types";
import type { AdmittedCall, CallContext } from "./call-context";
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

/**
 * What the team's object needs to hold a call's worst case: its id (made here, before admission),
 * the dialect's estimate of it (worst-case.ts), and its time limits (by when its record must
 * come). The object prices it with its group's dearest models.
 */
export function callBudgetOf<R extends CallRequest>(ctx: CallContext, dialect: Dialect<never, R>, request: R, stream: boolean): CallBudget {
  const limits = callTimeLimits(upstreamConfig(ctx.env), stream);
  return { callId: crypto.randomUUID(), ...dialect.estimate(request), limits, stream, labels: request.labels };
}

export function admittedCall(
  team: TeamAddress,
  jobId: string,
  request: CallRequest,
  admission: CallAdmission,
  callId: string,
): AdmittedCall {
  const { teamId, jurisdiction } = team;
  // The call is for its job's end user (the object refused a call naming another).
  const labels = { tags: request.labels.tags, endUser: admission.endUser };
  return {
    teamId,
    jurisdiction,
    jobId,
    callId,
    modelGroup: request.modelGroup,
    models: admission.models,
    purpose: request.purpose,
    labels,
    admission,
  };
}

/** A call on its way to its admission: the round trip that asks, and the admission this isolate expects. */
export interface PendingAdmission {
  budget: CallBudget;
  /** The call as this isolate expects it admitted (speculation.ts), which may go upstream before the answer; null: admit first. */
  expected: AdmittedCall | null;
  /** Asks the team's object; throws its refusal. Either way, this isolate's sight of the team learns the answer. */
  admit(): Promise<AdmittedCall>;
}

/**
 * A call's admission as `ask` makes it (the team's object answers the job the call is in and the
 * admission), expected by this isolate when it saw the key admitted recently. `job` is the job's
 * attribution when the request opens the job itself; `opensJob`: its reservation must fit too.
 */
export function pendingAdmission(
  ctx: CallContext,
  request: CallRequest,
  budget: CallBudget,
  target: { jobId: string; job?: JobFacts; opensJob?: boolean },
  ask: () => Promise<{ jobId: string; admission: CallAdmission }>,
): PendingAdmission {
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
  return {
    budget,
    expected: speculation && admittedCall(ctx, target.jobId, request, speculation.admission, budget.callId),
    async admit() {
      try {
        const { jobId, admission } = await ask();
        if (seen) admissionSight.admitted({ ...seen, jobId }, admission);
        return admittedCall(ctx, jobId, request, admission, budget.callId);
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
  const budget = callBudgetOf(ctx, dialect, request, stream);
  return pendingAdmission(ctx, request, budget, { jobId }, async () => ({
    jobId,
    admission: await onLedger(ctx.env, ctx, "beginCall", ctx.caller, jobId, request.modelGroup, "team", budget),
  }));
}

/** Tells the team's object that a call sent upstream early was aborted (counted for admins); background work, never throws. */
export async function countSpeculativeAbort(ctx: CallContext): Promise<void> {
  try {
    await tryLedger(ctx.env, ctx, "countSpeculativeAbort");
  } catch {
    // Logged by tryLedger; only a counter is lost.
  }
}
