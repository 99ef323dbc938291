import type { Repository } from "../db/repository";
import type { CallRecord, CallStatus } from "../ledger/types";
import { log } from "../log";
import { callFailureOf, describeFailure } from "./call-failure";
import {
  type BackgroundWork,
  type CallInput,
  callRecorder,
  meteredFields,
  outliving,
  promptOnlyFields,
  recordCallOrLog,
  upstreamBodyFor,
  usageOrEstimate,
} from "./call-record";
import { providerCost } from "./cost";
import { readWithin, withinLimit } from "./deadline";
import { fallBackInOrder, type ModelTry } from "./fallback";
import { type Attempt, type AttemptOutcome, attemptModel, type UpstreamConfig, upstreamConfig } from "./litellm-client";
import { meterStream, type StreamMeter, type StreamOutcome, streamErrorEvent } from "./meter-stream";
import { sanitizeUpstreamMessage } from "./redact";

/** A streamed call once it has ended and been recorded (or failed to be). */
export interface StreamedCall {
  outcome: StreamOutcome;
  call: CallRecord;
  recorded: boolean;
}

export interface StreamCallOptions {
  /**
   * Runs after the call is recorded, however the stream ended (also after a disconnect, in the
   * background). Text it returns is written to the client just before `data: [DONE]`.
   */
  afterRecord?: (ended: StreamedCall) => Promise<string | null>;
  /** Extra response headers (e.g. the job id of a one-request job). */
  headers?: Record<string, string>;
  /** Meter the usage chunk but do not send it (an OpenAI client that did not ask for `include_usage`). */
  withholdUsage?: boolean;
}

/**
 * How long the end of a stream waits for the call's record (and what follows it, such as a job
 * summary) before `[DONE]`: 10 s unless LEDGER_END_OF_STREAM_WAIT_MS says otherwise. Past it the
 * client is told the call is not yet recorded, and recording goes on in the background.
 */
const END_OF_STREAM_LEDGER_WAIT_MS = 10_000;

function endOfStreamWaitMs(env: Env): number {
  const ms = Number.parseInt(env.LEDGER_END_OF_STREAM_WAIT_MS ?? "", 10);
  return Number.isFinite(ms) && ms >= 0 ? ms : END_OF_STREAM_LEDGER_WAIT_MS;
}

/** How many times a streamed call's record is tried while the ledger is unreachable (see recordCallOrLog). */
const STREAM_RECORD_TRIES = 3;

/** The error event that ends a stream whose record is late or failed: it names the job, so the client can check it. */
function recordingEvent(jobId: string, problem: "late" | "failed" | "after_record_failed"): string {
  const check = `Check GET /api/jobs/${jobId} before completing the job.`;
  const message = {
    late: `The call could not yet be recorded in job ${jobId}; it is still being recorded in the background. ${check}`,
    failed: `The call could not be recorded in job ${jobId}. ${check}`,
    after_record_failed: `The call was recorded in job ${jobId}, but the job's summary could not be produced. Check GET /api/jobs/${jobId}.`,
  }[problem];
  return streamErrorEvent(message, "503", problem === "late" ? "call_not_yet_recorded" : "ledger_unavailable");
}

const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  "x-accel-buffering": "no",
} as const;

/** A stream is open once its model has sent a first byte: until then, fallback may still try the next model. */
interface OpenStream {
  reader: ReadableStreamDefaultReader<Uint8Array>;
  first: Uint8Array;
}

/** The model that opened the stream, and every attempt it took. */
type Opened = { model: string; attempts: Attempt[] } & OpenStream;

/**
 * One streamed LLM call inside an admitted job. Models are tried in priority order until one
 * sends its first byte (fallback happens only before anything reached the client); failing
 * that, the failed call is recorded and the error thrown, as for a plain call. Otherwise the
 * answer is the upstream's SSE stream, passed through a meter, and the call is recorded in the
 * team's ledger when the stream ends (completed, failed mid-stream, or abandoned by the client)
 * through `waitUntil`. The ledger sees the call once, at the end; it is never in the byte path.
 */
export async function runStreamCall(
  env: Env,
  repo: Repository,
  work: BackgroundWork,
  input: CallInput,
  clientSignal?: AbortSignal,
  options: StreamCallOptions = {},
): Promise<Response> {
  const callId = input.callId;
  const started = performance.now();
  const config = upstreamConfig(env);
  const body = upstreamBodyFor(input, callId, true);
  const baseRecord = callRecorder(input, callId, started, true);

  // Opening is background work too: a client that leaves before the first byte still leaves a record.
  const opened: Opened = await outliving(
    work,
    (async () => {
      const outcome = await fallBackInOrder(input.models, (model) => openStream(config, model, body, callId, clientSignal));
      if (outcome.ok) return { model: outcome.model, attempts: outcome.attempts, ...outcome.opened };
      const closed = outcome.attempts.at(-1)?.outcome === "client_closed";
      const failure = describeFailure(outcome.attempts, outcome.message, outcome.retryable, input.models);
      const usage = closed ? await promptOnlyFields(repo, input, outcome.attempts.at(-1)?.model ?? null) : {};
      const failed = baseRecord(outcome.attempts, {
        status: closed ? "aborted" : "failed",
        error: failure.error,
        upstreamError: failure.upstreamError,
        ...usage,
      });
      await recordCallOrLog(env, input, failed, STREAM_RECORD_TRIES);
      throw callFailureOf(input.modelGroup, outcome.attempts, failure, outcome.retryable, outcome.status);
    })(),
  );

  const meter: StreamMeter = meterStream({
    modelGroup: input.modelGroup,
    callId,
    cleanMessage: sanitizeUpstreamMessage,
    withholdUsage: options.withholdUsage,
    // `[DONE]` goes out only once the call is recorded (so a job completed right after it
    // already counts the call), or with an error event saying it is not yet.
    beforeDone: async () => (await withinLimit(settled, endOfStreamWaitMs(env))) ?? recordingEvent(input.jobId, "late"),
  });
  const ended: Promise<StreamedCall> = meter.outcome.then(async (outcome) => {
    const call = await streamedCallRecord(repo, input, opened, outcome, started, baseRecord);
    const recorded = await recordCallOrLog(env, input, call, STREAM_RECORD_TRIES);
    return { outcome, call, recorded };
  });
  const settled: Promise<string> = ended.then(async (result) => {
    const unrecorded = result.recorded ? "" : recordingEvent(input.jobId, "failed");
    if (!options.afterRecord) return unrecorded;
    try {
      return unrecorded + ((await options.afterRecord(result)) ?? "");
    } catch (error) {
      log("error", "work after a streamed call failed", {
        team_id: input.teamId,
        job_id: input.jobId,
        call_id: callId,
        error: String(error),
      });
      return unrecorded || recordingEvent(input.jobId, "after_record_failed");
    }
  });
  work.waitUntil(settled);
  clientSignal?.addEventListener("abort", () => meter.clientLeft(), { once: true });

  const relay = relayUpstream(opened.reader, opened.first, meter, { idleMs: config.timeoutMs, maxMs: config.streamMaxMs }, clientSignal);
  return new Response(relay.pipeThrough(meter), {
    status: 200,
    headers: { ...SSE_HEADERS, "x-call-id": callId, ...budgetMaxTokensHeader(input), ...options.headers },
  });
}

/**
 * One model's try at a stream: it must answer 2xx and then send a first byte within the
 * deadline. A model whose stream breaks or stalls before that byte is passed over like one
 * that answered 5xx: the client has seen nothing yet.
 */
async function openStream(
  config: UpstreamConfig,
  model: string,
  body: Record<string, unknown>,
  callId: string,
  clientSignal?: AbortSignal,
): Promise<ModelTry<OpenStream>> {
  const started = performance.now();
  const result = await attemptModel(config, model, body, callId, clientSignal, { deadline: "headers" });
  if (!result.ok) {
    return { ok: false, attempt: result.attempt, message: result.message, retryable: result.retryable, status: result.attempt.status };
  }
  const first = await firstBytes(result.response, config.timeoutMs - (performance.now() - started), clientSignal);
  const latency_ms = Math.round(performance.now() - started);
  if (first.ok) return { ok: true, attempt: { ...result.attempt, latency_ms }, opened: { reader: first.reader, first: first.bytes } };
  return {
    ok: false,
    attempt: { ...result.attempt, outcome: first.outcome, latency_ms },
    message: first.message,
    retryable: first.outcome !== "client_closed",
  };
}

type FirstBytes =
  | { ok: true; reader: ReadableStreamDefaultReader<Uint8Array>; bytes: Uint8Array }
  | { ok: false; outcome: AttemptOutcome; message: string };

/** Waits (within the attempt's deadline) for the first non-empty read of a 2xx stream. */
async function firstBytes(response: Response, remainingMs: number, clientSignal?: AbortSignal): Promise<FirstBytes> {
  if (!response.body) return { ok: false, outcome: "invalid_response", message: "LiteLLM answered the stream with no body" };
  const reader = response.body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  const deadline = Date.now() + Math.max(0, remainingMs);
  try {
    for (;;) {
      const read = await readWithin(reader, deadline - Date.now());
      if (read === "timeout") {
        reader.cancel().catch(() => {});
        return { ok: false, outcome: "timeout", message: `LiteLLM sent nothing within ${Math.round(remainingMs)} ms` };
      }
      if (read.done) return { ok: false, outcome: "invalid_response", message: "LiteLLM ended the stream before sending anything" };
      if (read.value && read.value.byteLength > 0) return { ok: true, reader, bytes: read.value };
    }
  } catch {
    reader.cancel().catch(() => {});
    if (clientSignal?.aborted) return { ok: false, outcome: "client_closed", message: "client closed the connection" };
    return { ok: false, outcome: "connection_error", message: "LiteLLM's stream broke before its first byte" };
  }
}

/**
 * The upstream body as the meter's source: the peeked first bytes, then the rest as the client
 * pulls (so backpressure reaches LiteLLM). A broken or stalled upstream (no byte for `idleMs`),
 * or a stream still running `maxMs` after it opened (its call's hold must be recorded by then),
 * ends this stream cleanly and tells the meter, so the client gets an error event and `[DONE]`
 * rather than a cut connection; the client leaving cancels the upstream.
 */
export function relayUpstream(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  first: Uint8Array,
  meter: StreamMeter,
  limits: { idleMs: number; maxMs: number },
  clientSignal?: AbortSignal,
): ReadableStream<Uint8Array> {
  let pending: Uint8Array | null = first;
  const endsAtMs = Date.now() + limits.maxMs;
  const tooLong = `The stream ran for its longest allowed time (${Math.round(limits.maxMs / 1000)} s) and was ended`;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (pending) {
          controller.enqueue(pending);
          pending = null;
          return;
        }
        let failure: string;
        try {
          const leftMs = endsAtMs - Date.now();
          const waitMs = Math.min(limits.idleMs, leftMs);
          const read = waitMs > 0 ? await readWithin(reader, waitMs) : "timeout";
          if (read !== "timeout") {
            if (read.done) controller.close();
            else controller.enqueue(read.value);
            return;
          }
          failure = leftMs <= limits.idleMs ? tooLong : `The model sent nothing for ${limits.idleMs} ms`;
        } catch {
          failure = "The connection to the model broke mid-stream";
        }
        reader.cancel().catch(() => {});
        if (clientSignal?.aborted) meter.clientLeft();
        else meter.upstreamFailed(failure);
        controller.close();
      },
      cancel(reason) {
        meter.clientLeft();
        return reader.cancel(reason).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}

/** The ledger's record of a streamed call: usage as reported, or estimated from what was delivered. */
async function streamedCallRecord(
  repo: Repository,
  input: CallInput,
  opened: Opened,
  outcome: StreamOutcome,
  started: number,
  baseRecord: (attempts: Attempt[], fields: Partial<CallRecord> & { status: CallStatus }) => CallRecord,
): Promise<CallRecord> {
  const { usage, estimated } = usageOrEstimate(outcome.usage, input.params, outcome.deliveredChars);
  const cost = await providerCost(repo, opened.model, usage, outcome.reportedCostUsd);
  const status: CallStatus = outcome.status === "completed" ? "success" : outcome.status;
  const endedAs: AttemptOutcome = outcome.status === "aborted" ? "client_closed" : "invalid_response";
  const attempts =
    outcome.status === "completed" ? opened.attempts : [...opened.attempts.slice(0, -1), { ...opened.attempts.at(-1)!, outcome: endedAs }];
  return baseRecord(attempts, {
    status,
    modelUsed: opened.model,
    ...meteredFields(usage, cost, estimated),
    latencyMs: outcome.endedAt - started,
    error: outcome.status === "aborted" ? "Client disconnected mid-stream" : outcome.error,
    upstreamError: outcome.upstreamError,
  });
}

/** `X-Budget-Max-Tokens` when the gateway chose the call's max_tokens (its hold was worked out for it). */
export function budgetMaxTokensHeader(input: CallInput): Record<string, string> {
  const chosen = input.admission.budgetMaxTokens;
  return chosen === null ? {} : { "x-budget-max-tokens": String(chosen) };
}
