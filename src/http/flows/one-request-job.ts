import { HTTPException } from "hono/http-exception";
import { admitThroughCache, admittedCall } from "../../calls/admission";
import { outliving } from "../../calls/call-context";
import { type CallRequest, type Dialect, streams } from "../../calls/dialect";
import { type CallResult, runCall } from "../../calls/pipeline";
import { type StreamedCall, streamCall } from "../../calls/stream-call";
import { isGatewayFailure, LedgerRefusal } from "../../errors";
import { onLedger, tryLedger } from "../../ledger/client";
import {
  type CompletionStatus,
  type CompletionSummary,
  isCacheLookup,
  type JobCreated,
  type JobOwner,
  type Operation,
} from "../../ledger/types";
import { log } from "../../log";
import type { AppContext } from "../context";
import { apiError, asHttpError, failureToHttp } from "../errors";
import { callerOf, teamOf } from "../middleware/auth";
import { ONE_REQUEST_CREATE, operationId } from "../middleware/idempotency";
import { withHeaderLabels } from "./call-labels";
import { callContextOf, type JsonAnswer, jsonAnswer } from "./calls";

// A one-request job (create-and-call and its stream, /v1 without X-Job-Id): the job is opened,
// its one call made, and the job closed, all in one request. Money still moves only in the
// team's ledger. The gateway owns these jobs: the team may read one (its id is in `x-job-id`),
// but only the gateway makes its call and completes it, so a team cannot cancel it mid-stream to
// go uncharged. Every route that runs one goes through oneRequestJob.

/** What a job is opened with (create-and-call's job fields; a /v1 request's X-Job-Type). */
export type JobFields = {
  team_id?: string;
  job_type: string;
  user_id?: string | null;
  metadata?: Record<string, unknown> | null;
  /** The end user it is for (X-End-User-Id, the call's own field, else user_id): their budget counts it, its calls are theirs. */
  end_user?: string | null;
};

/** What a job is opened with, as its operation is compared on a repeat. */
function jobRequestOf(job: Omit<JobFields, "team_id">, owner: JobOwner) {
  // An end user only when there is one, so a job without one is compared as before end users were recorded.
  return {
    jobType: job.job_type,
    userId: job.user_id ?? null,
    metadata: job.metadata ?? {},
    owner,
    ...(job.end_user ? { endUser: job.end_user } : {}),
  };
}

/** What the ledger's createJob is given for a job a client asked to open. */
export function newJobOf(job: Omit<JobFields, "team_id">, operation: string, owner: JobOwner = "team") {
  return { jobId: crypto.randomUUID(), ...jobRequestOf(job, owner), operation: { id: operation } };
}

/** create-and-call's answer: the call's, with the completed job's id, status and costs. */
export function withJobResult<A extends object>(answer: A, jobId: string, summary: CompletionSummary) {
  return { ...answer, job_id: jobId, status: summary.status, costs: summary.costs };
}

/** create-and-call-stream's last event before the stream's end: the completed job's id, status and costs. */
export function jobSummaryEvent(jobId: string, summary: CompletionSummary): string {
  const event = { job_id: jobId, status: summary.status, costs: summary.costs };
  return `event: job_summary\ndata: ${JSON.stringify(event)}\n\n`;
}

interface OneRequestRun<R extends CallRequest, A> {
  dialect: Dialect<never, R, unknown, A>;
  request: R;
  job: JobFields;
}

/** A plain call: `present` is the body its answer is given in, from the answer and the completed job (default: the answer). */
export interface OneRequestCall<R extends CallRequest, A, B> extends OneRequestRun<R, A> {
  present?: (answer: A, jobId: string, summary: CompletionSummary) => B;
  stream?: undefined;
}

/** A streamed call: `summaryEvent` writes the completed job before the stream's end (none: the job closes silently). */
export interface OneRequestStream<R extends CallRequest, A> extends OneRequestRun<R, A> {
  stream: { summaryEvent?: (jobId: string, summary: CompletionSummary) => string };
}

/**
 * Opens a one-request job, makes its call through the pipeline and closes the job: completed (and
 * charged) when the call succeeds, failed when it does not (released, or charged what it consumed
 * under `unfinished_jobs: charged`); a failed
 * call's error answer names the job. A plain request retried with its Idempotency-Key is given
 * the first answer again, or never calls twice (earlierAnswer).
 */
export function oneRequestJob<R extends CallRequest, A, B = A>(c: AppContext, run: OneRequestCall<R, A, B>): Promise<JsonAnswer<B>>;
export function oneRequestJob<R extends CallRequest, A>(c: AppContext, run: OneRequestStream<R, A>): Promise<Response>;
export async function oneRequestJob<R extends CallRequest, A, B>(
  c: AppContext,
  given: OneRequestCall<R, A, B> | OneRequestStream<R, A>,
): Promise<Response> {
  // The job is for the end user its call names (X-End-User-Id, else the dialect's own field), else its user_id; the call is theirs.
  const labelled = withHeaderLabels(c, given.request);
  const endUser = labelled.labels.endUser ?? (given.job.user_id || null);
  const request = { ...labelled, labels: { ...labelled.labels, endUser } };
  const run = { ...given, request, job: { ...given.job, end_user: endUser } };
  const present = (!run.stream && run.present) || ((answer: A) => answer as unknown as B);
  if (!run.stream) {
    const earlier = await earlierAnswer(c, run.job, present);
    if (earlier) return earlier;
  }
  const { ctx, call } = await startJob(c, run, run.stream !== undefined);
  const complete = { id: operationId(c, "complete") };
  if (run.stream) {
    if (!streams(run.dialect)) throw new Error("a one-request job was asked to stream a dialect that does not stream");
    const { summaryEvent } = run.stream;
    const afterRecord = async (ended: StreamedCall) => {
      const { status, errorMessage } = oneRequestJobStatus(ended);
      const summary = await closeJob(c.env, call.teamId, call.jobId, status, errorMessage, complete);
      return summaryEvent ? summaryEvent(call.jobId, summary) : null;
    };
    try {
      return await streamCall(ctx, run.dialect, run.request, call, { headers: { "x-job-id": call.jobId }, afterRecord });
    } catch (error) {
      throw await closeAfterError(c.env, call.teamId, call.jobId, error, complete.id);
    }
  }
  let result: CallResult<A>;
  try {
    result = await runCall(ctx, run.dialect, run.request, call);
  } catch (error) {
    throw await outliving(ctx.work, closeAfterError(c.env, call.teamId, call.jobId, error, complete.id));
  }
  // Like the call's record, closing the job survives a client that leaves.
  const closing = closeJob(c.env, call.teamId, call.jobId, "completed", null, { ...complete, keep: JSON.stringify(result.answer) });
  const summary = await outliving(ctx.work, closing);
  return jsonAnswer(c, present(result.answer, call.jobId, summary), { "x-job-id": call.jobId, ...result.headers });
}

/**
 * The job opened and its call admitted, in one round trip to the team's object: the key and the
 * group checked, the job opened, its call's worst case held. A call refused once its job opened
 * (the rate ran out, or its hold does not fit) has closed the job as failed; the answer names it.
 */
async function startJob<R extends CallRequest, A>(c: AppContext, run: OneRequestRun<R, A>, stream: boolean) {
  const teamId = teamOf(c.get("principal"));
  if (run.job.team_id !== undefined && run.job.team_id !== teamId)
    throw apiError(403, `API key does not belong to team '${run.job.team_id}'`);
  const ctx = callContextOf(c);
  const job = newJobOf(run.job, operationId(c, ONE_REQUEST_CREATE), "gateway");
  const closing = { id: operationId(c, "complete") };
  let jobId = "";
  const admitted = await admitThroughCache(ctx, run.dialect, run.request, stream, async (budget) => {
    const started = await tryLedger(c.env, teamId, "startOneRequestJob", ctx.caller, job, run.request.modelGroup, closing, budget);
    if (!started.ok) {
      const refusal = new LedgerRefusal(started.code, started.detail, started.retryAfterSeconds);
      throw "jobId" in started ? await withJobId(failureToHttp(refusal), started.jobId) : refusal;
    }
    if (isCacheLookup(started.value)) return started.value;
    jobId = started.value.job.job_id;
    return started.value.admission;
  });
  return { ctx, call: admittedCall(teamId, jobId, run.request, admitted) };
}

function closeJob(
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

function refusalWithJob(status: 409, detail: string, jobId: string): HTTPException {
  return new HTTPException(status, { message: detail, res: Response.json({ detail, job_id: jobId }, { status }) });
}

/**
 * A one-request job retried with its Idempotency-Key, when the first attempt got as far as
 * opening its job (the operation ids make the retry reuse that job, never open a second). The
 * first answer if the job was closed with it (kept by the ledger with the completion). Otherwise
 * the call is never made twice: a job whose call was made but whose answer was lost is closed as
 * failed (charged only under `unfinished_jobs: charged`), and the retry is refused (409) with the job's id. Null when the first attempt
 * opened no job or made no call in it: then this request makes the call, in that same job.
 */
async function earlierAnswer<A, B>(
  c: AppContext,
  fields: JobFields,
  present: (answer: A, jobId: string, summary: CompletionSummary) => B,
): Promise<JsonAnswer<B> | null> {
  const teamId = teamOf(c.get("principal"));
  if (!c.get("operationBase") || (fields.team_id !== undefined && fields.team_id !== teamId)) return null;
  const created = await onLedger(c.env, teamId, "recall", operationId(c, ONE_REQUEST_CREATE), "createJob", jobRequestOf(fields, "gateway"));
  if (!created) return null;
  const jobId = (created.result as JobCreated).job_id;
  const closed = await onLedger(c.env, teamId, "recall", operationId(c, "complete"), "completeJob");
  if (closed?.kept) {
    return jsonAnswer(c, present(JSON.parse(closed.kept) as A, jobId, closed.result as CompletionSummary), { "x-job-id": jobId });
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
 * A one-request job whose call failed is completed as failed (released, or under
 * `unfinished_jobs: charged` charged what it consumed); the error goes back to the client with the job's id added, so the job can be looked up. The job
 * records the gateway's own words (a model's rejection text is only in the immediate answer).
 */
async function closeAfterError(env: Env, teamId: string, jobId: string, error: unknown, operation: string): Promise<unknown> {
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
