// Calls to LiteLLM (/chat/completions, /embeddings, /responses, /v1/messages): one attempt of one model (fallback.ts tries them in order).

import { sanitizeUpstreamMessage } from "./redact";

export type AttemptOutcome = "ok" | "http_error" | "timeout" | "connection_error" | "invalid_response" | "client_closed";

/** One try of one model. Kept in the call record for operators; never shown to teams. */
export interface Attempt {
  model: string;
  outcome: AttemptOutcome;
  status?: number;
  latency_ms: number;
  /** The upstream's error message, sanitized. */
  error?: string;
}

/** LiteLLM's endpoints the gateway calls (a dialect names its own). */
export type UpstreamPath = "/chat/completions" | "/embeddings" | "/responses" | "/v1/messages";

export interface UpstreamConfig {
  baseUrl: string;
  apiKey: string | undefined;
  /** Each model's try: the whole answer of a plain call, a stream's headers and first byte (and the most it may go silent). */
  timeoutMs: number;
  /** The longest a stream may run once opened. */
  streamMaxMs: number;
}

/** The longest a stream may run once opened, unless LITELLM_STREAM_MAX_MS says otherwise: 10 minutes. */
export const DEFAULT_STREAM_MAX_MS = 600_000;

function positiveMs(value: string | undefined, fallback: number): number {
  const ms = Number.parseInt(value ?? "", 10);
  return Number.isFinite(ms) && ms > 0 ? ms : fallback;
}

/** A failure the next model in the group may not have: rate limits, outages, timeouts, unknown models. */
function isRetryableStatus(status: number, message: string): boolean {
  if (status === 408 || status === 429 || status >= 500 || status === 404) return true;
  return (
    status === 400 && /invalid model name|model not found|does not exist|no healthy deployment|no deployments available/i.test(message)
  );
}

const GATEWAY_KEY_REFUSED = /no connected db|authentication error|invalid proxy server token/i;

/** LiteLLM's error body is {"error": {"message": ...}}; a load balancer may send HTML instead. */
export function upstreamErrorMessage(text: string): string {
  let message = text;
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown } | string; detail?: unknown };
    const inner = typeof parsed.error === "string" ? parsed.error : (parsed.error?.message ?? parsed.detail);
    if (typeof inner === "string") message = inner;
  } catch {
    message = text.startsWith("<") ? "non-JSON error page" : text;
  }
  return sanitizeUpstreamMessage(message);
}

export type AttemptResult =
  | { ok: true; response: Response; attempt: Attempt }
  | { ok: false; retryable: boolean; attempt: Attempt; message: string };

/**
 * One POST to LiteLLM for one model. A non-2xx answer has its body read (it is small) and is
 * classified; a 2xx answer is returned unread, so a stream can be passed through.
 * `timeoutMs` bounds the whole answer, or with `deadline: "headers"` (streams, whose caller
 * paces the body itself) only the wait for the response headers.
 */
export async function attemptModel(
  config: UpstreamConfig,
  model: string,
  body: Record<string, unknown>,
  callId: string,
  clientSignal?: AbortSignal,
  options: { deadline?: "answer" | "headers"; path?: UpstreamPath; headers?: Record<string, string> } = {},
): Promise<AttemptResult> {
  const started = performance.now();
  const deadlineController = new AbortController();
  const deadline = deadlineController.signal;
  const timer = setTimeout(() => deadlineController.abort(new DOMException("LiteLLM timed out", "TimeoutError")), config.timeoutMs);
  const signal = clientSignal ? AbortSignal.any([deadline, clientSignal]) : deadline;
  const headers: Record<string, string> = {
    ...options.headers,
    "content-type": "application/json",
    "x-litellm-call-id": callId,
  };
  if (config.apiKey) headers.authorization = `Bearer ${config.apiKey}`;
  const elapsed = () => Math.round(performance.now() - started);
  let response: Response;
  try {
    response = await fetch(`${config.baseUrl.replace(/\/+$/, "")}${options.path ?? "/chat/completions"}`, {
      method: "POST",
      headers,
      body: JSON.stringify({ ...body, model }),
      signal,
    });
  } catch (_error) {
    clearTimeout(timer);
    const outcome: AttemptOutcome = clientSignal?.aborted ? "client_closed" : deadline.aborted ? "timeout" : "connection_error";
    const message =
      outcome === "timeout"
        ? `LiteLLM did not answer within ${config.timeoutMs} ms`
        : outcome === "client_closed"
          ? "client closed the connection"
          : "could not connect to LiteLLM";
    return {
      ok: false,
      retryable: outcome !== "client_closed",
      attempt: { model, outcome, latency_ms: elapsed(), error: message },
      message,
    };
  }
  if (options.deadline === "headers") clearTimeout(timer);
  if (response.ok) return { ok: true, response, attempt: { model, outcome: "ok", status: response.status, latency_ms: elapsed() } };
  let text = "";
  try {
    text = await response.text();
  } catch {
    // The body is only used for the message.
  }
  const message = upstreamErrorMessage(text) || `HTTP ${response.status}`;
  // A LiteLLM without a database answers a key it does not know with 400 "No connected db":
  // that is the gateway's credential being refused, like a 401, not the team's request.
  const status = response.status === 400 && GATEWAY_KEY_REFUSED.test(message) ? 401 : response.status;
  return {
    ok: false,
    retryable: isRetryableStatus(status, message),
    // LiteLLM answers 408 when its provider timed out: for the client that is an upstream timeout (504), like our own deadline.
    attempt: { model, outcome: status === 408 ? "timeout" : "http_error", status, latency_ms: elapsed(), error: message },
    message,
  };
}

export function upstreamConfig(env: Env): UpstreamConfig {
  return {
    baseUrl: env.LITELLM_BASE_URL,
    apiKey: env.LITELLM_API_KEY,
    timeoutMs: positiveMs(env.LITELLM_TIMEOUT_MS, 60_000),
    streamMaxMs: positiveMs(env.LITELLM_STREAM_MAX_MS, DEFAULT_STREAM_MAX_MS),
  };
}

/**
 * The largest non-streamed answer the gateway reads: 16 MiB. A chat completion is a few KiB to
 * a few hundred KiB; the cap keeps one request's memory bounded whatever the upstream sends.
 */
export const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

export type BodyRead = { ok: true; text: string } | { ok: false; reason: "too_large" | "broken" };

/**
 * Reads a response body of at most `maxBytes`. A larger one (by its content-length, or once
 * that many bytes have arrived) is cancelled and never held whole; a body that breaks off is
 * "broken". Never throws.
 */
export async function readBodyWithin(response: Response, maxBytes: number): Promise<BodyRead> {
  const declared = Number(response.headers.get("content-length") ?? Number.NaN);
  if (!response.body) return { ok: true, text: "" };
  const reader = response.body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  if (declared > maxBytes) {
    reader.cancel().catch(() => {});
    return { ok: false, reason: "too_large" };
  }
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        reader.cancel().catch(() => {});
        return { ok: false, reason: "too_large" };
      }
      parts.push(value);
    }
  } catch {
    return { ok: false, reason: "broken" };
  }
  const decoder = new TextDecoder();
  return { ok: true, text: parts.map((part) => decoder.decode(part, { stream: true })).join("") + decoder.decode() };
}
