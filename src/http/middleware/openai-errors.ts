import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import { LedgerRefusal } from "../../errors";
import type { AppEnv } from "../context";
import type { ValidationIssue } from "../errors";

// The /v1 surface's presentation of the gateway's failures. The statuses and messages come from
// the one mapping in errors.ts (every route throws the same failures); this only re-shapes the
// `{"detail": ...}` answer as OpenAI's `{"error": {message, type, param, code}}`, so the OpenAI
// SDKs raise their own error classes. One difference of status: a model group that does not
// exist or is not the team's is 404 `model_not_found` here (as OpenAI answers), 403 on /api.

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

const TYPE_AND_CODE: Record<number, [type: string, code: string | null]> = {
  400: ["invalid_request_error", null],
  401: ["invalid_request_error", "invalid_api_key"],
  402: ["insufficient_quota", "insufficient_quota"],
  403: ["permission_error", "permission_denied"],
  404: ["invalid_request_error", "not_found"],
  409: ["invalid_request_error", "conflict"],
  413: ["invalid_request_error", "request_too_large"],
  422: ["invalid_request_error", "invalid_value"],
  429: ["rate_limit_error", "rate_limit_exceeded"],
  502: ["api_error", "upstream_error"],
  503: ["api_error", "service_unavailable"],
  504: ["api_error", "upstream_timeout"],
};

function typeAndCode(status: number): [string, string | null] {
  return TYPE_AND_CODE[status] ?? (status >= 500 ? ["api_error", null] : ["invalid_request_error", null]);
}

/** OpenAI's error body for a status and message (a validation list names its first field as `param`). */
export function openAIErrorBody(status: number, detail: unknown): OpenAIErrorBody {
  const [type, code] = typeAndCode(status);
  if (Array.isArray(detail)) {
    const issues = detail as ValidationIssue[];
    const describe = (issue: ValidationIssue) => `${issue.loc.slice(1).join(".") || issue.loc.join(".")}: ${issue.msg}`;
    const first = issues[0];
    const param = first ? first.loc.slice(1).join(".") || null : null;
    return { error: { message: issues.map(describe).join("; ") || "Invalid request", type, param, code } };
  }
  return { error: { message: typeof detail === "string" ? detail : "Request failed", type, param: null, code } };
}

/**
 * Middleware for /v1/*: once the route (or its middleware, or the error handler) has answered,
 * an error answer in the gateway's `{"detail"}` shape is given again in OpenAI's. Its headers
 * (Retry-After, x-request-id) are kept; a one-request job's `job_id` moves to `x-job-id`.
 */
export const openAIErrorShape = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  const answered = c.res;
  if (answered.status < 400 || !answered.headers.get("content-type")?.includes("application/json")) return;
  const body = (await answered
    .clone()
    .json()
    .catch(() => null)) as { detail?: unknown; job_id?: unknown } | null;
  if (body === null || !("detail" in body)) return;
  // A group the team may not use (or that does not exist) is OpenAI's 404 model_not_found, where /api says 403.
  const notAssigned =
    (c.error instanceof HTTPException && c.error.cause === "model_group_not_assigned") ||
    (c.error instanceof LedgerRefusal && c.error.code === "GROUP_NOT_ASSIGNED");
  const status = notAssigned ? 404 : answered.status;
  const shaped = openAIErrorBody(status, body.detail);
  if (notAssigned) shaped.error.code = "model_not_found";
  const headers = new Headers(answered.headers);
  headers.delete("content-length");
  if (typeof body.job_id === "string") headers.set("x-job-id", body.job_id);
  c.res = undefined;
  c.res = Response.json(shaped, { status, headers });
});
