import type { StoredAnswer } from "../cache/stored-answer";
import { CallFailure } from "../errors";
import { cacheHeaders, keepAnswer } from "./cache/answer-store";
import type { CallContext } from "./call-context";
import { type AdmittedCall, outliving } from "./call-context";
import { callFailureOf, describeFailure } from "./call-failure";
import { callRecorder, meterAnswer, promptOnly, type Recorder, recordBeforeAnswering, recordCallOrLog } from "./call-record";
import { reportedCostHeader } from "./cost";
import type { CallRequest, Dialect } from "./dialect";
import { type FallbackOutcome, fallBackInOrder, type ModelTry } from "./upstream/fallback";
import {
  type Attempt,
  type AttemptResult,
  attemptModel,
  MAX_ANSWER_BYTES,
  readBodyWithin,
  type UpstreamPath,
  upstreamConfig,
} from "./upstream/litellm-client";

// The one call pipeline. Every call, in any dialect, plain or streamed, goes: admitted (its worst
// case held, or a cache hit's price, admission.ts) → answered from its group's response cache or
// down its group's models in priority order (fallback) → metered → recorded in the team's ledger
// → written for the client by its dialect (and, complete and successful, kept in the cache). A
// call that gets no answer is recorded once, here, whatever its dialect. This file runs plain
// calls; stream-call.ts streams, sharing the opening and the no-answer record.

/** An answer as the dialect wrote it, with its response headers. */
export interface CallResult<Answer> {
  answer: Answer;
  headers: Record<string, string>;
}

/**
 * Opens an answer for an admitted call: its cache entry's when it is a hit (replayed as the
 * upstream sent it, so the dialect reads it as a fresh answer), else down the call's models in
 * priority order until one opens. A 2xx answer is opened by `whenAnswered` (a plain call: at
 * once; a stream: once its first byte comes); an error answer or no answer moves on as
 * fallback.ts says. A hit never goes upstream: it was admitted at the hit's price.
 */
export async function openAnswer<T>(
  ctx: CallContext,
  call: AdmittedCall,
  body: Record<string, unknown>,
  upstream: { path: UpstreamPath; stream: boolean; headers?: Record<string, string> },
  whenAnswered: (response: Response, attempt: Attempt) => Promise<ModelTry<T>>,
): Promise<FallbackOutcome<T>> {
  const hit = call.cache?.hit;
  if (hit) {
    const attempt: Attempt = { model: hit.answer.modelUsed, outcome: "ok", status: 200, latency_ms: 0 };
    const opened = await whenAnswered(replayOf(hit.answer), attempt);
    if (opened.ok) return { ok: true, model: hit.answer.modelUsed, attempts: [opened.attempt], opened: opened.opened };
    return { ok: false, attempts: [opened.attempt], message: opened.message, retryable: true };
  }
  const config = upstreamConfig(ctx.env);
  const tried = (result: AttemptResult): Promise<ModelTry<T>> | ModelTry<T> =>
    result.ok
      ? whenAnswered(result.response, result.attempt)
      : { ok: false, attempt: result.attempt, message: result.message, retryable: result.retryable, status: result.attempt.status };
  // A stream's deadline bounds the wait for its headers; its caller paces the body itself.
  const options = {
    path: upstream.path,
    headers: upstream.headers,
    deadline: upstream.stream ? ("headers" as const) : ("answer" as const),
  };
  return fallBackInOrder(call.models, async (model) => tried(await attemptModel(config, model, body, call.callId, ctx.signal, options)));
}

/** A stored answer as the upstream gave it. */
function replayOf(answer: StoredAnswer): Response {
  const contentType = answer.form === "sse" ? "text/event-stream" : "application/json";
  return new Response(answer.body, { status: 200, headers: { "content-type": contentType } });
}

/**
 * A call that got no answer, recorded once whatever its dialect: failed, or aborted when the
 * client left (billed the prompt the model already had). Throws the CallFailure the client is told.
 */
export async function recordNoAnswer(
  ctx: CallContext,
  call: AdmittedCall,
  outcome: Extract<FallbackOutcome<unknown>, { ok: false }>,
  record: Recorder,
  promptTokens: number,
  tries = 1,
): Promise<never> {
  const last = outcome.attempts.at(-1);
  const closed = last?.outcome === "client_closed";
  const failure = describeFailure(outcome.attempts, outcome.message, outcome.retryable, call.models);
  const usage = closed ? await promptOnly(ctx, last?.model ?? null, promptTokens) : {};
  const status = closed ? "aborted" : "failed";
  await recordCallOrLog(
    ctx,
    call,
    record(outcome.attempts, { status, error: failure.error, upstreamError: failure.upstreamError, ...usage }),
    tries,
  );
  throw callFailureOf(call.modelGroup, outcome.attempts, failure, outcome.retryable, outcome.status);
}

/** The attempts, the last one ending as `ended` (the model answered, but not with what the client could have). */
export function endedAs(attempts: Attempt[], ended: Attempt["outcome"]): Attempt[] {
  return [...attempts.slice(0, -1), { ...attempts.at(-1)!, outcome: ended }];
}

/**
 * One plain call of an admitted job. The answer is returned only once the call is recorded, so
 * nothing is served unmetered. The whole call is also background work: a client that leaves
 * cancels the upstream but not the record. Throws a CallFailure when there is no answer to give.
 */
export function runCall<R extends CallRequest, P, A>(
  ctx: CallContext,
  dialect: Dialect<never, R, P, A>,
  request: R,
  call: AdmittedCall,
): Promise<CallResult<A>> {
  return outliving(ctx.work, plainCall(ctx, { dialect, request, call }));
}

async function plainCall<R extends CallRequest, P, A>(
  ctx: CallContext,
  { dialect, request, call }: { dialect: Dialect<never, R, P, A>; request: R; call: AdmittedCall },
): Promise<CallResult<A>> {
  const started = performance.now();
  const { promptTokens } = dialect.estimate(request);
  const record = callRecorder(call, started, false);
  const body = dialect.upstreamBody(request, call, false);
  // A plain call is open once a model answers 2xx.
  const upstream = { path: dialect.upstreamPath, stream: false, headers: dialect.upstreamHeaders?.(request) };
  const outcome = await openAnswer(ctx, call, body, upstream, async (response, attempt) => ({
    ok: true,
    attempt,
    opened: response,
  }));
  if (!outcome.ok) return recordNoAnswer(ctx, call, outcome, record, promptTokens);

  const modelUsed = outcome.model;
  const read = await readBodyWithin(outcome.opened, MAX_ANSWER_BYTES);
  if (!read.ok && (read.reason === "too_large" || ctx.signal?.aborted)) {
    const tooLarge = read.reason === "too_large";
    const overCap = `more than ${MAX_ANSWER_BYTES / (1024 * 1024)} MiB; the answer was not delivered`;
    const error = tooLarge ? `The model answered with ${overCap}` : "The client closed the connection";
    const attempts = endedAs(outcome.attempts, tooLarge ? "invalid_response" : "client_closed");
    const usage = await promptOnly(ctx, modelUsed, promptTokens);
    await recordCallOrLog(ctx, call, record(attempts, { status: tooLarge ? "failed" : "aborted", modelUsed, error, ...usage }));
    throw new CallFailure("invalid_response", tooLarge ? `The model group '${call.modelGroup}' answered with ${overCap}` : error);
  }
  const reading = read.ok ? dialect.readAnswer(read.text) : null;
  if (reading === null) {
    const error = "LiteLLM returned an invalid response";
    await recordCallOrLog(ctx, call, record(endedAs(outcome.attempts, "invalid_response"), { status: "failed", modelUsed, error }));
    throw new CallFailure("invalid_response", `The model group '${call.modelGroup}' returned an invalid response`);
  }

  const metered = await meterAnswer(
    ctx,
    call,
    modelUsed,
    { ...reading, reportedUsd: reportedCostHeader(outcome.opened.headers) },
    promptTokens,
  );
  const latencyMs = performance.now() - started;
  await recordBeforeAnswering(ctx, call, record(outcome.attempts, { status: "success", modelUsed, ...metered.fields, latencyMs }));
  if (read.ok) keepAnswer(ctx, call, { form: "json", body: read.text, modelUsed, metered });
  const facts = { callId: call.callId, modelGroup: call.modelGroup, usage: metered.usage, latencyMs };
  return {
    answer: dialect.writeAnswer(reading.parsed, facts, request),
    headers: { ...dialect.answerHeaders(call), ...cacheHeaders(call.cache) },
  };
}
