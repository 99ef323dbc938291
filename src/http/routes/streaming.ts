import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import { onLedger, tryLedger } from "../../ledger/client";
import type { CompletionStatus, CompletionSummary } from "../../ledger/types";
import { type CallInput, runChatCall } from "../../llm/run-call";
import { runStreamCall, type StreamedCall } from "../../llm/run-stream";
import type { ChatParameters } from "../../llm/upstream-request";
import { log } from "../../log";
import { requireTeamCall, teamOf } from "../auth";
import type { AppContext, AppEnv } from "../context";
import { apiError } from "../errors";
import { idempotent } from "../idempotency";
import { jsonBody, jsonResponse, pick, ServerId, security } from "../schemas/common";
import { CreateAndCallAnswer, CreateAndCallBody, LlmCallBody } from "../schemas/jobs";
import { validationHook } from "../validation";
import { resolveGroup } from "./jobs";

// Streamed calls and one-request jobs. Mounted beside jobRoutes under /api/jobs.

const JobParam = z.object({ job_id: ServerId.openapi({ param: { name: "job_id", in: "path" } }) });

const sseResponse = (description: string) => ({
  description,
  content: {
    "text/event-stream": {
      // One server-sent event; the stream ends with `data: [DONE]`.
      schema: z
        .object({ data: z.string(), event: z.string().optional(), id: z.string().optional(), retry: z.number().int().optional() })
        .openapi({ description: "A server-sent event: `data` is a chat.completion.chunk, an error, a job summary or [DONE]" }),
    },
  },
});

const STREAM_DESCRIPTION =
  "The answer is LiteLLM's SSE stream of `chat.completion.chunk` events, passed on as each event arrives. " +
  "The chunk carrying `usage` is always included (it is how the call is metered). `model` in each chunk is the model group. " +
  'An upstream failure after the stream has started becomes `data: {"error": {...}}` followed by `data: [DONE]`. ' +
  "Errors before the stream starts (auth, job state, group, credits, every model failing) are ordinary JSON answers. " +
  "The call is recorded in the job before `[DONE]` is sent; a client that disconnects still leaves an `aborted` call.";

type JobFields = { job_type: string; user_id?: string | null; metadata?: Record<string, unknown> | null };

/** Opens the job of a one-request call and admits its call; a job whose call cannot start is closed as failed. */
async function openOneRequestJob(c: AppContext, teamId: string, body: JobFields, modelGroup: string) {
  const job = await onLedger(c.env, teamId, "createJob", {
    jobId: crypto.randomUUID(),
    jobType: body.job_type,
    userId: body.user_id ?? null,
    metadata: body.metadata ?? {},
  });
  try {
    const admission = await onLedger(c.env, teamId, "beginCall", job.job_id, modelGroup);
    return { jobId: job.job_id, admission };
  } catch (error) {
    throw await closeAfterError(c.env, teamId, job.job_id, error);
  }
}

/** The common start of create-and-call and its stream variant: the team, its group, the job, the admitted call. */
async function startOneRequestJob(c: AppContext, body: z.infer<typeof CreateAndCallBody>) {
  const teamId = teamOf(c.get("principal"));
  if (body.team_id !== teamId) throw apiError(403, `API key does not belong to team '${body.team_id}'`);
  const { modelGroup, models } = await resolveGroup(c, teamId, body);
  const { jobId, admission } = await openOneRequestJob(c, teamId, body, modelGroup);
  const input: CallInput = { teamId, jobId, modelGroup, models, params: body as ChatParameters, purpose: body.purpose ?? null, admission };
  return { teamId, jobId, input };
}

async function closeJob(
  env: Env,
  teamId: string,
  jobId: string,
  status: CompletionStatus,
  errorMessage: string | null,
): Promise<CompletionSummary> {
  return onLedger(env, teamId, "completeJob", { jobId, status, errorMessage, metadata: null });
}

/**
 * A one-request job whose call failed is completed as failed (released, never charged); the
 * error goes back to the client with the job's id added, so the job can be looked up.
 */
async function closeAfterError(env: Env, teamId: string, jobId: string, error: unknown): Promise<unknown> {
  const detail = error instanceof HTTPException ? error.message : "the call failed";
  try {
    const closed = await tryLedger(env, teamId, "completeJob", { jobId, status: "failed", errorMessage: detail, metadata: null });
    if (!closed.ok) log("error", "one-request job could not be closed", { team_id: teamId, job_id: jobId, code: closed.code });
  } catch {
    log("error", "one-request job could not be closed: ledger unreachable", { team_id: teamId, job_id: jobId });
  }
  if (!(error instanceof HTTPException) || !error.res) return error;
  const body = (await error.res
    .clone()
    .json()
    .catch(() => null)) as Record<string, unknown> | null;
  if (body === null) return error;
  return new HTTPException(error.status, {
    message: error.message,
    res: Response.json({ ...body, job_id: jobId }, { status: error.status, headers: error.res.headers }),
  });
}

/**
 * How a one-request streamed job ends: completed (and charged) when the call succeeded, or
 * when the client left after output was delivered (those tokens were spent: an abandoned
 * stream is still billed); failed after an upstream failure; cancelled when the client left
 * before any output.
 */
function oneRequestJobStatus(ended: StreamedCall): { status: CompletionStatus; errorMessage: string | null } {
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

export const streamingRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

streamingRoutes.openapi(
  createRoute({
    method: "post",
    path: "/{job_id}/llm-call-stream",
    tags: ["Jobs"],
    summary: "Make a streamed LLM call inside a job",
    description: STREAM_DESCRIPTION,
    security: security.team,
    middleware: [requireTeamCall] as const,
    request: { params: JobParam, body: jsonBody(LlmCallBody) },
    responses: {
      200: sseResponse("The model's answer as server-sent events"),
      ...pick(400, 401, 402, 403, 404, 409, 413, 422, 429, 502, 503, 504),
    },
  }),
  async (c) => {
    const { job_id } = c.req.valid("param");
    const body = c.req.valid("json");
    const teamId = teamOf(c.get("principal"));
    const { modelGroup, models } = await resolveGroup(c, teamId, body);
    const admission = await onLedger(c.env, teamId, "beginCall", job_id, modelGroup);
    const input: CallInput = {
      teamId,
      jobId: job_id,
      modelGroup,
      models,
      params: body as ChatParameters,
      purpose: body.purpose ?? null,
      admission,
    };
    return runStreamCall(c.env, c.get("repo"), c.executionCtx, input, c.req.raw.signal);
  },
);

streamingRoutes.openapi(
  createRoute({
    method: "post",
    path: "/create-and-call",
    tags: ["Jobs"],
    summary: "One job, one call, completed and charged in one request",
    description:
      "Creates the job, makes the call, and completes the job: `completed` (charged) when the call succeeds, `failed` (released) when it does not. " +
      "A failed call answers with the call's error and the job's `job_id`.",
    security: security.team,
    middleware: [requireTeamCall, idempotent] as const,
    request: { body: jsonBody(CreateAndCallBody) },
    responses: {
      200: jsonResponse(CreateAndCallAnswer, "The model's answer, and the completed job's costs"),
      ...pick(400, 401, 402, 403, 413, 422, 429, 502, 503, 504),
    },
  }),
  async (c) => {
    const { teamId, jobId, input } = await startOneRequestJob(c, c.req.valid("json"));
    let answer: Awaited<ReturnType<typeof runChatCall>>;
    try {
      answer = await runChatCall(c.env, c.get("repo"), input, c.req.raw.signal);
    } catch (error) {
      throw await closeAfterError(c.env, teamId, jobId, error);
    }
    const summary = await closeJob(c.env, teamId, jobId, "completed", null);
    return c.json({ ...answer, job_id: jobId, status: summary.status, costs: summary.costs }, 200);
  },
);

streamingRoutes.openapi(
  createRoute({
    method: "post",
    path: "/create-and-call-stream",
    tags: ["Jobs"],
    summary: "One job, one streamed call, completed and charged in one request",
    description:
      `${STREAM_DESCRIPTION} After the model's chunks comes \`event: job_summary\` with \`data: {"job_id", "status", "costs"}\` ` +
      "(the same fields as create-and-call's answer; OpenAI SDK parsers skip named events), then `data: [DONE]`. " +
      "The job's id is also in the `x-job-id` header. Idempotency-Key is not honoured here: a stream cannot be replayed.",
    security: security.team,
    middleware: [requireTeamCall] as const,
    request: { body: jsonBody(CreateAndCallBody) },
    responses: {
      200: sseResponse("The model's answer as server-sent events, then the job summary"),
      ...pick(400, 401, 402, 403, 413, 422, 429, 502, 503, 504),
    },
  }),
  async (c) => {
    const { teamId, jobId, input } = await startOneRequestJob(c, c.req.valid("json"));
    try {
      return await runStreamCall(c.env, c.get("repo"), c.executionCtx, input, c.req.raw.signal, {
        headers: { "x-job-id": jobId },
        afterRecord: async (ended) => {
          const { status, errorMessage } = oneRequestJobStatus(ended);
          const summary = await closeJob(c.env, teamId, jobId, status, errorMessage);
          const event = { job_id: jobId, status: summary.status, costs: summary.costs };
          return `event: job_summary\ndata: ${JSON.stringify(event)}\n\n`;
        },
      });
    } catch (error) {
      throw await closeAfterError(c.env, teamId, jobId, error);
    }
  },
);
