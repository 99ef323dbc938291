import type { CallRequest, Dialect } from "../../calls/dialect";
import { streams } from "../../calls/dialect";
import type { AppContext } from "../context";
import { teamOf } from "../middleware/auth";
import { callInJob, type JsonAnswer, streamInJob } from "./calls";
import { oneRequestJob } from "./one-request-job";

// A call on the /v1 surface, whatever its dialect: with X-Job-Id, in that open job of the team (the
// job API's rules); without it, its own one-request job of type X-Job-Type (default `api`), which
// the gateway opens, calls and completes.

export interface V1JobHeaders {
  "x-job-id"?: string;
  "x-job-type"?: string;
}

/** The one-request job a /v1 request without X-Job-Id opens: the key's team's, of type X-Job-Type (default `api`). */
function oneRequestJobOf(c: AppContext, headers: V1JobHeaders) {
  return { team_id: teamOf(c.get("principal")), job_type: headers["x-job-type"] ?? "api" };
}

/**
 * Makes the call, plain or streamed. A stream of a one-request job ends without a job summary
 * event (an SDK would read it as one of the dialect's own events); its job is closed all the same.
 */
export function v1Call<R extends CallRequest, A>(
  c: AppContext,
  dialect: Dialect<never, R, unknown, A>,
  request: R,
  headers: V1JobHeaders,
  stream: false,
): Promise<JsonAnswer<A>>;
export function v1Call<R extends CallRequest, A>(
  c: AppContext,
  dialect: Dialect<never, R, unknown, A>,
  request: R,
  headers: V1JobHeaders,
  stream: boolean,
): Promise<Response>;
export function v1Call<R extends CallRequest, A>(
  c: AppContext,
  dialect: Dialect<never, R, unknown, A>,
  request: R,
  headers: V1JobHeaders,
  stream: boolean,
): Promise<Response> {
  const jobId = headers["x-job-id"];
  const job = oneRequestJobOf(c, headers);
  if (stream) {
    if (!streams(dialect)) throw new Error("a dialect that does not stream was asked to");
    if (jobId) return streamInJob(c, dialect, request, jobId, { "x-job-id": jobId });
    return oneRequestJob(c, { dialect, request, job, stream: {} });
  }
  if (jobId) return callInJob(c, dialect, request, jobId, { "x-job-id": jobId });
  return oneRequestJob(c, { dialect, request, job });
}
