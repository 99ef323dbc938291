// The one mapping between the client's methods and the gateway's HTTP routes, and between an HTTP
// answer and a typed result. The client's HTTP mode sends these requests over the network; the
// gateway's `GatewayRpc` entrypoint dispatches the very same requests into its own app in-process,
// so both doors go through the same routes and the same rules.

import type {
  Balance,
  CompleteJobRequest,
  CreateJobRequest,
  Job,
  JobCompletion,
  JobCreated,
  LlmCallAnswer,
  LlmCallRequest,
  Usage,
  ValidationError,
} from "./schemas.gen.js";

/** The request bodies of the methods below, for code that implements GatewayBinding (the gateway's own RPC entrypoint). */
export type { CompleteJobRequest, CreateJobRequest, LlmCallRequest };

/** Options of the methods that move money: a retry with the same key is answered once (sent as `Idempotency-Key`). */
export interface MoneyOptions {
  idempotencyKey?: string;
}

/** Which page of a job's calls getJob shows. */
export interface CallsPage {
  calls_limit?: number;
  calls_offset?: number;
}

export interface UsageQuery {
  /** YYYY-MM (UTC); the current month when left out. */
  period?: string;
}

/** A refusal as the gateway answers it: the HTTP status and its `detail` (a list of field errors for 422). */
export interface GatewayFailure {
  ok: false;
  status: number;
  detail: string | ValidationError["detail"];
  /** Seconds to wait before trying again (429), when the gateway said so. */
  retryAfter?: number;
  /** The gateway's request id, to quote when asking about this answer. */
  requestId?: string;
}

export type GatewayResult<T> = { ok: true; value: T } | GatewayFailure;

/** One method of the gateway's team-facing API, with its arguments. */
export type GatewayOperation =
  | { method: "createJob"; body: CreateJobRequest; options?: MoneyOptions }
  | { method: "call"; jobId: string; body: LlmCallRequest }
  | { method: "stream"; jobId: string; body: LlmCallRequest }
  | { method: "complete"; jobId: string; body: CompleteJobRequest; options?: MoneyOptions }
  | { method: "getJob"; jobId: string; query?: CallsPage }
  | { method: "balance"; teamId: string }
  | { method: "usage"; teamId: string; query?: UsageQuery };

/** What each method answers when it succeeds. */
export interface GatewayAnswers {
  createJob: JobCreated;
  call: LlmCallAnswer;
  stream: ReadableStream<Uint8Array>;
  complete: JobCompletion;
  getJob: Job;
  balance: Balance;
  usage: Usage;
}

/**
 * The gateway's `GatewayRpc` entrypoint as a service binding shows it: the team's virtual key
 * first, then the method's arguments. Every method answers a `GatewayResult`; none throws.
 */
export interface GatewayBinding {
  createJob(apiKey: string, body: CreateJobRequest, options?: MoneyOptions): Promise<GatewayResult<JobCreated>>;
  call(apiKey: string, jobId: string, body: LlmCallRequest): Promise<GatewayResult<LlmCallAnswer>>;
  stream(apiKey: string, jobId: string, body: LlmCallRequest): Promise<GatewayResult<ReadableStream<Uint8Array>>>;
  complete(apiKey: string, jobId: string, body: CompleteJobRequest, options?: MoneyOptions): Promise<GatewayResult<JobCompletion>>;
  getJob(apiKey: string, jobId: string, query?: CallsPage): Promise<GatewayResult<Job>>;
  balance(apiKey: string, teamId: string): Promise<GatewayResult<Balance>>;
  usage(apiKey: string, teamId: string, query?: UsageQuery): Promise<GatewayResult<Usage>>;
}

const segment = encodeURIComponent;

function searchOf(query: Record<string, string | number | undefined> | undefined): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) if (value !== undefined) params.set(name, String(value));
  const search = params.toString();
  return search ? `?${search}` : "";
}

function routeOf(operation: GatewayOperation): { verb: "GET" | "POST"; path: string; body?: unknown; idempotencyKey?: string } {
  switch (operation.method) {
    case "createJob":
      return { verb: "POST", path: "/api/jobs/create", body: operation.body, idempotencyKey: operation.options?.idempotencyKey };
    case "call":
      return { verb: "POST", path: `/api/jobs/${segment(operation.jobId)}/llm-call`, body: operation.body };
    case "stream":
      return { verb: "POST", path: `/api/jobs/${segment(operation.jobId)}/llm-call-stream`, body: operation.body };
    case "complete":
      return {
        verb: "POST",
        path: `/api/jobs/${segment(operation.jobId)}/complete`,
        body: operation.body,
        idempotencyKey: operation.options?.idempotencyKey,
      };
    case "getJob":
      return { verb: "GET", path: `/api/jobs/${segment(operation.jobId)}${searchOf({ ...operation.query })}` };
    case "balance":
      return { verb: "GET", path: `/api/credits/teams/${segment(operation.teamId)}/balance` };
    case "usage":
      return { verb: "GET", path: `/api/teams/${segment(operation.teamId)}/usage${searchOf({ ...operation.query })}` };
  }
}

/** The HTTP request for one operation, with the team's key as the Bearer token. */
export function requestOf(baseUrl: string, apiKey: string, operation: GatewayOperation, signal?: AbortSignal): Request {
  const route = routeOf(operation);
  const headers = new Headers({
    authorization: `Bearer ${apiKey}`,
    accept: operation.method === "stream" ? "text/event-stream" : "application/json",
  });
  if (route.body !== undefined) headers.set("content-type", "application/json");
  if (route.idempotencyKey !== undefined) headers.set("idempotency-key", route.idempotencyKey);
  return new Request(`${baseUrl.replace(/\/+$/, "")}${route.path}`, {
    method: route.verb,
    headers,
    body: route.body === undefined ? undefined : JSON.stringify(route.body),
    signal,
  });
}

async function failureOf(response: Response): Promise<GatewayFailure> {
  const text = await response.text();
  let detail: GatewayFailure["detail"] = text || response.statusText || `HTTP ${response.status}`;
  try {
    const body = JSON.parse(text) as { detail?: GatewayFailure["detail"] };
    if (body && (typeof body.detail === "string" || Array.isArray(body.detail))) detail = body.detail;
  } catch {
    // Not JSON (a proxy's error page): the text itself is the detail.
  }
  const failure: GatewayFailure = { ok: false, status: response.status, detail };
  const retryAfter = Number.parseInt(response.headers.get("retry-after") ?? "", 10);
  if (Number.isFinite(retryAfter)) failure.retryAfter = retryAfter;
  const requestId = response.headers.get("x-request-id");
  if (requestId) failure.requestId = requestId;
  return failure;
}

/** The typed result of an answer: its JSON (or, for `stream`, its body of SSE bytes), or the refusal. */
export async function resultOf<M extends GatewayOperation["method"]>(
  method: M,
  response: Response,
): Promise<GatewayResult<GatewayAnswers[M]>> {
  if (!response.ok) return failureOf(response);
  if (method === "stream") {
    if (!response.body) return { ok: false, status: 502, detail: "The gateway answered the stream without a body" };
    return { ok: true, value: response.body as GatewayAnswers[M] };
  }
  return { ok: true, value: (await response.json()) as GatewayAnswers[M] };
}
