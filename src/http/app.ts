import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import { Repository } from "../db/repository";
import { isGatewayFailure } from "../errors";
import { log } from "../log";
import { Health } from "../schemas/common";
import type { AppContext, AppEnv } from "./context";
import { apiError, failureToHttp } from "./errors";
import { actingAdminOf } from "./middleware/acting-admin";
import { limitJsonDepth } from "./middleware/json-depth";
import { v1ErrorShape } from "./middleware/v1-errors";
import { adminKeyRoutes } from "./routes/admin-keys";
import { anthropicRoutes } from "./routes/anthropic";
import { auditLogRoutes } from "./routes/audit-log";
import { creditRoutes } from "./routes/credits";
import { docsRoutes } from "./routes/docs";
import { grantRoutes } from "./routes/grants";
import { jobRoutes, teamJobRoutes } from "./routes/jobs";
import { keyRoutes } from "./routes/keys";
import { modelGroupRoutes } from "./routes/model-groups";
import { openAIRoutes } from "./routes/openai";
import { organizationRoutes } from "./routes/organizations";
import { pricingRoutes } from "./routes/pricing";
import { organizationUsageRoutes, statsRoutes, teamUsageRoutes } from "./routes/reports";
import { streamingRoutes } from "./routes/streaming";
import { teamRoutes } from "./routes/teams";
import { webhookRoutes } from "./routes/webhooks";
import { validationHook } from "./validation";

export const MAX_BODY_BYTES = 1024 * 1024;

/** On /v1 a team key may come as `x-api-key`, as Anthropic's SDKs send it (auth.ts reads it). */
const acceptApiKeyHeader = createMiddleware<AppEnv>(async (c, next) => {
  c.set("acceptsApiKeyHeader", true);
  await next();
});

/** Gives every response an x-request-id (the client's, when it sent a sane one) and logs one line per request. */
function requestContext() {
  return createMiddleware<AppEnv>(async (c, next) => {
    const given = c.req.header("x-request-id");
    const requestId = given && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : crypto.randomUUID();
    const started = Date.now();
    c.set("requestId", requestId);
    c.set("repo", new Repository(c.env.DB));
    // Read before any middleware can replace the Request object (bodyLimit does).
    const consoleAdmin = actingAdminOf(c.req.raw);
    if (consoleAdmin) c.set("consoleAdmin", consoleAdmin);
    await next();
    try {
      c.res.headers.set("x-request-id", requestId);
    } catch {
      c.res = new Response(c.res.body, c.res);
      c.res.headers.set("x-request-id", requestId);
    }
    const principal = c.get("principal");
    const line = {
      request_id: requestId,
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      duration_ms: Date.now() - started,
      ...(principal?.kind === "team"
        ? { team_id: principal.teamId }
        : principal
          ? { caller: "admin", admin_key_id: principal.identity.keyId }
          : {}),
    };
    afterAnswer(c, () => log("info", "request", line));
  });
}

/**
 * Runs `work` once the answer has gone to the runtime (a later task, kept alive by waitUntil), so
 * nothing that the client does not need comes before its first byte. Without an execution
 * context (an in-process request), at once.
 */
function afterAnswer(c: AppContext, work: () => void): void {
  let background: { waitUntil(promise: Promise<unknown>): void };
  try {
    background = c.executionCtx;
  } catch {
    work();
    return;
  }
  background.waitUntil(new Promise<void>((resolve) => setTimeout(resolve, 0)).then(work));
}

export function createApp(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.use("*", requestContext());
  const limitBody = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw apiError(413, `Request body is larger than ${MAX_BODY_BYTES} bytes`);
    },
  });
  app.use("/api/*", limitBody, limitJsonDepth);
  // The /v1 surface answers its errors in its dialect's shape, OpenAI's or Anthropic's (the same failures, re-shaped).
  app.use("/v1/*", v1ErrorShape, limitBody, limitJsonDepth, acceptApiKeyHeader);

  app.openapi(
    {
      method: "get",
      path: "/health",
      tags: ["Health"],
      summary: "Liveness",
      responses: {
        200: {
          description: "The gateway is up",
          content: { "application/json": { schema: Health } },
        },
      },
    },
    (c) => c.json({ status: "healthy" as const, service: "llm-job-gateway" }, 200),
  );

  app.route("/api/organizations", organizationRoutes);
  app.route("/api/model-groups", modelGroupRoutes);
  app.route("/api/teams", teamRoutes);
  app.route("/api/teams", keyRoutes);
  app.route("/api/teams", teamJobRoutes);
  app.route("/api/teams", teamUsageRoutes);
  app.route("/api/organizations", organizationUsageRoutes);
  app.route("/api/stats", statsRoutes);
  app.route("/api/credits", creditRoutes);
  app.route("/api/credits", grantRoutes);
  app.route("/api/jobs", jobRoutes);
  app.route("/api/jobs", streamingRoutes);
  app.route("/api/pricing", pricingRoutes);
  app.route("/api/admin-keys", adminKeyRoutes);
  app.route("/api/audit-log", auditLogRoutes);
  app.route("/v1", openAIRoutes);
  app.route("/v1", anthropicRoutes);
  app.route("/api", webhookRoutes);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    description: "A team's virtual key, or an admin key (ADMIN_API_KEY or a named `sk-admin-` key)",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "adminKey", { type: "apiKey", in: "header", name: "X-Admin-Key" });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "LLM job gateway",
      version: "0.1.0",
      description:
        'Multi-tenant LLM gateway with job-based billing. Errors are `{"detail": ...}`; validation errors are 422. ' +
        'The OpenAI-compatible routes under `/v1` answer errors in OpenAI\'s shape, `{"error": {"message", "type", "param", "code"}}`; ' +
        '`/v1/messages` (and any `/v1` request with an `anthropic-version` header) in Anthropic\'s, `{"type": "error", "error": {"type", "message"}}`.',
    },
  });
  app.route("/docs", docsRoutes);

  app.notFound((c) => c.json({ detail: "Not found" }, 404));

  app.onError((error, c) => {
    if (isGatewayFailure(error)) return failureToHttp(error).getResponse();
    if (error instanceof HTTPException) {
      if (error.res) return error.getResponse();
      // Hono's own exceptions (e.g. a JSON body that does not parse) get our error shape.
      if (error.status === 400 && /JSON/i.test(error.message)) {
        return c.json({ detail: [{ loc: ["body"], msg: "body is not valid JSON", type: "json_invalid" }] }, 422);
      }
      // A body that is not declared as JSON is invalid input (422, as FastAPI answers), not a 415 clients do not expect.
      if (error.status === 415) {
        return c.json(
          { detail: [{ loc: ["body"], msg: "body must be JSON, sent with 'Content-Type: application/json'", type: "content_type" }] },
          422,
        );
      }
      return c.json({ detail: error.message || "Bad request" }, error.status);
    }
    log("error", "unhandled error", {
      request_id: c.get("requestId"),
      path: c.req.path,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
    return c.json({ detail: "Internal error; the request was not completed" }, 500);
  });

  return app;
}
