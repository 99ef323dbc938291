import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { jobChat } from "../../calls/dialects/job-chat";
import { MAX_ANSWER_BYTES } from "../../calls/upstream/litellm-client";
import { onLedger } from "../../ledger/client";
import { MAX_CALLS_PER_JOB } from "../../ledger/rules/admission";
import { CreateAndCallAnswer, CreateAndCallBody, LlmCallAnswer, LlmCallBody } from "../../schemas/calls";
import {
  BUDGET_HEADERS,
  CACHE_DESCRIPTION,
  errorResponses,
  HOLD_DESCRIPTION,
  jsonBody,
  jsonResponse,
  security,
} from "../../schemas/common";
import {
  CALLS_PAGE_DEFAULT,
  CALLS_PAGE_MAX,
  COMPLETION_CALLS_SHOWN,
  CompleteJobBody,
  CompletionSummary,
  CreateJobBody,
  Job,
  JobCostBreakdown,
  JobCreated,
  JobListQuery,
  JobMetadataPatch,
  JobPage,
  JobQuery,
  JobSummary,
} from "../../schemas/jobs";
import { CallLabelHeaders } from "../../schemas/labels";
import { JobParam, TeamParam } from "../../schemas/params";
import type { AppContext, AppEnv } from "../context";
import { endUserOf } from "../end-user";
import { apiError } from "../errors";
import { callInJob } from "../flows/calls";
import { newJobOf, oneRequestJob, withJobResult } from "../flows/one-request-job";
import { assertTeamAccess, callerOf, requireTeam, requireTeamCall, requireTeamOrAdmin, teamOf } from "../middleware/auth";
import { idempotent, operationId } from "../middleware/idempotency";
import { validationHook } from "../validation";

/** The team whose ledger holds a job: the key's team, or for the admin key the `team_id` query. */
function jobTeam(c: AppContext, teamIdQuery: string | undefined): string {
  const principal = c.get("principal");
  if (principal.kind === "team") return principal.teamId;
  if (!teamIdQuery) {
    throw apiError(422, [{ loc: ["query", "team_id"], msg: "field 'team_id' is required when using an admin key", type: "missing" }]);
  }
  return teamIdQuery;
}

export const jobRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

jobRoutes.openapi(
  createRoute({
    method: "post",
    path: "/create",
    tags: ["Jobs"],
    summary: "Open a job (reserves its minimum charge)",
    description:
      "The job belongs to the key's team; `team_id` may be left out, and another team's id is 403. " +
      "With an `Idempotency-Key`, a retry (also after a 5xx) returns the job the first attempt opened and reserves nothing more. " +
      "402, 403 and 429 answers are not kept: the same key runs again once credits, status or rate allow.",
    security: security.team,
    middleware: [requireTeam, idempotent] as const,
    request: { body: jsonBody(CreateJobBody) },
    responses: { 200: jsonResponse(JobCreated, "The new job"), ...errorResponses(401, 402, 403, 413, 422, 429, 503) },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const teamId = teamOf(c.get("principal"));
    if (body.team_id !== undefined && body.team_id !== teamId) throw apiError(403, `API key does not belong to team '${body.team_id}'`);
    const fields = { ...body, end_user: endUserOf(c, body.user_id) };
    const job = await onLedger(c.env, teamId, "createJob", callerOf(c), newJobOf(fields, operationId(c)));
    return c.json(job, 200);
  },
);

jobRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{job_id}",
    tags: ["Jobs"],
    summary: "Get a job with a page of its calls",
    description:
      `The job's totals cover every call; \`calls\` shows one page of them in the order they were made ` +
      `(\`calls_limit\`, default ${CALLS_PAGE_DEFAULT}, at most ${CALLS_PAGE_MAX}; \`calls_offset\`), and \`calls_has_more\` says whether more follow. ` +
      "A call's `error` is the gateway's own message. With the admin key each call also has `upstream_error`, LiteLLM's text (secrets removed).",
    security: security.teamOrAdmin,
    middleware: [requireTeamOrAdmin("jobs.read")] as const,
    request: {
      params: JobParam,
      query: JobQuery,
    },
    responses: { 200: jsonResponse(Job, "The job"), ...errorResponses(401, 403, 404, 422, 503) },
  }),
  async (c) => {
    const { job_id } = c.req.valid("param");
    const { team_id, calls_limit, calls_offset } = c.req.valid("query");
    const job = await onLedger(c.env, jobTeam(c, team_id), "getJob", callerOf(c), job_id, {
      limit: calls_limit,
      offset: calls_offset,
    });
    return c.json(job, 200);
  },
);

jobRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{job_id}/costs",
    tags: ["Jobs"],
    summary: "A job's cost, call by call",
    description:
      "Each call's purpose, tokens, cost to the team and time, a page at a time (`calls_limit`, `calls_offset`), with the job's totals. " +
      "Admin keys (with `?team_id=`) also see the model that served each call and what it cost the operator.",
    security: security.teamOrAdmin,
    middleware: [requireTeamOrAdmin("jobs.read")] as const,
    request: {
      params: JobParam,
      query: JobQuery,
    },
    responses: { 200: jsonResponse(JobCostBreakdown, "The breakdown"), ...errorResponses(401, 403, 404, 422, 503) },
  }),
  async (c) => {
    const { job_id } = c.req.valid("param");
    const { team_id, calls_limit, calls_offset } = c.req.valid("query");
    const costs = await onLedger(c.env, jobTeam(c, team_id), "jobCosts", callerOf(c), job_id, { limit: calls_limit, offset: calls_offset });
    return c.json(costs, 200);
  },
);

jobRoutes.openapi(
  createRoute({
    method: "patch",
    path: "/{job_id}/metadata",
    tags: ["Jobs"],
    summary: "Merge metadata into a job (its team's key)",
    description:
      "Top-level keys of `metadata` replace the job's keys of the same name; others are kept. Works at any status. " +
      "The merged metadata is bounded like a job's metadata (16 KiB of JSON): beyond it, 422 and nothing changes.",
    security: security.team,
    middleware: [requireTeam] as const,
    request: { params: JobParam, body: jsonBody(JobMetadataPatch) },
    responses: { 200: jsonResponse(JobSummary, "The job with its merged metadata"), ...errorResponses(401, 403, 404, 413, 422, 429, 503) },
  }),
  async (c) => {
    const { job_id } = c.req.valid("param");
    const { metadata } = c.req.valid("json");
    const job = await onLedger(c.env, teamOf(c.get("principal")), "mergeJobMetadata", callerOf(c), job_id, metadata);
    return c.json(job, 200);
  },
);

jobRoutes.openapi(
  createRoute({
    method: "post",
    path: "/{job_id}/llm-call",
    tags: ["Jobs"],
    summary: "Make an LLM call inside a job",
    description:
      "Forwards the whitelisted OpenAI parameters to LiteLLM, trying the group's models in priority order. Unknown fields are ignored and never forwarded. " +
      `The answer is returned only once the call is recorded; a client that leaves mid-call still leaves an \`aborted\` call (its prompt estimated). ` +
      `An answer over ${MAX_ANSWER_BYTES / (1024 * 1024)} MiB is not delivered (502). A job past ${MAX_CALLS_PER_JOB} calls refuses more (409).` +
      HOLD_DESCRIPTION +
      CACHE_DESCRIPTION,
    security: security.team,
    middleware: [requireTeamCall] as const,
    request: { headers: CallLabelHeaders, params: JobParam, body: jsonBody(LlmCallBody) },
    responses: {
      200: { ...jsonResponse(LlmCallAnswer, "The model's answer"), headers: BUDGET_HEADERS },
      ...errorResponses(400, 401, 402, 403, 404, 409, 413, 422, 429, 502, 503, 504),
    },
  }),
  async (c) => callInJob(c, jobChat, jobChat.parse(c.req.valid("json")), c.req.valid("param").job_id),
);

jobRoutes.openapi(
  createRoute({
    method: "post",
    path: "/{job_id}/complete",
    tags: ["Jobs"],
    summary: "Complete a job: charge it (status completed) or release it (failed, cancelled)",
    description:
      "Idempotent: completing again with the same status returns the same summary and charges nothing " +
      "(with an `Idempotency-Key`, also after a 5xx). " +
      "`completed` is charged by the budget mode; a job completed as `failed` or `cancelled` is charged by the team's `unfinished_jobs`: " +
      "`free` (default in job_based) releases it, `charged` (default in the consumption modes) charges it as if completed for what it consumed. " +
      "Calls of the job still in flight are waited for (up to 5 s) and otherwise settled from their holds (`unrecorded`, billed their worst case), " +
      "so the answer is the job's final charge. " +
      "A job opened by create-and-call (or its stream variant) is completed by the gateway: completing it here is 409. " +
      `\`costs\` covers every call; \`calls\` lists the first ${COMPLETION_CALLS_SHOWN} and \`calls_has_more\` says whether the job made more ` +
      `(GET /api/jobs/{id} pages them). A job holds at most ${MAX_CALLS_PER_JOB} calls.`,
    security: security.team,
    middleware: [requireTeam, idempotent] as const,
    request: { params: JobParam, body: jsonBody(CompleteJobBody) },
    responses: { 200: jsonResponse(CompletionSummary, "The cost summary"), ...errorResponses(401, 403, 404, 409, 413, 422, 503) },
  }),
  async (c) => {
    const { job_id } = c.req.valid("param");
    const body = c.req.valid("json");
    const teamId = teamOf(c.get("principal"));
    const summary = await onLedger(c.env, teamId, "completeJob", callerOf(c), {
      jobId: job_id,
      status: body.status,
      errorMessage: body.error_message ?? null,
      metadata: body.metadata ?? null,
      operation: { id: operationId(c) },
    });
    return c.json(summary, 200);
  },
);

jobRoutes.openapi(
  createRoute({
    method: "post",
    path: "/create-and-call",
    tags: ["Jobs"],
    summary: "One job, one call, completed and charged in one request",
    description:
      "Creates the job, makes the call, and completes the job: `completed` (charged) when the call succeeds, `failed` (released) when it does not. " +
      "A failed call answers with the call's error and the job's `job_id`; the job's id is also in the `x-job-id` header. " +
      "With an `Idempotency-Key`, a retry (also after a 5xx) never opens a second job nor calls the model twice: it answers " +
      "the first answer if the job was completed with it; if the first attempt opened the job but made no call, it makes the call in that job; " +
      "otherwise (the job ended without an answer to give, or its answer was lost after the call) it is 409 with the `job_id`, " +
      "the job is closed as failed (charged only what it consumed under `unfinished_jobs: charged`), and a new key calls again. " +
      "The job is the gateway's: the team cannot complete it or make another call in it (409)." +
      HOLD_DESCRIPTION +
      CACHE_DESCRIPTION,
    security: security.team,
    middleware: [requireTeamCall, idempotent] as const,
    request: { headers: CallLabelHeaders, body: jsonBody(CreateAndCallBody) },
    responses: {
      200: { ...jsonResponse(CreateAndCallAnswer, "The model's answer, and the completed job's costs"), headers: BUDGET_HEADERS },
      ...errorResponses(400, 401, 402, 403, 413, 422, 429, 502, 503, 504),
    },
  }),
  async (c) => {
    const body = c.req.valid("json");
    return oneRequestJob(c, { dialect: jobChat, request: jobChat.parse(body), job: body, present: withJobResult });
  },
);

/** Routes under /api/teams/{team_id} that read a team's jobs (its usage: reports.ts). */
export const teamJobRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

teamJobRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{team_id}/jobs",
    tags: ["Jobs"],
    summary: "List a team's jobs, newest first",
    security: security.teamOrAdmin,
    middleware: [requireTeamOrAdmin("jobs.read")] as const,
    request: {
      params: TeamParam,
      query: JobListQuery,
    },
    responses: {
      200: jsonResponse(JobPage, "A page of jobs"),
      ...errorResponses(401, 403, 404, 422, 503),
    },
  }),
  async (c) => {
    const { team_id } = c.req.valid("param");
    const { limit, offset, status, job_type } = c.req.valid("query");
    const principal = c.get("principal");
    assertTeamAccess(principal, team_id, "the jobs");
    const page = await onLedger(c.env, team_id, "listJobs", callerOf(c), { status, jobType: job_type, limit, offset });
    return c.json({ team_id, jobs: page.items, limit: page.limit, offset: page.offset, has_more: page.has_more }, 200);
  },
);
