import type { z } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import { isGatewayFailure } from "../errors";
import { onLedger, tryLedger } from "../ledger/client";
import type { CompletionStatus, CompletionSummary } from "../ledger/types";
import type { CallInput } from "../llm/call-record";
import type { StreamedCall } from "../llm/run-stream";
import { log } from "../log";
import { teamOf } from "./auth";
import { callInputOf, resolveModelGroup } from "./calls";
import type { AppContext } from "./context";
import { apiError, asHttpError } from "./errors";
import type { CreateAndCallBody } from "./schemas/jobs";

// A one-request job (create-and-call, plain or streamed): the job is opened, its one call
// made, and the job closed, all in one request. Money still moves only in the team's ledger.
// The gateway owns these jobs: the team may read one (its id is in `x-job-id`), but only the
// gateway makes its call and completes it, so a team cannot cancel it mid-stream to go uncharged.

type JobFields = { job_type: string; user_id?: string | null; metadata?: Record<string, unknown> | null };

/** What the ledger's createJob is given for a job a client asked to open. */
export function newJobOf(body: JobFields) {
  return { jobId: crypto.randomUUID(), jobType: body.job_type, userId: body.user_id ?? null, metadata: body.metadata ?? {} };
}

/** Opens the job of a one-request call and admits its call; a job whose call cannot start is closed as failed. */
async function openOneRequestJob(c: AppContext, teamId: string, body: JobFields, modelGroup: string) {
  const job = await onLedger(c.env, teamId, "createJob", { ...newJobOf(body), owner: "gateway" });
  try {
    const admission = await onLedger(c.env, teamId, "beginCall", job.job_id, modelGroup, "gateway");
    return { jobId: job.job_id, admission };
  } catch (error) {
    throw await closeAfterError(c.env, teamId, job.job_id, error);
  }
}

/** The common start of create-and-call and its stream variant: the team, its group, the job, the admitted call. */
export async function startOneRequestJob(c: AppContext, body: z.infer<typeof CreateAndCallBody>) {
  const teamId = teamOf(c.get("principal"));
  if (body.team_id !== teamId) throw apiError(403, `API key does not belong to team '${body.team_id}'`);
  const { modelGroup, models } = await resolveModelGroup(c, teamId, body);
  const { jobId, admission } = await openOneRequestJob(c, teamId, body, modelGroup);
  const input: CallInput = callInputOf(teamId, jobId, modelGroup, models, body, admission);
  return { teamId, jobId, input };
}

export async function closeJob(
  env: Env,
  teamId: string,
  jobId: string,
  status: CompletionStatus,
  errorMessage: string | null,
): Promise<CompletionSummary> {
  return onLedger(env, teamId, "completeJob", { jobId, status, errorMessage, metadata: null, closedBy: "gateway" });
}

/**
 * A one-request job whose call failed is completed as failed (released, never charged); the
 * error goes back to the client with the job's id added, so the job can be looked up. The job
 * records the gateway's own words (a model's rejection text is only in the immediate answer).
 */
export async function closeAfterError(env: Env, teamId: string, jobId: string, error: unknown): Promise<unknown> {
  const answered = asHttpError(error);
  const detail = isGatewayFailure(error) ? error.message : answered instanceof HTTPException ? answered.message : "the call failed";
  try {
    const closed = await tryLedger(env, teamId, "completeJob", {
      jobId,
      status: "failed",
      errorMessage: detail,
      metadata: null,
      closedBy: "gateway",
    });
    if (!closed.ok) log("error", "one-request job could not be closed", { team_id: teamId, job_id: jobId, code: closed.code });
  } catch {
    log("error", "one-request job could not be closed: ledger unreachable", { team_id: teamId, job_id: jobId });
  }
  if (!(answered instanceof HTTPException) || !answered.res) return answered;
  const body = (await answered.res
    .clone()
    .json()
    .catch(() => null)) as Record<string, unknown> | null;
  if (body === null) return answered;
  return new HTTPException(answered.status, {
    message: answered.message,
    res: Response.json({ ...body, job_id: jobId }, { status: answered.status, headers: answered.res.headers }),
  });
}

/**
 * How a one-request streamed job ends: completed (and charged) when the call succeeded, or
 * when the client left after output was delivered (those tokens were spent: an abandoned
 * stream is still billed); failed after an upstream failure; cancelled when the client left
 * before any output.
 */
export function oneRequestJobStatus(ended: StreamedCall): { status: CompletionStatus; errorMessage: string | null } {
  switch (ended.outcome.status) {
    case "completed":
      return { status: "completed", errorMessage: null };
    case "failed":
      return { status: "failed", errorMessage: ended.call.error };
    case "aborted":
      return ended.call.completionTokens > 0
        ? { status: "completed", errorMessage: "The client disconnected mid-stream; billed for the output delivered" }
        : { status: "cancelled", errorMessage: "The client disconnected before any output" };
  }
}
