import { createRoute, OpenAPIHono, type z } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { openAIChat } from "../../calls/dialects/openai-chat";
import { openAIEmbeddings } from "../../calls/dialects/openai-embeddings";
import { BUDGET_HEADERS, HOLD_DESCRIPTION, jsonBody, jsonResponse, security } from "../../schemas/common";
import {
  JobHeaders,
  OpenAIChatBody,
  OpenAIChatChunks,
  OpenAIChatCompletion,
  OpenAIEmbeddingBody,
  OpenAIEmbeddingList,
  OpenAIError,
  OpenAIModelList,
} from "../../schemas/openai";
import type { AppContext, AppEnv } from "../context";
import { callInJob, streamInJob } from "../flows/calls";
import { oneRequestJob } from "../flows/one-request-job";
import { requireTeam, requireTeamCall, teamOf } from "../middleware/auth";
import { idempotent } from "../middleware/idempotency";
import { validationHook } from "../validation";

// The OpenAI-compatible surface: an OpenAI SDK pointed at `<gateway>/v1` with a team key gets
// job billing. `X-Job-Id` puts a call in an open job (the job API's rules); without it the
// request is a one-request job the gateway opens, calls and completes (create-and-call's path).

const OPENAI_ERROR_STATUSES = [400, 401, 402, 403, 404, 409, 413, 422, 429, 502, 503, 504] as const;
const openAIErrorResponses = Object.fromEntries(
  OPENAI_ERROR_STATUSES.map((status) => [
    status,
    { description: "OpenAI's error shape", content: { "application/json": { schema: OpenAIError } } },
  ]),
);

const JOB_DESCRIPTION =
  "With `X-Job-Id` the call is made in that open job of the team (as `POST /api/jobs/{id}/llm-call`; the team completes the job). " +
  "Without it the request is its own job (type `X-Job-Type`, default `api`), opened, called and completed by the gateway " +
  "(as create-and-call: charged when the call succeeds, released when it fails); the answer's `x-job-id` header names it. " +
  "With an `Idempotency-Key` a retry never opens a second job nor calls the model twice (as create-and-call). " +
  'Errors are OpenAI\'s `{"error": {"message", "type", "param", "code"}}`; a model group that is not the team\'s is 404 `model_not_found`.';

/** The one-request job a /v1 request without X-Job-Id opens: the key's team's, of type X-Job-Type (default `api`), for its `user`. */
function oneRequestJobOf(c: AppContext, headers: z.infer<typeof JobHeaders>, user?: string | null) {
  return { team_id: teamOf(c.get("principal")), job_type: headers["x-job-type"] ?? "api", end_user: user ?? null };
}

/** Idempotency-Key on plain requests; a stream cannot be kept or replayed, so a streamed request runs as sent. */
const idempotentUnlessStreamed = createMiddleware<AppEnv>(async (c, next) => {
  const body = (await c.req.json().catch(() => null)) as { stream?: unknown } | null;
  if (body?.stream === true) return next();
  return idempotent(c, next);
});

export const openAIRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

openAIRoutes.openapi(
  createRoute({
    method: "post",
    path: "/chat/completions",
    tags: ["OpenAI-compatible"],
    summary: "Chat completion (OpenAI's format), billed as a job",
    description:
      `${JOB_DESCRIPTION} The same parameter whitelist, fallback, metering and redaction as llm-call. ` +
      "Plain: OpenAI's `chat.completion` rebuilt by the gateway (`id` is `chatcmpl-<call id>`, `model` the group, every choice, token-only `usage`). " +
      "`stream: true`: the chunks of llm-call-stream; the gateway always asks LiteLLM for usage and meters it, and sends the usage chunk only " +
      "when `stream_options.include_usage` is true. A stream's `Idempotency-Key` is not honoured (a stream cannot be replayed)." +
      HOLD_DESCRIPTION,
    security: security.team,
    middleware: [requireTeamCall, idempotentUnlessStreamed] as const,
    request: { headers: JobHeaders, body: jsonBody(OpenAIChatBody) },
    responses: {
      200: {
        description: "The completion (JSON), or its chunks as server-sent events when `stream` is true",
        headers: BUDGET_HEADERS,
        content: {
          "application/json": { schema: OpenAIChatCompletion },
          "text/event-stream": { schema: OpenAIChatChunks },
        },
      },
      ...openAIErrorResponses,
    },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const headers = c.req.valid("header");
    const request = openAIChat.parse(body);
    const jobId = headers["x-job-id"];
    if (body.stream === true) {
      if (jobId) return streamInJob(c, openAIChat, request, jobId, { "x-job-id": jobId });
      // No summary event on /v1: OpenAI's SDKs would read it as a chunk. The job is closed all the same.
      return oneRequestJob(c, { dialect: openAIChat, request, job: oneRequestJobOf(c, headers, body.user), stream: {} });
    }
    if (jobId) return callInJob(c, openAIChat, request, jobId, { "x-job-id": jobId });
    return oneRequestJob(c, { dialect: openAIChat, request, job: oneRequestJobOf(c, headers, body.user) });
  },
);

openAIRoutes.openapi(
  createRoute({
    method: "post",
    path: "/embeddings",
    tags: ["OpenAI-compatible"],
    summary: "Embeddings (OpenAI's format), billed as a job",
    description:
      `${JOB_DESCRIPTION} Forwarded to LiteLLM's /embeddings (\`input\`, \`encoding_format\`, \`dimensions\` only) down the group's models; ` +
      "recorded in the job as a call, metered by its prompt tokens and priced like a chat call." +
      HOLD_DESCRIPTION,
    security: security.team,
    middleware: [requireTeamCall, idempotent] as const,
    request: { headers: JobHeaders, body: jsonBody(OpenAIEmbeddingBody) },
    responses: { 200: jsonResponse(OpenAIEmbeddingList, "The embeddings"), ...openAIErrorResponses },
  }),
  async (c) => {
    const headers = c.req.valid("header");
    const body = c.req.valid("json");
    const request = openAIEmbeddings.parse(body);
    const jobId = headers["x-job-id"];
    if (jobId) return callInJob(c, openAIEmbeddings, request, jobId, { "x-job-id": jobId });
    return oneRequestJob(c, { dialect: openAIEmbeddings, request, job: oneRequestJobOf(c, headers, body.user) });
  },
);

openAIRoutes.openapi(
  createRoute({
    method: "get",
    path: "/models",
    tags: ["OpenAI-compatible"],
    summary: "The model groups the key may use (the team's, or those its key is narrowed to) as OpenAI models",
    security: security.team,
    middleware: [requireTeam] as const,
    responses: { 200: jsonResponse(OpenAIModelList, "The model groups the team may use"), ...openAIErrorResponses },
  }),
  async (c) => {
    const principal = c.get("principal");
    const repo = c.get("repo");
    const [team, keyGroups] = await Promise.all([
      repo.teams.get(teamOf(principal)),
      principal.kind === "team" ? repo.keys.groupsOfSecret(principal.keyHash) : null,
    ]);
    const created = team ? Math.floor(Date.parse(team.createdAt) / 1000) : 0;
    // A key narrowed to some groups is shown only those.
    const groups = (team?.modelGroups ?? []).filter((g) => keyGroups === null || keyGroups.includes(g));
    const data = groups.map((id) => ({ id, object: "model" as const, created, owned_by: "llm-job-gateway" as const }));
    return c.json({ object: "list" as const, data }, 200);
  },
);
