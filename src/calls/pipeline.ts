import type { StoredAnswer } from "../cache/stored-answer";
import { CallFailure } from "../errors";
import { countSpeculativeAbort, type PendingAdmission } from "./admission";
import { cacheHeaders, keepAnswer } from "./cache/answer-store";
import type { CallContext } from "./call-context";
import { type AdmittedCall, outliving } from "./call-context";
import { callFailureOf, describeFailure } from "./call-failure";
import { callRecorder, meterAnswer, promptOnly, type Recorder, recordAfterAnswer, recordCallOrLog } from "./call-record";
import { reportedCostHeader } from "./cost";
import type { CallRequest, Dialect } from "./dialect";
import { speculationHolds } from "./speculation";
import { type FallbackOutcome, fallBackInOrder, type ModelTry } from "./upstream/fallback";
import {
  type Attempt,
  type AttemptResult,
  attemptModel,
  type BodyRead,
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

/** An answer as the dialect wrote it, with its response headers, the call as admitted, and its record on its way (true once written). */
export interface CallResult<Answer> {
  call: AdmittedCall;
  answer: Answer;
  headers: Record<string, string>;
  recorded: Promise<boolean>;
}

/** What a model's 2xx answer opens: a plain call's answer at once, a stream's once its first byte comes (under `signal`). */
export type WhenAnswered<T> = (response: Response, attempt: Attempt, signal: AbortSignal | undefined) => Promise<ModelTry<T>>;

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
  whenAnswered: WhenAnswered<T>,
): Promise<FallbackOutcome<T>> {
  const hit = call.cache?.hit;
  if (hit) {
    const attempt: Attempt = { model: hit.answer.modelUsed, outcome: "ok", status: 200, latency_ms: 0 };
    const opened = await whenAnswered(replayOf(hit.answer), attempt, ctx.signal);
    if (opened.ok) return { ok: true, model: hit.answer.modelUsed, attempts: [opened.attempt], opened: opened.opened };
    return { ok: false, attempts: [opened.attempt], message: opened.message, retryable: true };
  }
  const config = upstreamConfig(ctx.env);
  const tried = (result: AttemptResult): Promise<ModelTry<T>> | ModelTry<T> =>
    result.ok
      ? whenAnswered(result.response, result.attempt, ctx.signal)
      : { ok: false, attempt: result.attempt, message: result.message, retryable: result.retryable, status: result.attempt.status };
  // A stream's deadline bounds the wait for its headers; its caller paces the body itself.
  const options = {
    path: upstream.path,
    headers: upstream.headers,
    deadline: upstream.stream ? ("headers" as const) : ("answer" as const),
  };
  return fallBackInOrder(call.models, async (model) => tried(await attemptModel(config, model, body, call.callId, ctx.signal, options)));
}

/** A call once admitted, and how opening its answer went. */
export interface Opening<T> {
  call: AdmittedCall;
  outcome: FallbackOutcome<T>;
}

/** How a call goes upstream: LiteLLM's endpoint, whether it streams, and its body for the call as admitted. */
export interface UpstreamCall {
  path: UpstreamPath;
  stream: boolean;
  /** The dialect's own request headers for LiteLLM (Anthropic's version), if any. */
  headers?: Record<string, string>;
  body(call: AdmittedCall): Record<string, unknown>;
}

/**
 * Admits a call and opens its answer. When this isolate expects the admission (speculation.ts),
 * the call goes upstream at the same moment as the admission, so the first byte waits for the
 * slower of the two, not for both in turn. Nothing is released before the admission: a refusal
 * aborts the upstream request (`release` lets go of what it had opened) and is thrown; an
 * admission unlike the one expected (other models, a lower max_tokens, a group with a response
 * cache: the call is then answered through it) aborts it and sends the
 * call again as admitted. Either abort is counted by the team's object. A call expected by no one
 * is admitted first, then sent.
 */
export async function admitAndOpen<T>(
  ctx: CallContext,
  pending: PendingAdmission,
  upstream: UpstreamCall,
  whenAnswered: WhenAnswered<T>,
  release: (opened: T) => void,
): Promise<Opening<T>> {
  const { expected } = pending;
  if (!expected) {
    const call = await pending.admit();
    return { call, outcome: await openAnswer(ctx, call, upstream.body(call), upstream, whenAnswered) };
  }
  const early = new AbortController();
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, early.signal]) : early.signal;
  const opening = openAnswer({ ...ctx, signal }, expected, upstream.body(expected), upstream, whenAnswered);
  const abandon = () => {
    early.abort();
    opening.then((outcome) => outcome.ok && release(outcome.opened)).catch(() => {});
    ctx.work.waitUntil(countSpeculativeAbort(ctx));
  };
  let call: AdmittedCall;
  try {
    call = await pending.admit();
  } catch (refusal) {
    abandon();
    throw refusal;
  }
  // A call met the group's response cache (the group has one now): what was sent early is not it.
  if (call.jobId === expected.jobId && call.cache === null && speculationHolds(expected.admission, call.admission)) {
    // What went upstream is what the answer's headers tell: the max_tokens it was sent with.
    const sent = { ...call.admission, budgetMaxTokens: expected.admission.budgetMaxTokens };
    return { call: { ...call, admission: sent }, outcome: await opening };
  }
  abandon();
  return { call, outcome: await openAnswer(ctx, call, upstream.body(call), upstream, whenAnswered) };
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
 * One plain call: admitted (speculation.ts may start it upstream meanwhile), made, and answered
 * as soon as the answer is read. Its record is written after, in the background, with retries
 * (`recorded`): a record lost even so is settled from the call's hold by the team's object, at
 * the call's worst case (docs/money.md). The whole call is background work: a client that leaves
 * cancels the upstream but not the record. Throws the refusal, or a CallFailure when there is no
 * answer to give.
 */
export function runCall<R extends CallRequest, P, A>(
  ctx: CallContext,
  dialect: Dialect<never, R, P, A>,
  request: R,
  pending: PendingAdmission,
): Promise<CallResult<A>> {
  return outliving(ctx.work, plainCall(ctx, { dialect, request, pending }));
}

async function plainCall<R extends CallRequest, P, A>(
  ctx: CallContext,
  { dialect, request, pending }: { dialect: Dialect<never, R, P, A>; request: R; pending: PendingAdmission },
): Promise<CallResult<A>> {
  const started = performance.now();
  const { promptTokens } = dialect.estimate(request);
  const upstream = {
    path: dialect.upstreamPath,
    stream: false,
    headers: dialect.upstreamHeaders?.(request),
    body: (call: AdmittedCall) => dialect.upstreamBody(request, call, false),
  };
  // A plain call is open once a model answers 2xx; its body is read at once, while the admission
  // may still be on its way, so nothing is left to wait for once the admission has come.
  const { call, outcome } = await admitAndOpen<{ response: Response; read: BodyRead }>(
    ctx,
    pending,
    upstream,
    async (response, attempt) => ({ ok: true, attempt, opened: { response, read: await readBodyWithin(response, MAX_ANSWER_BYTES) } }),
    () => {},
  );
  const record = callRecorder(call, started, false);
  if (!outcome.ok) return recordNoAnswer(ctx, call, outcome, record, promptTokens);

  const modelUsed = outcome.model;
  const { response, read } = outcome.opened;
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

  const metered = await meterAnswer(ctx, call, modelUsed, { ...reading, reportedUsd: reportedCostHeader(response.headers) }, promptTokens);
  const latencyMs = performance.now() - started;
  const recorded = recordAfterAnswer(ctx, call, record(outcome.attempts, { status: "success", modelUsed, ...metered.fields, latencyMs }));
  // Kept in the response cache once its record is written (as a stream's is), in the background.
  if (read.ok)
    ctx.work.waitUntil(recorded.then((ok) => ok && keepAnswer(ctx, call, { form: "json", body: read.text, modelUsed, metered })));
  const facts = { callId: call.callId, modelGroup: call.modelGroup, usage: metered.usage, latencyMs };
  const headers = { ...dialect.answerHeaders(call), ...cacheHeaders(call.cache) };
  return { call, answer: dialect.writeAnswer(reading.parsed, facts, request), headers, recorded };
}
