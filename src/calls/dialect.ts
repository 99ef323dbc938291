import type { AdmittedCall } from "./call-context";
import type { Usage } from "./cost";
import type { CallLabels } from "./labels";
import type { StreamFormat } from "./stream/meter-stream";
import type { UpstreamPath } from "./upstream/litellm-client";
import type { WorstCase } from "./worst-case";

// A dialect is how one kind of request speaks: the job API's calls, OpenAI's chat completions,
// embeddings and Responses, Anthropic's Messages. The pipeline (pipeline.ts, stream-call.ts) admits, falls back, meters and
// records every call the same way; at its edges it asks the request's dialect to parse the
// request, estimate its worst case for the hold, build what LiteLLM is sent, read the answer's
// usage, and write the answer (or rewrite the stream) for the client. A new dialect is one
// module in dialects/ implementing this, and its tests.

/** What the pipeline needs from any request once its dialect has parsed it. */
export interface CallRequest {
  modelGroup: string;
  purpose: string | null;
  /** Its tags and end user: the body's as the dialect reads them, with the headers' once the route adds them. */
  labels: CallLabels;
}

/** A 2xx answer as its dialect reads it. */
export interface AnswerReading<Parsed> {
  /** The usage LiteLLM reported, or null: it is then estimated from the prompt and `deliveredChars`. */
  usage: Usage | null;
  /** Characters of output the client gets. */
  deliveredChars: number;
  parsed: Parsed;
}

/** What the pipeline knows of a recorded call when its answer is written. */
export interface CallFacts {
  callId: string;
  modelGroup: string;
  /** As reported, or estimated. */
  usage: Usage;
  latencyMs: number;
}

export interface Dialect<Body = never, Request extends CallRequest = CallRequest, Parsed = unknown, Answer = unknown> {
  /** LiteLLM's endpoint for this kind of call. */
  readonly upstreamPath: UpstreamPath;
  /** The validated request body as the pipeline's request: the group, the purpose and the parameters forwarded. */
  parse(body: Body): Request;
  /**
   * Its worst case, which the hold is worked out from (worst-case.ts has the rules): the prompt's
   * tokens (also what a call with no reported usage is billed for its prompt), and its choices of
   * at most max_tokens each (null: the team's object chooses what its credits pay for).
   */
  estimate(request: Request): WorstCase;
  /** What LiteLLM is sent (its `model` is set per attempt): whitelisted parameters and the call's attribution. */
  upstreamBody(request: Request, call: AdmittedCall, stream: boolean): Record<string, unknown>;
  /** Headers of the dialect's own that LiteLLM is sent (e.g. Anthropic's version); never a credential. */
  upstreamHeaders?(request: Request): Record<string, string>;
  /** A 2xx body read whole; null when it is not an answer of this dialect (the call then fails as an invalid response). */
  readAnswer(text: string): AnswerReading<Parsed> | null;
  /** The answer the client gets, once the call is recorded. */
  writeAnswer(parsed: Parsed, facts: CallFacts, request: Request): Answer;
  /** Response headers of an answer or a stream (e.g. the max_tokens the gateway chose for the hold). */
  answerHeaders(call: AdmittedCall): Record<string, string>;
  /** How a stream of this dialect is read and rewritten for the client; absent when it does not stream. */
  streamFormat?(request: Request, call: AdmittedCall): StreamFormat;
}

/** A dialect that streams. */
export type StreamingDialect<Body, Request extends CallRequest, Parsed = unknown, Answer = unknown> = Dialect<
  Body,
  Request,
  Parsed,
  Answer
> & {
  streamFormat(request: Request, call: AdmittedCall): StreamFormat;
};

export function streams<Body, Request extends CallRequest, Parsed, Answer>(
  dialect: Dialect<Body, Request, Parsed, Answer>,
): dialect is StreamingDialect<Body, Request, Parsed, Answer> {
  return dialect.streamFormat !== undefined;
}
