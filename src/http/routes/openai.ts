import { createRoute, OpenAPIHono, type z } from "@hono/zod-openapi";
import { openAIChat } from "../../calls/dialects/openai-chat";
import { openAIEmbeddings } from "../../calls/dialects/openai-embeddings";
import { openAIResponses } from "../../calls/dialects/openai-responses";
import { V1ModelList } from "../../schemas/anthropic";
import {
  BUDGET_HEADERS,
  CACHE_DESCRIPTION,
  HOLD_DESCRIPTION,
  jsonBody,
  jsonResponse,
  security,
  V1_JOB_DESCRIPTION,
} from "../../schemas/common";
import {
  JobHeaders,
  OpenAIChatBody,
  OpenAIChatChunks,
  OpenAIChatCompletion,
  OpenAIEmbeddingBody,
  OpenAIEmbeddingList,
  OpenAIError,
} from "../../schemas/openai";
import { ResponsesAnswer, ResponsesBody, ResponsesEvents } from "../../schemas/responses";
import type { AppEnv } from "../context";
import { apiError } from "../errors";
import { v1Call } from "../flows/v1-call";
import { requireTeam, requireTeamCall, teamOf } from "../middleware/auth";
import { idempotent, idempotentUnlessStreamed } from "../middleware/idempotency";
import { speaksAnthropic } from "../middleware/v1-errors";
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
  `${V1_JOB_DESCRIPTION} ` +
  'Errors are OpenAI\'s `{"error": {"message", "type", "param", "code"}}`; a model group that is not the team\'s is 404 `model_not_found`.';

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
      HOLD_DESCRIPTION +
      CACHE_DESCRIPTION,
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
    return v1Call(c, openAIChat, openAIChat.parse(body), c.req.valid("header"), body.stream === true);
  },
);

/**
 * What a stateless Responses API refuses: anything that stores a response or continues a stored
 * one. Null when the request asks for neither.
 */
function statefulResponsesRefusal(body: z.infer<typeof ResponsesBody>): string | null {
  const stateless = "the gateway's Responses API is stateless and stores nothing";
  if (body.previous_response_id) {
    return `'previous_response_id' cannot be used: ${stateless}; send the whole conversation in 'input' (with store: false, as here)`;
  }
  if (body.conversation !== undefined && body.conversation !== null) return `'conversation' cannot be used: ${stateless}`;
  if (body.store === true) return `'store: true' cannot be used: ${stateless} (leave 'store' out, or send false)`;
  if (body.background === true) return `'background: true' cannot be used: ${stateless}, and a background response must be stored`;
  return null;
}

openAIRoutes.openapi(
  createRoute({
    method: "post",
    path: "/responses",
    tags: ["OpenAI-compatible"],
    summary: "A response (OpenAI's Responses API), billed as a job",
    description:
      `${JOB_DESCRIPTION} Forwarded to LiteLLM's /responses with a whitelist of parameters and \`store: false\`: stateless, so ` +
      "`previous_response_id`, `conversation`, `store: true` and `background: true` are refused (400). `model` names the group; " +
      "OpenAI's `user` (else `safety_identifier`) is the call's end user and `metadata.tags` its tags (neither is sent upstream). " +
      "Plain: OpenAI's `response` rebuilt by the gateway (`id` is `resp_<call id>`, `model` the group, token-only `usage`). " +
      "`stream: true`: OpenAI's named events, ending with `response.completed` (sent once the call is recorded); the call is metered from its usage. " +
      "A stream's `Idempotency-Key` is not honoured." +
      HOLD_DESCRIPTION +
      " Without `max_output_tokens` the gateway's choice is at least 16 (OpenAI's minimum); fewer free credits than that is 402." +
      CACHE_DESCRIPTION,
    security: security.team,
    middleware: [requireTeamCall, idempotentUnlessStreamed] as const,
    request: { headers: JobHeaders, body: jsonBody(ResponsesBody) },
    responses: {
      200: {
        description: "The response (JSON), or its events as server-sent events when `stream` is true",
        headers: BUDGET_HEADERS,
        content: {
          "application/json": { schema: ResponsesAnswer },
          "text/event-stream": { schema: ResponsesEvents },
        },
      },
      ...openAIErrorResponses,
    },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const refused = statefulResponsesRefusal(body);
    if (refused) throw apiError(400, refused);
    return v1Call(c, openAIResponses, openAIResponses.parse(body), c.req.valid("header"), body.stream === true);
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
      HOLD_DESCRIPTION +
      CACHE_DESCRIPTION,
    security: security.team,
    middleware: [requireTeamCall, idempotent] as const,
    request: { headers: JobHeaders, body: jsonBody(OpenAIEmbeddingBody) },
    responses: {
      200: {
        ...jsonResponse(OpenAIEmbeddingList, "The embeddings"),
        headers: { "X-Gateway-Cache": BUDGET_HEADERS["X-Gateway-Cache"], Age: BUDGET_HEADERS.Age },
      },
      ...openAIErrorResponses,
    },
  }),
  async (c) => v1Call(c, openAIEmbeddings, openAIEmbeddings.parse(c.req.valid("json")), c.req.valid("header"), false),
);

openAIRoutes.openapi(
  createRoute({
    method: "get",
    path: "/models",
    tags: ["OpenAI-compatible"],
    summary: "The model groups the key may use, in OpenAI's list shape or (with `anthropic-version`) Anthropic's",
    description:
      "The team's groups, or those its key is narrowed to. " +
      "OpenAI's `{object: list, data: [{id, object: model, created, owned_by}]}`; a request with an `anthropic-version` header " +
      "(as Anthropic's SDKs send) gets Anthropic's `{data: [{type: model, id, display_name, created_at}], has_more, first_id, last_id}`, " +
      "all on one page.",
    security: security.team,
    middleware: [requireTeam] as const,
    responses: {
      200: {
        description: "The model groups the key may use",
        content: { "application/json": { schema: V1ModelList } },
      },
      ...openAIErrorResponses,
    },
  }),
  async (c) => {
    const principal = c.get("principal");
    const repo = c.get("repo");
    const [team, keyGroups] = await Promise.all([
      repo.teams.get(teamOf(principal)),
      principal.kind === "team" ? repo.keys.groupsOfSecret(principal.keyHash) : null,
    ]);
    const createdAt = team?.createdAt ?? new Date(0).toISOString();
    // A key narrowed to some groups is shown only those.
    const groups = (team?.modelGroups ?? []).filter((g) => keyGroups === null || keyGroups.includes(g));
    if (speaksAnthropic(c)) {
      const data = groups.map((id) => ({ type: "model" as const, id, display_name: id, created_at: createdAt }));
      return c.json({ data, has_more: false, first_id: groups[0] ?? null, last_id: groups.at(-1) ?? null }, 200);
    }
    const created = Math.floor(Date.parse(createdAt) / 1000);
    const data = groups.map((id) => ({ id, object: "model" as const, created, owned_by: "llm-job-gateway" as const }));
    return c.json({ object: "list" as const, data }, 200);
  },
);
