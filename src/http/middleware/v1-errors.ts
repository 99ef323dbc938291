import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import { LedgerRefusal } from "../../errors";
import type { AppContext, AppEnv } from "../context";
import type { ValidationIssue } from "../errors";

// The /v1 surface's presentation of the gateway's failures. The statuses and messages come from
// the one mapping in errors.ts (every route throws the same failures); this only re-shapes the
// `{"detail": ...}` answer as the dialect's SDKs expect it, so they raise their own error classes:
// OpenAI's `{"error": {message, type, param, code}}`, or on /v1/messages (and for a request that
// names an `anthropic-version`) Anthropic's `{"type": "error", "error": {type, message}}`. One
// difference of status: a model group that does not exist or is not the team's is 404 here (as
// both APIs answer an unknown model), 403 on /api.

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

/** Anthropic's error type for a status (what its SDKs read beside the status). */
const ANTHROPIC_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  409: "invalid_request_error",
  413: "request_too_large",
  422: "invalid_request_error",
  429: "rate_limit_error",
  504: "timeout_error",
};

export interface AnthropicErrorBody {
  type: "error";
  error: { type: string; message: string };
  request_id?: string;
}

/** Anthropic's error body for a status and message (a validation list is named field by field). */
export function anthropicErrorBody(status: number, detail: unknown, requestId?: string): AnthropicErrorBody {
  const type = ANTHROPIC_TYPES[status] ?? (status >= 500 ? "api_error" : "invalid_request_error");
  const message = Array.isArray(detail)
    ? (detail as ValidationIssue[]).map((issue) => `${issue.loc.slice(1).join(".") || issue.loc.join(".")}: ${issue.msg}`).join("; ") ||
      "Invalid request"
    : typeof detail === "string"
      ? detail
      : "Request failed";
  return { type: "error", error: { type, message }, ...(requestId ? { request_id: requestId } : {}) };
}

/** Whether a /v1 request speaks Anthropic's dialect: its Messages route, or anything sent with `anthropic-version` (its SDKs always send it). */
export function speaksAnthropic(c: AppContext): boolean {
  return c.req.path === "/v1/messages" || c.req.header("anthropic-version") !== undefined;
}

/**
 * Middleware for /v1/*: once the route (or its middleware, or the error handler) has answered,
 * an error answer in the gateway's `{"detail"}` shape is given again in the dialect's. Its headers
 * (Retry-After, x-request-id) are kept; a one-request job's `job_id` moves to `x-job-id`.
 */
export const v1ErrorShape = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  const answered = c.res;
  if (answered.status < 400 || !answered.headers.get("content-type")?.includes("application/json")) return;
  const body = (await answered
    .clone()
    .json()
    .catch(() => null)) as { detail?: unknown; job_id?: unknown } | null;
  if (body === null || !("detail" in body)) return;
  // A group the team may not use (or that does not exist) is an unknown model, 404, where /api says 403.
  const notAssigned =
    (c.error instanceof HTTPException && c.error.cause === "model_group_not_assigned") ||
    (c.error instanceof LedgerRefusal && c.error.code === "GROUP_NOT_ASSIGNED");
  const status = notAssigned ? 404 : answered.status;
  let shaped: OpenAIErrorBody | AnthropicErrorBody;
  if (speaksAnthropic(c)) {
    shaped = anthropicErrorBody(status, body.detail, c.get("requestId"));
  } else {
    shaped = openAIErrorBody(status, body.detail);
    if (notAssigned) shaped.error.code = "model_not_found";
  }
  const headers = new Headers(answered.headers);
  headers.delete("content-length");
  if (typeof body.job_id === "string") headers.set("x-job-id", body.job_id);
  c.res = undefined;
  c.res = Response.json(shaped, { status, headers });
});
