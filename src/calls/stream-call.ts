import type { CallRecord, CallStatus } from "../ledger/types";
import { log } from "../log";
import { cacheHeaders, keepAnswer, streamedAnswerCopy } from "./cache/answer-store";
import { type AdmittedCall, type CallContext, outliving } from "./call-context";
import { callRecorder, type Metered, meterAnswer, type Recorder, recordCallOrLog } from "./call-record";
import type { CallRequest, StreamingDialect } from "./dialect";
import { endedAs, openAnswer, recordNoAnswer } from "./pipeline";
import { meterStream, type StreamFormat, type StreamMeter, type StreamOutcome } from "./stream/meter-stream";
import { firstBytes, relayUpstream } from "./stream/relay";
import { withinLimit } from "./upstream/deadline";
import type { Attempt, AttemptOutcome } from "./upstream/litellm-client";
import { upstreamConfig } from "./upstream/litellm-client";
import { sanitizeUpstreamMessage } from "./upstream/redact";

// The pipeline's streamed calls: the same admission, fallback, no-answer record and call record
// as a plain call (pipeline.ts), with the answer passed through as it arrives.

/** A streamed call once it has ended and been recorded (or failed to be). */
export interface StreamedCall {
  outcome: StreamOutcome;
  call: CallRecord;
  recorded: boolean;
}

export interface StreamCallOptions {
  /**
   * Runs after the call is recorded, however the stream ended (also after a disconnect, in the
   * background). Text it returns is written to the client just before the stream's end.
   */
  afterRecord?: (ended: StreamedCall) => Promise<string | null>;
  /** Extra response headers (e.g. the job id of a one-request job). */
  headers?: Record<string, string>;
}

/**
 * How long the end of a stream waits for the call's record (and what follows it, such as a job
 * summary) before its end: 10 s unless LEDGER_END_OF_STREAM_WAIT_MS says otherwise. Past it the
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
function recordingEvent(format: StreamFormat, jobId: string, problem: "late" | "failed" | "after_record_failed"): string {
  const check = `Check GET /api/jobs/${jobId} before completing the job.`;
  const message = {
    late: `The call could not yet be recorded in job ${jobId}; it is still being recorded in the background. ${check}`,
    failed: `The call could not be recorded in job ${jobId}. ${check}`,
    after_record_failed: `The call was recorded in job ${jobId}, but the job's summary could not be produced. Check GET /api/jobs/${jobId}.`,
  }[problem];
  return format.errorEvent(message, "503", problem === "late" ? "call_not_yet_recorded" : "ledger_unavailable");
}

const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  "x-accel-buffering": "no",
} as const;

/** The model that opened the stream, every attempt it took, and its first bytes. */
type Opened = { model: string; attempts: Attempt[]; reader: ReadableStreamDefaultReader<Uint8Array>; first: Uint8Array };

/**
 * One streamed call of an admitted job. Models are tried in priority order until one sends its
 * first byte (fallback happens only before anything reached the client); failing that, the call
 * is recorded as having no answer and the error thrown, as for a plain call. Otherwise the answer
 * is the upstream's SSE stream, passed through a meter, and the call is recorded in the team's
 * ledger when the stream ends (completed, failed mid-stream, or abandoned by the client) through
 * `waitUntil`. The ledger sees the call once, at the end; it is never in the byte path.
 */
export async function streamCall<R extends CallRequest>(
  ctx: CallContext,
  dialect: StreamingDialect<never, R>,
  request: R,
  call: AdmittedCall,
  options: StreamCallOptions = {},
): Promise<Response> {
  const started = performance.now();
  const { promptTokens } = dialect.estimate(request);
  const { timeoutMs, streamMaxMs } = upstreamConfig(ctx.env);
  const record = callRecorder(call, started, true);
  const format = dialect.streamFormat(request, call);
  const body = dialect.upstreamBody(request, call, true);

  // Opening is background work too: a client that leaves before the first byte still leaves a record.
  const opened: Opened = await outliving(
    ctx.work,
    (async () => {
      const upstream = { path: dialect.upstreamPath, stream: true, headers: dialect.upstreamHeaders?.(request) };
      const outcome = await openAnswer(ctx, call, body, upstream, async (response, attempt) => {
        const waited = performance.now();
        const first = await firstBytes(response, timeoutMs - attempt.latency_ms, ctx.signal);
        const latency_ms = attempt.latency_ms + Math.round(performance.now() - waited);
        if (first.ok) return { ok: true, attempt: { ...attempt, latency_ms }, opened: { reader: first.reader, first: first.bytes } };
        const failed = { ...attempt, outcome: first.outcome, latency_ms };
        return { ok: false, attempt: failed, message: first.message, retryable: first.outcome !== "client_closed" };
      });
      if (outcome.ok) return { model: outcome.model, attempts: outcome.attempts, ...outcome.opened };
      return recordNoAnswer(ctx, call, outcome, record, promptTokens, STREAM_RECORD_TRIES);
    })(),
  );

  const meter: StreamMeter = meterStream({
    format,
    cleanMessage: sanitizeUpstreamMessage,
    // The end goes out only once the call is recorded (so a job completed right after it
    // already counts the call), or with an error event saying it is not yet.
    beforeDone: async () => (await withinLimit(settled, endOfStreamWaitMs(ctx.env))) ?? recordingEvent(format, call.jobId, "late"),
  });
  // A stream whose answer is to be kept in the response cache is copied as it passes, up to the size kept.
  const copy = call.cache?.keepAt ? streamedAnswerCopy() : null;
  const ended: Promise<StreamedCall> = meter.outcome.then(async (outcome) => {
    const metered = await meterAnswer(ctx, call, opened.model, { ...outcome, reportedUsd: outcome.reportedCostUsd }, promptTokens);
    const streamed = streamedCallRecord(opened, outcome, started, metered, record);
    const recorded = await recordCallOrLog(ctx, call, streamed, STREAM_RECORD_TRIES);
    // Only a complete answer is kept: not one the client left, nor one that failed mid-stream.
    const body = copy?.text();
    if (recorded && outcome.status === "completed" && body) keepAnswer(ctx, call, { form: "sse", body, modelUsed: opened.model, metered });
    return { outcome, call: streamed, recorded };
  });
  const settled: Promise<string> = ended.then(async (result) => {
    const unrecorded = result.recorded ? "" : recordingEvent(format, call.jobId, "failed");
    if (!options.afterRecord) return unrecorded;
    try {
      return unrecorded + ((await options.afterRecord(result)) ?? "");
    } catch (error) {
      log("error", "work after a streamed call failed", {
        team_id: call.teamId,
        job_id: call.jobId,
        call_id: call.callId,
        error: String(error),
      });
      return unrecorded || recordingEvent(format, call.jobId, "after_record_failed");
    }
  });
  ctx.work.waitUntil(settled);
  ctx.signal?.addEventListener("abort", () => meter.clientLeft(), { once: true });

  const relay = relayUpstream(opened.reader, opened.first, meter, { idleMs: timeoutMs, maxMs: streamMaxMs }, ctx.signal);
  return new Response((copy ? relay.pipeThrough(copy) : relay).pipeThrough(meter), {
    status: 200,
    headers: { ...SSE_HEADERS, "x-call-id": call.callId, ...dialect.answerHeaders(call), ...cacheHeaders(call.cache), ...options.headers },
  });
}

/** The ledger's record of a streamed call: usage as reported, or estimated from what was delivered (metered). */
function streamedCallRecord(opened: Opened, outcome: StreamOutcome, started: number, metered: Metered, record: Recorder): CallRecord {
  const status: CallStatus = outcome.status === "completed" ? "success" : outcome.status;
  const ended: AttemptOutcome = outcome.status === "aborted" ? "client_closed" : "invalid_response";
  return record(outcome.status === "completed" ? opened.attempts : endedAs(opened.attempts, ended), {
    status,
    modelUsed: opened.model,
    ...metered.fields,
    latencyMs: outcome.endedAt - started,
    error: outcome.status === "aborted" ? "Client disconnected mid-stream" : outcome.error,
    upstreamError: outcome.upstreamError,
  });
}
