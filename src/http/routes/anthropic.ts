import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { anthropicMessages } from "../../calls/dialects/anthropic-messages";
import {
  AnthropicError,
  AnthropicHeaders,
  AnthropicVersion,
  DEFAULT_ANTHROPIC_VERSION,
  MessagesAnswer,
  MessagesBody,
  MessagesEvents,
} from "../../schemas/anthropic";
import { BUDGET_HEADERS, CACHE_DESCRIPTION, HOLD_DESCRIPTION, jsonBody, security, V1_JOB_DESCRIPTION } from "../../schemas/common";
import { JobHeaders } from "../../schemas/openai";
import type { AppEnv } from "../context";
import { apiError } from "../errors";
import { v1Call } from "../flows/v1-call";
import { requireTeamCall } from "../middleware/auth";
import { idempotentUnlessStreamed } from "../middleware/idempotency";
import { validationHook } from "../validation";

// Anthropic's Messages API on the /v1 surface: an Anthropic SDK pointed at the gateway (its base
// URL and a team key, sent as `x-api-key` or `Authorization: Bearer`) gets job billing, with
// Anthropic's answers, stream events and error shape (middleware/v1-errors.ts).

const ANTHROPIC_ERROR_STATUSES = [400, 401, 402, 403, 404, 409, 413, 422, 429, 502, 503, 504] as const;
const anthropicErrorResponses = Object.fromEntries(
  ANTHROPIC_ERROR_STATUSES.map((status) => [
    status,
    { description: "Anthropic's error shape", content: { "application/json": { schema: AnthropicError } } },
  ]),
);

/** Refuses an `anthropic-version` that is not a version date (400, as Anthropic answers a bad header), before any body is read. */
const anthropicVersion = createMiddleware<AppEnv>(async (c, next) => {
  const version = c.req.header("anthropic-version");
  if (version !== undefined && !AnthropicVersion.safeParse(version).success) {
    throw apiError(400, `anthropic-version: '${version}' is not a version; send a version date such as ${DEFAULT_ANTHROPIC_VERSION}`);
  }
  await next();
});

export const anthropicRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

anthropicRoutes.openapi(
  createRoute({
    method: "post",
    path: "/messages",
    tags: ["Anthropic-compatible"],
    summary: "A message (Anthropic's Messages API), billed as a job",
    description:
      `${V1_JOB_DESCRIPTION} Forwarded to LiteLLM's /v1/messages with a whitelist of parameters; \`model\` names the group. ` +
      "The key may be sent as `x-api-key` (as Anthropic's SDKs do) or `Authorization: Bearer`; `anthropic-version` (a version date, " +
      `absent: ${DEFAULT_ANTHROPIC_VERSION}) is passed on to LiteLLM. \`metadata.user_id\` is the call's end user and \`metadata.tags\` its tags ` +
      "(neither is sent upstream). Plain: Anthropic's `message` rebuilt by the gateway (`id` is `msg_<call id>`, `model` the group, " +
      "token-only `usage`). `stream: true`: Anthropic's named events, ending with `message_stop` (sent once the call is recorded); " +
      'metered from `message_start` and `message_delta`. Errors are Anthropic\'s `{"type": "error", "error": {"type", "message"}}` ' +
      "(402 is `billing_error`; a model group that is not the team's is 404 `not_found_error`). A stream's `Idempotency-Key` is not honoured." +
      HOLD_DESCRIPTION +
      " Anthropic requires `max_tokens`: without it LiteLLM is sent the gateway's choice, or 4096 when nothing was held (what the hold counts)." +
      CACHE_DESCRIPTION,
    security: security.team,
    middleware: [requireTeamCall, anthropicVersion, idempotentUnlessStreamed] as const,
    request: { headers: JobHeaders.extend(AnthropicHeaders), body: jsonBody(MessagesBody) },
    responses: {
      200: {
        description: "The message (JSON), or its events as server-sent events when `stream` is true",
        headers: BUDGET_HEADERS,
        content: {
          "application/json": { schema: MessagesAnswer },
          "text/event-stream": { schema: MessagesEvents },
        },
      },
      ...anthropicErrorResponses,
    },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const headers = c.req.valid("header");
    const request = { ...anthropicMessages.parse(body), version: headers["anthropic-version"] ?? DEFAULT_ANTHROPIC_VERSION };
    return v1Call(c, anthropicMessages, request, headers, body.stream === true);
  },
);
