import type { z } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import { isGatewayFailure, LedgerRefusal } from "../errors";
import { onLedger, tryLedger } from "../ledger/client";
import type { Operation } from "../ledger/operations";
import type { CompletionStatus, CompletionSummary, JobCreated, JobOwner } from "../ledger/types";
import type { CallInput } from "../llm/call-record";
import type { CallAnswer } from "../llm/run-call";
import type { StreamedCall } from "../llm/run-stream";
import { log } from "../log";
import { callerOf, teamOf } from "./auth";
import { type CallBody, type CallKind, callBudgetOf, callInputOf, groupOf } from "./calls";
import type { AppContext } from "./context";
import { apiError, asHttpError, failureToHttp } from "./errors";
import { ONE_REQUEST_CREATE, operationId } from "./idempotency";
import type { CreateAndCallBody } from "./schemas/jobs";

// A one-request job (create-and-call, plain or streamed): the job is opened, its one call
// made, and the job closed, all in one request. Money still moves only in the team's ledger.
// The gateway owns these jobs: the team may read one (its id is in `x-job-id`), but only the
// gateway makes its call and completes it, so a team cannot cancel it mid-stream to go uncharged.

type JobFields = { job_type: string; user_id?: string | null; metadata?: Record<string, unknown> | null };
/** What a one-request job is started from: create-and-call's body, or a /v1 request as one. */
export type OneRequestBody = JobFields & CallBody & { team_id: string };
/** How a kept answer is given again: create-and-call's shape, or another surface's (e.g. /v1). */
export type PresentKept<R> = (c: AppContext, kept: unknown, jobId: string, summary: CompletionSummary) => R;

/** What a job is opened with, as its operation is compared on a repeat. */
function jobRequestOf(body: JobFields, owner: JobOwner) {
  return { jobType: body.job_type, userId: body.user_id ?? null, metadata: body.metadata ?? {}, owner };
}

/** What the ledger's createJob is given for a job a client asked to open. */
export function newJobOf(body: JobFields, operation: string, owner: JobOwner = "team") {
  return { jobId: crypto.randomUUID(), ...jobRequestOf(body, owner), operation: { id: operation } };
}

/**
 * The common start of create-and-call and its stream variant, in one round trip to the team's
 * object: the key and the group checked, the job opened, its call admitted (its worst case
 * held, see holds.ts). A call refused once its job opened (the rate ran out, or its hold does
 * not fit) has closed the job as failed; the answer names it.
 */
export async function startOneRequestJob(c: AppContext, body: OneRequestBody, kind: CallKind) {
  const teamId = teamOf(c.get("principal"));
  if (body.team_id !== teamId) throw apiError(403, `API key does not belong to team '${body.team_id}'`);
  const modelGroup = groupOf(body);
  const request = newJobOf(body, operationId(c, ONE_REQUEST_CREATE), "gateway");
  const budget = callBudgetOf(c.env, body, kind);
  const closing = { id: operationId(c, "complete") };
  const started = await tryLedger(c.env, teamId, "startOneRequestJob", callerOf(c), request, modelGroup, closing, budget);
  if (!started.ok) {
    const refusal = new LedgerRefusal(started.code, started.detail, started.retryAfterSeconds);
    throw "jobId" in started ? await withJobId(failureToHttp(refusal), started.jobId) : refusal;
  }
  const { job, admission } = started.value;
  const input: CallInput = callInputOf(teamId, job.job_id, modelGroup, body, admission, budget.callId);
  return { teamId, jobId: job.job_id, input };
}

export async function closeJob(
  env: Env,
  teamId: string,
  jobId: string,
  status: CompletionStatus,
  errorMessage: string | null,
  operation: Operation,
): Promise<CompletionSummary> {
  // The gateway closes the job it opened: the key was checked when the request started.
  return onLedger(
    env,
    teamId,
    "completeJob",
    { kind: "admin" },
    { jobId, status, errorMessage, metadata: null, closedBy: "gateway", operation },
  );
}

/** create-and-call's answer: the call's, with the completed job's id, status and costs. */
export function oneRequestAnswer(c: AppContext, answer: CallAnswer, jobId: string, summary: CompletionSummary, headers = {}) {
  return c.json({ ...answer, job_id: jobId, status: summary.status, costs: summary.costs }, 200, { "x-job-id": jobId, ...headers });
}

function refusalWithJob(status: 409, detail: string, jobId: string): HTTPException {
  return new HTTPException(status, { message: detail, res: Response.json({ detail, job_id: jobId }, { status }) });
}

/**
 * create-and-call retried with its Idempotency-Key, when the first attempt got as far as opening
 * its job (the operation ids make the retry reuse that job, never open a second). The first
 * answer if the job was closed with it (kept by the ledger with the completion). Otherwise the
 * call is never made twice: a job whose call was made but whose answer was lost is closed
 * as failed (charged only under `unfinished_jobs: charged`), and the retry is refused (409) with the job's id. Null when the first attempt
 * opened no job or made no call in it: then this request makes the call, in that same job.
 */
export async function earlierOneRequestAnswer<R = ReturnType<typeof oneRequestAnswer>>(
  c: AppContext,
  body: z.infer<typeof CreateAndCallBody> | OneRequestBody,
  present?: PresentKept<R>,
): Promise<R | null> {
  const teamId = teamOf(c.get("principal"));
  if (!c.get("operationBase") || body.team_id !== teamId) return null;
  const created = await onLedger(c.env, teamId, "recall", operationId(c, ONE_REQUEST_CREATE), "createJob", jobRequestOf(body, "gateway"));
  if (!created) return null;
  const jobId = (created.result as JobCreated).job_id;
  const closed = await onLedger(c.env, teamId, "recall", operationId(c, "complete"), "completeJob");
  if (closed?.kept) {
    const kept = JSON.parse(closed.kept);
    const summary = closed.result as CompletionSummary;
    return present ? present(c, kept, jobId, summary) : (oneRequestAnswer(c, kept as CallAnswer, jobId, summary) as R);
  }
  const job = await onLedger(c.env, teamId, "getJob", callerOf(c), jobId);
  const open = job.status === "pending" || job.status === "in_progress";
  if (open && job.calls.length === 0) return null;
  if (open) {
    const lost = "The call's answer was lost before it reached the client";
    await closeJob(c.env, teamId, jobId, "failed", lost, { id: operationId(c, "complete") });
  }
  throw refusalWithJob(
    409,
    `This Idempotency-Key's job already ended without an answer to give again; nothing was called twice. Send a new Idempotency-Key to call again`,
    jobId,
  );
}

/**
 * A one-request job whose call failed is completed as failed (released, or under `unfinished_jobs: charged` charged what it consumed); the
 * error goes back to the client with the job's id added, so the job can be looked up. The job
 * records the gateway's own words (a model's rejection text is only in the immediate answer).
 */
export async function closeAfterError(env: Env, teamId: string, jobId: string, error: unknown, operation: string): Promise<unknown> {
  const answered = asHttpError(error);
  const detail = isGatewayFailure(error) ? error.message : answered instanceof HTTPException ? answered.message : "the call failed";
  try {
    const closed = await tryLedger(
      env,
      teamId,
      "completeJob",
      { kind: "admin" },
      { jobId, status: "failed", errorMessage: detail, metadata: null, closedBy: "gateway", operation: { id: operation } },
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
