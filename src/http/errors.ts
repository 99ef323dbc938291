import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { type CallFailureKind, type GatewayFailure, isGatewayFailure, type LedgerRefusal } from "../errors";
import type { LedgerErrorCode } from "../ledger/types";

/** What a failure was, where a second presentation (the /v1 surface) must tell it apart from others of its status. */
export type FailureCause = "model_group_not_assigned";

/** A validation problem in FastAPI's shape, which existing clients parse. */
export interface ValidationIssue {
  loc: Array<string | number>;
  msg: string;
  type: string;
}

/**
 * The one way a request fails: an HTTPException that carries its own `{"detail": ...}`
 * response. Messages are written for the client; they never carry a stack or a secret.
 */
export function apiError(
  status: ContentfulStatusCode,
  detail: string | ValidationIssue[],
  headers: Record<string, string> = {},
  cause?: FailureCause,
): HTTPException {
  return new HTTPException(status, {
    message: typeof detail === "string" ? detail : "validation error",
    res: Response.json({ detail }, { status, headers }),
    cause,
  });
}

export function validationError(issues: ValidationIssue[]): HTTPException {
  return apiError(422, issues);
}

const LEDGER_STATUS: Record<LedgerErrorCode, ContentfulStatusCode> = {
  ACCOUNT_NOT_FOUND: 404,
  ACCOUNT_EXISTS: 400,
  TEAM_SUSPENDED: 403,
  TEAM_PAUSED: 429,
  RATE_LIMITED: 429,
  INSUFFICIENT_CREDITS: 402,
  BUDGET_EXCEEDED: 402,
  JOB_OF_ANOTHER_KEY: 403,
  JOB_NOT_FOUND: 404,
  JOB_EXISTS: 409,
  JOB_FINISHED: 409,
  JOB_STATUS_CONFLICT: 409,
  JOB_OWNED_BY_GATEWAY: 409,
  JOB_CALL_LIMIT: 409,
  JOB_NOT_CHARGED: 400,
  ALREADY_REFUNDED: 409,
  INVALID_ARGUMENT: 422,
  END_USER_MISMATCH: 422,
  OPERATION_MISMATCH: 422,
  INVALID_KEY: 401,
  GROUP_NOT_ASSIGNED: 403,
  GROUP_HAS_NO_MODELS: 502,
  ACCESS_UNAVAILABLE: 503,
  PRICING_UNAVAILABLE: 503,
  GRANT_NOT_FOUND: 404,
  GRANT_EXISTS: 400,
  GRANT_ENDED: 409,
  ALLOWANCE_NOT_FOUND: 404,
};

/** Seconds a paused team is told to wait before trying again. */
const PAUSED_RETRY_AFTER_SECONDS = "60";

function ledgerError(refusal: LedgerRefusal): HTTPException {
  const { code, detail, retryAfterSeconds } = refusal;
  const retryAfter =
    retryAfterSeconds !== undefined ? String(retryAfterSeconds) : code === "TEAM_PAUSED" ? PAUSED_RETRY_AFTER_SECONDS : undefined;
  const cause = code === "GROUP_NOT_ASSIGNED" ? "model_group_not_assigned" : undefined;
  // A 422 is FastAPI's list naming what is wrong, as every 422 is; the end user may come from
  // X-End-User-Id or the body (OpenAI's `user`, Anthropic's `metadata.user_id`).
  const answer = code === "END_USER_MISMATCH" ? [{ loc: ["request", "end_user"], msg: detail, type: "value_error" }] : detail;
  return apiError(LEDGER_STATUS[code], answer, retryAfter ? { "Retry-After": retryAfter } : {}, cause);
}

const CALL_FAILURE_STATUS: Record<CallFailureKind, ContentfulStatusCode> = {
  credentials_refused: 502,
  request_rejected: 400,
  timed_out: 504,
  every_model_failed: 502,
  invalid_response: 502,
};

/**
 * The one mapping from what a lower layer reports to what the client gets. Exhaustive: a new
 * kind of failure does not compile until it has its answer here.
 */
export function failureToHttp(failure: GatewayFailure): HTTPException {
  switch (failure.kind) {
    case "dependency_down":
      return apiError(503, failure.message);
    case "ledger_refusal":
      return ledgerError(failure);
    case "call_failure":
      return apiError(
        CALL_FAILURE_STATUS[failure.reason],
        failure.rejection ? `${failure.message}: ${failure.rejection}` : failure.message,
      );
    default: {
      const unmapped: never = failure;
      throw new Error(`unmapped failure ${String(unmapped)}`);
    }
  }
}

/** An error as the HTTPException carrying its answer: a lower layer's failure is mapped, anything else is left as it is. */
export function asHttpError(error: unknown): unknown {
  return isGatewayFailure(error) ? failureToHttp(error) : error;
}
