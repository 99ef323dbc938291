import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { jobChat } from "../../calls/dialects/job-chat";
import { CreateAndCallBody, LlmCallBody, ServerSentEvent } from "../../schemas/calls";
import { BUDGET_HEADERS, CACHE_DESCRIPTION, errorResponses, HOLD_DESCRIPTION, jsonBody, security } from "../../schemas/common";
import { CallLabelHeaders } from "../../schemas/labels";
import { JobParam } from "../../schemas/params";
import type { AppEnv } from "../context";
import { streamInJob } from "../flows/calls";
import { jobSummaryEvent, oneRequestJob } from "../flows/one-request-job";
import { requireTeamCall } from "../middleware/auth";
import { validationHook } from "../validation";

// Streamed calls: in a job, and in a one-request job. Mounted beside jobRoutes under /api/jobs.
const sseResponse = (description: string) => ({
  description,
  headers: BUDGET_HEADERS,
  content: {
    "text/event-stream": {
      schema: ServerSentEvent,
    },
  },
});

const STREAM_DESCRIPTION =
  "The answer is LiteLLM's SSE stream of `chat.completion.chunk` events, passed on as each event arrives. " +
  "Each chunk is rebuilt from OpenAI's chunk fields only (`id`, `object`, `created`, `model`, `choices`, `usage`): " +
  "`id` is `chatcmpl-<call id>` for every chunk of the call, `model` is the model group, and `usage` carries token counts only " +
  "(never a cost). The chunk carrying `usage` is always included (it is how the call is metered). " +
  'An upstream failure after the stream has started becomes the gateway\'s `data: {"error": {...}}` followed by `data: [DONE]`. ' +
  "Errors before the stream starts (auth, job state, group, credits, every model failing) are ordinary JSON answers. " +
  "One event over 1 MiB ends the stream with an error event and `[DONE]`. " +
  "`[DONE]` is sent only after the call is recorded in the job. If the team's ledger does not record it within " +
  "`LEDGER_END_OF_STREAM_WAIT_MS` (10 s by default), `[DONE]` is preceded by " +
  '`data: {"error": {"type": "call_not_yet_recorded", "code": "503", ...}}` naming the job, and the record goes on in the background ' +
  "(an error of type `ledger_unavailable` if the ledger refused or never took it). A client that disconnects still leaves an `aborted` call." +
  HOLD_DESCRIPTION +
  CACHE_DESCRIPTION;

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
    request: { headers: CallLabelHeaders, params: JobParam, body: jsonBody(LlmCallBody) },
    responses: {
      200: sseResponse("The model's answer as server-sent events"),
      ...errorResponses(400, 401, 402, 403, 404, 409, 413, 422, 429, 502, 503, 504),
    },
  }),
  async (c) => streamInJob(c, jobChat, jobChat.parse(c.req.valid("json")), c.req.valid("param").job_id),
);

streamingRoutes.openapi(
  createRoute({
    method: "post",
    path: "/create-and-call-stream",
    tags: ["Jobs"],
    summary: "One job, one streamed call, completed and charged in one request",
    description:
      `${STREAM_DESCRIPTION} After the model's chunks comes \`event: job_summary\` with \`data: {"job_id", "status", "costs"}\` ` +
      "(the same fields as create-and-call's answer), then `data: [DONE]`. OpenAI SDKs do not skip named events: point them at " +
      "`/v1/chat/completions`, whose streams carry only chunks. " +
      "When the ledger is late the `call_not_yet_recorded` error event comes instead of `job_summary`, and the job is completed in the background. " +
      "The job's id is also in the `x-job-id` header; the job is the gateway's: the team can read it, but completing it or " +
      "making another call in it is 409. Idempotency-Key is not honoured here: a stream cannot be replayed.",
    security: security.team,
    middleware: [requireTeamCall] as const,
    request: { headers: CallLabelHeaders, body: jsonBody(CreateAndCallBody) },
    responses: {
      200: sseResponse("The model's answer as server-sent events, then the job summary"),
      ...errorResponses(400, 401, 402, 403, 413, 422, 429, 502, 503, 504),
    },
  }),
  async (c) => {
    const body = c.req.valid("json");
    return oneRequestJob(c, { dialect: jobChat, request: jobChat.parse(body), job: body, stream: { summaryEvent: jobSummaryEvent } });
  },
);
