import { CallFailure } from "../errors";
import type { CallContext } from "./call-context";
import { type AdmittedCall, outliving } from "./call-context";
import { callFailureOf, describeFailure } from "./call-failure";
import { callRecorder, meter, promptOnly, type Recorder, recordBeforeAnswering, recordCallOrLog } from "./call-record";
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
// case held, admission.ts) → answered by the stage before upstream or down its group's models in
// priority order (fallback) → metered → recorded in the team's ledger → written for the client by
// its dialect. A call that gets no answer is recorded once, here, whatever its dialect. This file
// runs plain calls; stream-call.ts streams, sharing the opening and the no-answer record.

/** An answer as the dialect wrote it, with its response headers. */
export interface CallResult<Answer> {
  answer: Answer;
  headers: Record<string, string>;
}

/**
 * Opens an answer for an admitted call: from the stage before upstream if it has one, else down
 * the call's models in priority order until one opens. A model's 2xx answer is opened by
 * `whenAnswered` (a plain call: at once; a stream: once its first byte comes); an error answer
 * or no answer moves on as fallback.ts says.
 */
export async function openAnswer<T>(
  ctx: CallContext,
  call: AdmittedCall,
  body: Record<string, unknown>,
  upstream: { path: UpstreamPath; stream: boolean; headers?: Record<string, string> },
  whenAnswered: (response: Response, attempt: Attempt) => Promise<ModelTry<T>>,
): Promise<FallbackOutcome<T>> {
  const config = upstreamConfig(ctx.env);
  const tried = (result: AttemptResult): Promise<ModelTry<T>> | ModelTry<T> =>
    result.ok
      ? whenAnswered(result.response, result.attempt)
      : { ok: false, attempt: result.attempt, message: result.message, retryable: result.retryable, status: result.attempt.status };
  const early = ctx.beforeUpstream ? await ctx.beforeUpstream(call, body, upstream.stream) : null;
  if (early) {
    const attempt: Attempt = { model: early.source, outcome: "ok", status: early.response.status, latency_ms: 0 };
    const opened = await tried({ ok: true, response: early.response, attempt });
    if (opened.ok) return { ok: true, model: early.source, attempts: [opened.attempt], opened: opened.opened };
  }
  // A stream's deadline bounds the wait for its headers; its caller paces the body itself.
  const options = {
    path: upstream.path,
    headers: upstream.headers,
    deadline: upstream.stream ? ("headers" as const) : ("answer" as const),
  };
  return fallBackInOrder(call.models, async (model) => tried(await attemptModel(config, model, body, call.callId, ctx.signal, options)));
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

  const metered = await meter(ctx, modelUsed, { ...reading, reportedUsd: reportedCostHeader(outcome.opened.headers) }, promptTokens);
  const latencyMs = performance.now() - started;
  await recordBeforeAnswering(ctx, call, record(outcome.attempts, { status: "success", modelUsed, ...metered.fields, latencyMs }));
  const facts = { callId: call.callId, modelGroup: call.modelGroup, usage: metered.usage, latencyMs };
  return { answer: dialect.writeAnswer(reading.parsed, facts, request), headers: dialect.answerHeaders(call) };
}
