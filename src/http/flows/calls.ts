import type { TypedResponse } from "hono";
import type { JSONParsed } from "hono/utils/types";
import { admitCall } from "../../calls/admission";
import { cachePolicyOf } from "../../calls/cache/answer-key";
import type { AdmittedCall, CallContext } from "../../calls/call-context";
import type { CallRequest, Dialect, StreamingDialect } from "../../calls/dialect";
import { runCall } from "../../calls/pipeline";
import { streamCall } from "../../calls/stream-call";
import { cachedPrices } from "../../db/price-cache";
import type { AppContext } from "../context";
import { callerOf, teamOf } from "../middleware/auth";
import { withHeaderLabels } from "./call-labels";

// A call in a job the team opened (POST /api/jobs/{id}/llm-call[-stream], /v1 with X-Job-Id): the
// request's call context, then the one pipeline. One-request jobs are one-request-job.ts.

/**
 * What the pipeline needs from this request. Made only when the call goes to the team's object:
 * handing it the key (callerOf) is what gets the key checked.
 */
export function callContextOf(c: AppContext): CallContext {
  return {
    env: c.env,
    work: c.executionCtx,
    signal: c.req.raw.signal,
    teamId: teamOf(c.get("principal")),
    caller: callerOf(c),
    prices: cachedPrices(c.get("repo")),
    cachePolicy: cachePolicyOf(c.req.header("cache-control")),
  };
}

/** A 200 JSON answer, typed as the route's OpenAPI answer is (what `c.json` returns). */
export type JsonAnswer<T> = Response & TypedResponse<JSONParsed<T>, 200, "json">;

/** `c.json` for a body whose type a dialect decides. */
export function jsonAnswer<T>(c: AppContext, body: T, headers: Record<string, string>): JsonAnswer<T> {
  return c.json(body as object, 200, headers) as JsonAnswer<T>;
}

/** A plain call in an open job of the team: admitted, made, recorded, answered as its dialect writes it. */
export async function callInJob<R extends CallRequest, A>(
  c: AppContext,
  dialect: Dialect<never, R, unknown, A>,
  request: R,
  jobId: string,
  headers: Record<string, string> = {},
): Promise<JsonAnswer<A>> {
  request = withHeaderLabels(c, request);
  const ctx = callContextOf(c);
  const call: AdmittedCall = await admitCall(ctx, dialect, request, jobId, false);
  const result = await runCall(ctx, dialect, request, call);
  return jsonAnswer(c, result.answer, { ...headers, ...result.headers });
}

/** A streamed call in an open job of the team. */
export async function streamInJob<R extends CallRequest>(
  c: AppContext,
  dialect: StreamingDialect<never, R>,
  request: R,
  jobId: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  request = withHeaderLabels(c, request);
  const ctx = callContextOf(c);
  const call = await admitCall(ctx, dialect, request, jobId, true);
  return streamCall(ctx, dialect, request, call, { headers });
}
