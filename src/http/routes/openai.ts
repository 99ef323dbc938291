import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import type { CompletionSummary } from "../../ledger/types";
import { type BackgroundWork, type CallInput, outliving } from "../../llm/call-record";
import { type ChatCompletionResult, runChatCompletion } from "../../llm/run-call";
import { runEmbedding } from "../../llm/run-embedding";
import { budgetMaxTokensHeader, runStreamCall } from "../../llm/run-stream";
import { requireTeam, requireTeamCall, teamOf } from "../auth";
import { admitCall, type CallBody, type CallKind, PLAIN_CHAT, STREAMED_CHAT } from "../calls";
import type { AppContext, AppEnv } from "../context";
import { idempotent, operationId } from "../idempotency";
import {
  closeAfterError,
  closeJob,
  earlierOneRequestAnswer,
  type OneRequestBody,
  oneRequestJobStatus,
  startOneRequestJob,
} from "../one-request-job";
import { BUDGET_HEADERS, HOLD_DESCRIPTION, jsonBody, jsonResponse, security } from "../schemas/common";
import {
  JobHeaders,
  OpenAIChatBody,
  OpenAIChatCompletion,
  OpenAIEmbeddingBody,
  OpenAIEmbeddingList,
  OpenAIError,
  OpenAIModelList,
} from "../schemas/openai";
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

/** A /v1 request as the job API's call body: `model` names the group. */
function callBodyOf(body: { model: string }, params: Record<string, unknown>): CallBody {
  return { ...params, messages: (params.messages as unknown[]) ?? [], model_group: body.model, purpose: null };
}

function oneRequestBodyOf(c: AppContext, call: CallBody, jobType: string | undefined): OneRequestBody {
  return { ...call, team_id: teamOf(c.get("principal")), job_type: jobType ?? "api" };
}

/**
 * The call's input and, for a one-request job, how its job ends: in the job named by X-Job-Id,
 * or in a new one-request job. `finish` closes a one-request job after the call (failed when
 * the call threw) and is a no-op for a call in the team's own job.
 */
async function admitV1Call(c: AppContext, call: CallBody, kind: CallKind, headers: z.infer<typeof JobHeaders>) {
  const teamId = teamOf(c.get("principal"));
  if (headers["x-job-id"]) {
    const input = await admitCall(c, teamId, headers["x-job-id"], call, kind);
    return { input, jobId: input.jobId, oneRequest: false };
  }
  const { jobId, input } = await startOneRequestJob(c, oneRequestBodyOf(c, call, headers["x-job-type"]), kind);
  return { input, jobId, oneRequest: true };
}

/**
 * Runs a plain call of a one-request job: closed failed when the call throws (charged only what it consumed, under `unfinished_jobs: charged`), and
 * completed (charged) with the answer kept for an Idempotency-Key retry when it succeeds.
 */
async function inOneRequestJob<T>(c: AppContext, input: CallInput, run: () => Promise<T>): Promise<T> {
  const work: BackgroundWork = c.executionCtx;
  let answer: T;
  try {
    answer = await run();
  } catch (error) {
    throw await outliving(work, closeAfterError(c.env, input.teamId, input.jobId, error, operationId(c, "complete")));
  }
  const operation = { id: operationId(c, "complete"), keep: JSON.stringify(answer) };
  await outliving(work, closeJob(c.env, input.teamId, input.jobId, "completed", null, operation));
  return answer;
}

function chatCompletionOf(result: ChatCompletionResult) {
  const { answer } = result;
  return {
    id: `chatcmpl-${answer.call_id}`,
    object: "chat.completion" as const,
    created: result.created,
    model: answer.metadata.model_group,
    choices: result.choices,
    usage: {
      prompt_tokens: answer.metadata.prompt_tokens,
      completion_tokens: answer.metadata.completion_tokens,
      total_tokens: answer.metadata.tokens_used,
    },
  };
}

/** A kept /v1 answer given again, with its job's id. */
const replayKept =
  <T>() =>
  (c: AppContext, kept: unknown, jobId: string, _summary: CompletionSummary) =>
    c.json(kept as T, 200, { "x-job-id": jobId });

/** Idempotency-Key on plain requests; a stream cannot be kept or replayed, so a streamed request runs as sent. */
const idempotentUnlessStreamed = createMiddleware<AppEnv>(async (c, next) => {
  const body = (await c.req.json().catch(() => null)) as { stream?: unknown } | null;
  if (body?.stream === true) return next();
  return idempotent(c, next);
});

type ChatCompletion = z.infer<typeof OpenAIChatCompletion>;
type EmbeddingList = z.infer<typeof OpenAIEmbeddingList>;

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
          "text/event-stream": {
            schema: z.string().openapi({ description: "`data: <chat.completion.chunk>` events, then `data: [DONE]`" }),
          },
        },
      },
      ...openAIErrorResponses,
    },
  }),
  async (c) => {
    const { model, stream, stream_options, user: _user, ...params } = c.req.valid("json");
    const headers = c.req.valid("header");
    const call = callBodyOf({ model }, params);
    if (stream !== true && !headers["x-job-id"]) {
      const earlier = await earlierOneRequestAnswer(c, oneRequestBodyOf(c, call, headers["x-job-type"]), replayKept<ChatCompletion>());
      if (earlier) return earlier;
    }
    const { input, jobId, oneRequest } = await admitV1Call(c, call, stream === true ? STREAMED_CHAT : PLAIN_CHAT, headers);
    if (stream === true) {
      const options = { headers: { "x-job-id": jobId }, withholdUsage: stream_options?.include_usage !== true };
      if (!oneRequest) return runStreamCall(c.env, c.get("repo"), c.executionCtx, input, c.req.raw.signal, options);
      try {
        return await runStreamCall(c.env, c.get("repo"), c.executionCtx, input, c.req.raw.signal, {
          ...options,
          // No summary event on /v1: OpenAI's SDKs would read it as a chunk. The job is closed all the same.
          afterRecord: async (ended) => {
            const { status, errorMessage } = oneRequestJobStatus(ended);
            await closeJob(c.env, input.teamId, jobId, status, errorMessage, { id: operationId(c, "complete") });
            return null;
          },
        });
      } catch (error) {
        throw await closeAfterError(c.env, input.teamId, jobId, error, operationId(c, "complete"));
      }
    }
    const run = () => runChatCompletion(c.env, c.get("repo"), c.executionCtx, input, c.req.raw.signal).then(chatCompletionOf);
    const completion = oneRequest ? await inOneRequestJob(c, input, run) : await run();
    return c.json(completion, 200, { "x-job-id": jobId, ...budgetMaxTokensHeader(input) });
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
    const { model, input: text, encoding_format, dimensions } = c.req.valid("json");
    const headers = c.req.valid("header");
    const call = callBodyOf({ model }, { messages: [] });
    if (!headers["x-job-id"]) {
      const earlier = await earlierOneRequestAnswer(c, oneRequestBodyOf(c, call, headers["x-job-type"]), replayKept<EmbeddingList>());
      if (earlier) return earlier;
    }
    const { input, jobId, oneRequest } = await admitV1Call(c, call, { kind: "embeddings", input: text }, headers);
    const params = { input: text, encoding_format: encoding_format ?? undefined, dimensions: dimensions ?? undefined };
    const run = async () => {
      const answer = await runEmbedding(c.env, c.get("repo"), c.executionCtx, input, params, c.req.raw.signal);
      return {
        object: "list" as const,
        data: answer.data,
        model: input.modelGroup,
        usage: { prompt_tokens: answer.promptTokens, total_tokens: answer.totalTokens },
      };
    };
    const list = oneRequest ? await inOneRequestJob(c, input, run) : await run();
    return c.json(list, 200, { "x-job-id": jobId });
  },
);

openAIRoutes.openapi(
  createRoute({
    method: "get",
    path: "/models",
    tags: ["OpenAI-compatible"],
    summary: "The team's model groups as OpenAI models",
    security: security.team,
    middleware: [requireTeam] as const,
    responses: { 200: jsonResponse(OpenAIModelList, "The model groups the team may use"), ...openAIErrorResponses },
  }),
  async (c) => {
    const team = await c.get("repo").getTeam(teamOf(c.get("principal")));
    const created = team ? Math.floor(Date.parse(team.createdAt) / 1000) : 0;
    const data = (team?.modelGroups ?? []).map((id) => ({ id, object: "model" as const, created, owned_by: "llm-job-gateway" as const }));
    return c.json({ object: "list" as const, data }, 200);
  },
);
