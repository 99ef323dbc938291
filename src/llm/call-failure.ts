import { CallFailure } from "../errors";
import type { Attempt } from "./litellm-client";
import { hideModelNames, sanitizeUpstreamMessage } from "./redact";

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

/** What a team is told (and what its job records) about a call that got no answer. */
export function describeFailure(attempts: Attempt[], message: string, retryable: boolean, models: string[]): string {
  const last = attempts.at(-1);
  if (last?.outcome === "client_closed") return "The client closed the connection";
  if (!retryable && last?.status !== undefined) {
    return `The model rejected the request (HTTP ${last.status}): ${hideModelNames(sanitizeUpstreamMessage(message), models)}`;
  }
  return `Every model in the group failed: ${attempts.map(describeAttempt).join("; ")}`;
}

/** How a call that produced no answer is reported to the client. */
export function callFailureOf(
  modelGroup: string,
  attempts: Attempt[],
  teamMessage: string,
  retryable: boolean,
  status?: number,
): CallFailure {
  if (!retryable && status !== undefined) {
    if (status === 401 || status === 403) {
      return new CallFailure("credentials_refused", "LiteLLM refused the gateway's credentials; the operator must check LITELLM_API_KEY");
    }
    return new CallFailure("request_rejected", teamMessage);
  }
  if (attempts.length > 0 && attempts.every((a) => a.outcome === "timeout")) {
    return new CallFailure("timed_out", `Every model in group '${modelGroup}' timed out`);
  }
  return new CallFailure(
    "every_model_failed",
    `Every model in group '${modelGroup}' failed (${attempts.length} attempt${attempts.length === 1 ? "" : "s"})`,
  );
}
