import type { z } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import { LedgerRefusal } from "../errors";
import { onLedger, tryLedger } from "../ledger/client";
import type { CompletionStatus, CompletionSummary } from "../ledger/types";
import type { CallInput } from "../llm/call-record";
import type { StreamedCall } from "../llm/run-stream";
import { log } from "../log";
import { callerOf, teamOf } from "./auth";
import { callInputOf, groupOf } from "./calls";
import type { AppContext } from "./context";
import { apiError, asHttpError, failureToHttp } from "./errors";
import type { CreateAndCallBody } from "./schemas/jobs";

// A one-request job (create-and-call, plain or streamed): the job is opened, its one call
// made, and the job closed, all in one request. Money still moves only in the team's ledger.

type JobFields = { job_type: string; user_id?: string | null; metadata?: Record<string, unknown> | null };

/** What the ledger's createJob is given for a job a client asked to open. */
export function newJobOf(body: JobFields) {
  return { jobId: crypto.randomUUID(), jobType: body.job_type, userId: body.user_id ?? null, metadata: body.metadata ?? {} };
}

/**
 * The common start of create-and-call and its stream variant, in one round trip to the team's
 * object: the key and the group checked, the job opened, its call admitted. A call refused
 * once its job opened (the rate ran out) has closed the job as failed; the answer names it.
 */
export async function startOneRequestJob(c: AppContext, body: z.infer<typeof CreateAndCallBody>) {
  const teamId = teamOf(c.get("principal"));
  if (body.team_id !== teamId) throw apiError(403, `API key does not belong to team '${body.team_id}'`);
  const modelGroup = groupOf(body);
  const started = await tryLedger(c.env, teamId, "startOneRequestJob", callerOf(c), newJobOf(body), modelGroup);
  if (!started.ok) {
    const refusal = new LedgerRefusal(started.code, started.detail, started.retryAfterSeconds);
    throw "jobId" in started ? await withJobId(failureToHttp(refusal), started.jobId) : refusal;
  }
  const { job, admission } = started.value;
  const input: CallInput = callInputOf(teamId, job.job_id, modelGroup, body, admission);
  return { teamId, jobId: job.job_id, input };
}

export async function closeJob(
  env: Env,
  teamId: string,
  jobId: string,
  status: CompletionStatus,
  errorMessage: string | null,
): Promise<CompletionSummary> {
  // The gateway closes the job it opened: the key was checked when the request started.
  return onLedger(env, teamId, "completeJob", { kind: "admin" }, { jobId, status, errorMessage, metadata: null });
}

/**
 * A one-request job whose call failed is completed as failed (released, never charged); the
 * error goes back to the client with the job's id added, so the job can be looked up.
 */
export async function closeAfterError(env: Env, teamId: string, jobId: string, error: unknown): Promise<unknown> {
  const answered = asHttpError(error);
  const detail = answered instanceof HTTPException ? answered.message : "the call failed";
  try {
    const closed = await tryLedger(
      env,
      teamId,
      "completeJob",
      { kind: "admin" },
      { jobId, status: "failed", errorMessage: detail, metadata: null },
    );
    if (!closed.ok) log("error", "one-request job could not be closed", { team_id: teamId, job_id: jobId, code: closed.code });
  } catch {
    log("error", "one-request job could not be closed: ledger unreachable", { team_id: teamId, job_id: jobId });
  }
  return withJobId(answered, jobId);
}

/** An error answer with the job's id added to its body, so the job can be looked up. */
async function withJobId(answered: unknown, jobId: string): Promise<unknown> {
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
