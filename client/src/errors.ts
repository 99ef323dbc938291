import type { GatewayFailure } from "./protocol.js";

function messageOf(status: number, detail: GatewayFailure["detail"]): string {
  if (typeof detail === "string") return `Gateway answered ${status}: ${detail}`;
  const fields = detail.map((issue) => `${issue.loc.join(".")}: ${issue.msg}`).join("; ");
  return `Gateway answered ${status}: ${fields}`;
}

/**
 * What every client method throws when the gateway refuses: the HTTP status (401 bad key, 402 not
 * enough credits, 403 another team's job, 404, 409, 422 invalid input, 429 rate limited, 5xx) and
 * the gateway's `detail`. The same error whichever door (HTTP or service binding) was used.
 */
export class GatewayError extends Error {
  readonly status: number;
  readonly detail: GatewayFailure["detail"];
  readonly retryAfter?: number;
  readonly requestId?: string;

  constructor(failure: Omit<GatewayFailure, "ok">) {
    super(messageOf(failure.status, failure.detail));
    this.name = "GatewayError";
    this.status = failure.status;
    this.detail = failure.detail;
    this.retryAfter = failure.retryAfter;
    this.requestId = failure.requestId;
  }
}

/**
 * A stream that started and then ended with the gateway's error event (the upstream broke, or the
 * call could not yet be recorded): `type` is the event's type, e.g. `call_not_yet_recorded`.
 */
export class GatewayStreamError extends GatewayError {
  readonly type: string;

  constructor(status: number, message: string, type: string) {
    super({ status, detail: message });
    this.name = "GatewayStreamError";
    this.type = type;
  }
}
