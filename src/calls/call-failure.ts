import { CallFailure } from "../errors";
import type { Attempt } from "./upstream/litellm-client";
import { hideModelNames, sanitizeUpstreamMessage } from "./upstream/redact";

// What a team is told about a call that got no answer: the text its job records, and the
// CallFailure thrown to the route (src/http/errors.ts gives it its status).

function describeAttempt(attempt: Attempt): string {
  switch (attempt.outcome) {
    case "http_error":
      return attempt.status === 429 ? "rate limited (HTTP 429)" : `HTTP ${attempt.status}`;
    case "timeout":
      return "timed out";
    case "connection_error":
      return "connection failed";
    case "invalid_response":
      return "invalid response";
    default:
      return attempt.outcome.replace("_", " ");
  }
}

/** A call that got no answer, in the words of each audience. */
export interface DescribedFailure {
  /** The gateway's words: what the team sees in its job and what the call records as `error`. */
  error: string;
  /** The upstream's own text, cleaned of secrets: recorded for admins only. */
  upstreamError: string | null;
  /** Why a model rejected the request, cleaned of secrets and model names: only in the immediate answer. */
  rejection: string | null;
}

/** What a call that got no answer records, and what its client may be told. */
export function describeFailure(attempts: Attempt[], message: string, retryable: boolean, models: string[]): DescribedFailure {
  const last = attempts.at(-1);
  const upstreamError = message ? sanitizeUpstreamMessage(message) : null;
  if (last?.outcome === "client_closed") return { error: "The client closed the connection", upstreamError: null, rejection: null };
  if (!retryable && last?.status !== undefined) {
    return {
      error: `The model rejected the request (HTTP ${last.status})`,
      upstreamError,
      rejection: hideModelNames(sanitizeUpstreamMessage(message), models),
    };
  }
  return { error: `Every model in the group failed: ${attempts.map(describeAttempt).join("; ")}`, upstreamError, rejection: null };
}

/** How a call that produced no answer is reported to the client. */
export function callFailureOf(
  modelGroup: string,
  attempts: Attempt[],
  failure: DescribedFailure,
  retryable: boolean,
  status?: number,
): CallFailure {
  if (!retryable && status !== undefined) {
    if (status === 401 || status === 403) {
      return new CallFailure("credentials_refused", "LiteLLM refused the gateway's credentials; the operator must check LITELLM_API_KEY");
    }
    return new CallFailure("request_rejected", failure.error, failure.rejection ?? undefined);
  }
  if (attempts.length > 0 && attempts.every((a) => a.outcome === "timeout")) {
    return new CallFailure("timed_out", `Every model in group '${modelGroup}' timed out`);
  }
  return new CallFailure(
    "every_model_failed",
    `Every model in group '${modelGroup}' failed (${attempts.length} attempt${attempts.length === 1 ? "" : "s"})`,
  );
}
