import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { LedgerErrorCode } from "../ledger/types";

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
): HTTPException {
  return new HTTPException(status, {
    message: typeof detail === "string" ? detail : "validation error",
    res: Response.json({ detail }, { status, headers }),
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
  JOB_NOT_FOUND: 404,
  JOB_EXISTS: 409,
  JOB_FINISHED: 409,
  JOB_STATUS_CONFLICT: 409,
  JOB_NOT_CHARGED: 400,
  ALREADY_REFUNDED: 409,
  INVALID_ARGUMENT: 422,
};

/** Seconds a paused team is told to wait before trying again. */
const PAUSED_RETRY_AFTER_SECONDS = "60";

export function ledgerError(code: LedgerErrorCode, detail: string, retryAfterSeconds?: number): HTTPException {
  const retryAfter =
    retryAfterSeconds !== undefined ? String(retryAfterSeconds) : code === "TEAM_PAUSED" ? PAUSED_RETRY_AFTER_SECONDS : undefined;
  return apiError(LEDGER_STATUS[code], detail, retryAfter ? { "Retry-After": retryAfter } : {});
}

export const dependencyDown = {
  database: () => apiError(503, "Database unavailable; please retry"),
  ledger: () => apiError(503, "Team ledger unavailable; please retry"),
};

/** Turns D1 "UNIQUE constraint failed" (single query: in e.cause; batch: in e.message) into a boolean. */
export function isUniqueViolation(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (/UNIQUE constraint failed|PRIMARY KEY/i.test(e.message)) return true;
  }
  return false;
}
