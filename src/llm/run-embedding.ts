import type { Repository } from "../db/repository";
import { CallFailure } from "../errors";
import { tryLedger } from "../ledger/client";
import { log } from "../log";
import { callFailureOf, describeFailure } from "./call-failure";
import { type BackgroundWork, type CallInput, callRecorder, meteredFields, outliving, recordCallOrLog } from "./call-record";
import { parseUsage, providerCost, reportedCostHeader } from "./cost";
import { fallBackInOrder } from "./fallback";
import { attemptModel, MAX_ANSWER_BYTES, readBodyWithin, upstreamConfig } from "./litellm-client";
import { buildEmbeddingBody, type EmbeddingParameters } from "./upstream-request";
import { embeddingInputTokens } from "./worst-case";

// An embeddings call (LiteLLM's /embeddings) inside an admitted job: the same fallback, cost and
// record as a chat call, metered by its prompt tokens. Recorded in the job as a call.

export interface EmbeddingAnswer {
  callId: string;
  /** OpenAI's `{object: "embedding", index, embedding}` items, rebuilt from those fields only. */
  data: Array<{ object: "embedding"; index: number; embedding: unknown }>;
  promptTokens: number;
  totalTokens: number;
}

function teamEmbeddings(data: unknown[]): EmbeddingAnswer["data"] {
  return data.map((item, position) => {
    const source = (typeof item === "object" && item !== null ? item : {}) as Record<string, unknown>;
    return { object: "embedding", index: typeof source.index === "number" ? source.index : position, embedding: source.embedding ?? null };
  });
}

/**
 * One embeddings call: models tried in priority order, then the call recorded in the team's
 * ledger before the answer is returned (nothing served unmetered). Throws a CallFailure when
 * there is no answer to give. Background work like a chat call: a client that leaves does not
 * cancel the record.
 */
export function runEmbedding(
  env: Env,
  repo: Repository,
  work: BackgroundWork,
  input: CallInput,
  params: EmbeddingParameters,
  clientSignal?: AbortSignal,
): Promise<EmbeddingAnswer> {
  return outliving(work, embeddingCall(env, repo, input, params, clientSignal));
}

async function embeddingCall(
  env: Env,
  repo: Repository,
  input: CallInput,
  params: EmbeddingParameters,
  clientSignal?: AbortSignal,
): Promise<EmbeddingAnswer> {
  // The id admission held the call under, so its record captures that hold.
  const callId = input.callId;
  const started = performance.now();
  const config = upstreamConfig(env);
  const body = buildEmbeddingBody(params, {
    teamId: input.teamId,
    jobId: input.jobId,
    jobType: input.admission.jobType,
    purpose: input.purpose,
    endUser: input.admission.userId,
    callId,
  });
  const outcome = await fallBackInOrder(input.models, async (model) => {
    const result = await attemptModel(config, model, body, callId, clientSignal, { path: "/embeddings" });
    if (result.ok) return { ok: true, attempt: result.attempt, opened: result.response };
    return { ok: false, attempt: result.attempt, message: result.message, retryable: result.retryable, status: result.attempt.status };
  });
  const record = callRecorder(input, callId, started, false);

  if (!outcome.ok) {
    const closed = outcome.attempts.at(-1)?.outcome === "client_closed";
    const failure = describeFailure(outcome.attempts, outcome.message, outcome.retryable, input.models);
    await recordCallOrLog(
      env,
      input,
      record(outcome.attempts, { status: closed ? "aborted" : "failed", error: failure.error, upstreamError: failure.upstreamError }),
    );
    throw callFailureOf(input.modelGroup, outcome.attempts, failure, outcome.retryable, outcome.status);
  }

  const read = await readBodyWithin(outcome.opened, MAX_ANSWER_BYTES);
  let data: unknown[] | null = null;
  let rawUsage: unknown = null;
  if (read.ok) {
    try {
      const parsed = JSON.parse(read.text) as { data?: unknown; usage?: unknown };
      if (Array.isArray(parsed.data)) data = parsed.data;
      rawUsage = parsed.usage;
    } catch {
      data = null;
    }
  }
  if (data === null) {
    await recordCallOrLog(
      env,
      input,
      record(outcome.attempts, { status: "failed", modelUsed: outcome.model, error: "LiteLLM returned an invalid response" }),
    );
    throw new CallFailure("invalid_response", `The model group '${input.modelGroup}' returned an invalid response`);
  }

  const reported = parseUsage(rawUsage);
  const promptTokens = reported?.promptTokens ?? embeddingInputTokens(params.input);
  const usage = { promptTokens, completionTokens: 0, totalTokens: promptTokens };
  const cost = await providerCost(repo, outcome.model, usage, reportedCostHeader(outcome.opened.headers));
  const unrecorded = () =>
    new CallFailure(
      "not_recorded",
      "The call could not be recorded, so its answer is withheld; please retry. The call is settled from its hold: at most its worst case",
    );
  const fields = { status: "success" as const, modelUsed: outcome.model, ...meteredFields(usage, cost, reported === null) };
  const recorded = await tryLedger(env, input.teamId, "recordCall", input.jobId, record(outcome.attempts, fields)).catch(() => {
    throw unrecorded();
  });
  if (!recorded.ok) {
    log("error", "call could not be recorded", { team_id: input.teamId, job_id: input.jobId, call_id: callId, code: recorded.code });
    throw unrecorded();
  }
  return { callId, data: teamEmbeddings(data), promptTokens, totalTokens: promptTokens };
}
