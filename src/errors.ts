// How the layers below HTTP (D1, the team ledger, the calls to LiteLLM) say a request cannot
// be served. Plain errors with no HTTP in them: src/http/errors.ts gives each its status and
// `{"detail": ...}` body, in one place. Each message is written for the team that sent the
// request: it never names a model, a key or a stack.

/** A store the gateway needs is unreachable: it fails closed. */
export class DependencyDown extends Error {
  readonly kind = "dependency_down";

  constructor(readonly dependency: "database" | "ledger") {
    super(dependency === "database" ? "Database unavailable; please retry" : "Team ledger unavailable; please retry");
  }
}

/** Why a team's ledger refuses a request (each has its status in src/http/errors.ts). */
export type LedgerErrorCode =
  | "ACCOUNT_NOT_FOUND"
  | "ACCOUNT_EXISTS"
  | "TEAM_SUSPENDED"
  | "TEAM_PAUSED"
  | "RATE_LIMITED"
  | "INSUFFICIENT_CREDITS"
  /** A key's or an end user's period budget has no room for what is asked (402, naming the budget and its reset). */
  | "BUDGET_EXCEEDED"
  /** A call in a job opened with another key of the team. */
  | "JOB_OF_ANOTHER_KEY"
  | "JOB_NOT_FOUND"
  | "JOB_EXISTS"
  | "JOB_FINISHED"
  | "JOB_STATUS_CONFLICT"
  | "JOB_OWNED_BY_GATEWAY"
  | "JOB_CALL_LIMIT"
  | "JOB_NOT_CHARGED"
  | "ALREADY_REFUNDED"
  | "INVALID_ARGUMENT"
  /** A call in a job names an end user other than the job's. */
  | "END_USER_MISMATCH"
  /** An operation id (an Idempotency-Key) already used for another request. */
  | "OPERATION_MISMATCH"
  /** A team key the team's object does not hold, or holds as revoked or past its grace period. */
  | "INVALID_KEY"
  | "GROUP_NOT_ASSIGNED"
  | "GROUP_HAS_NO_MODELS"
  /** The object could not load its team's keys and groups from D1 (a team older than its access list). */
  | "ACCESS_UNAVAILABLE"
  /** The object could not read a call's prices from D1 to hold its worst case (overdraft none, consumption_usd). */
  | "PRICING_UNAVAILABLE"
  | "GRANT_NOT_FOUND"
  /** A grant with this external_ref was made before, with other terms. */
  | "GRANT_EXISTS"
  /** A grant that has already expired or been voided. */
  | "GRANT_ENDED"
  | "ALLOWANCE_NOT_FOUND";

/** The team's ledger refused (no credits, job finished, team paused...): its code says why. */
export class LedgerRefusal extends Error {
  readonly kind = "ledger_refusal";

  constructor(
    readonly code: LedgerErrorCode,
    readonly detail: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(detail);
  }
}

/** Why an LLM call produced no answer the team can have. */
export type CallFailureKind =
  /** LiteLLM refused the gateway's own key: the operator's problem, not the team's. */
  | "credentials_refused"
  /** A model rejected the request itself (the next model would too). */
  | "request_rejected"
  /** Every model in the group timed out. */
  | "timed_out"
  /** Every model in the group failed, not all by timing out. */
  | "every_model_failed"
  /** A model answered 2xx with something that is not a chat completion. */
  | "invalid_response";

/**
 * `message` is the gateway's own words (what a job records); `rejection` is why a model
 * rejected the request, cleaned, added only to the immediate answer so the client can fix it.
 */
export class CallFailure extends Error {
  readonly kind = "call_failure";

  constructor(
    readonly reason: CallFailureKind,
    message: string,
    readonly rejection?: string,
  ) {
    super(message);
  }
}

/** Every failure a lower layer reports; the HTTP layer maps each exhaustively. */
export type GatewayFailure = DependencyDown | LedgerRefusal | CallFailure;

export function isGatewayFailure(error: unknown): error is GatewayFailure {
  return error instanceof DependencyDown || error instanceof LedgerRefusal || error instanceof CallFailure;
}

/**
 * A write D1 refused because the row already exists (a UNIQUE violation). Routes catch it and
 * say what already exists; it is not a GatewayFailure because only the route knows what.
 */
export class Conflict extends Error {}
