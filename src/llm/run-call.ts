import type { Repository } from "../db/repository";
import { CallFailure } from "../errors";
import { tryLedger } from "../ledger/client";
import { log } from "../log";
import { callFailureOf, describeFailure } from "./call-failure";
import {
  type BackgroundWork,
  type CallInput,
  type CallRecordFields,
  callRecorder,
  meteredFields,
  outliving,
  promptOnlyFields,
  recordCallOrLog,
  upstreamBodyFor,
  usageOrEstimate,
} from "./call-record";
import { parseUsage, providerCost, reportedCostHeader } from "./cost";
import { fallBackInOrder } from "./fallback";
import { type Attempt, attemptModel, MAX_ANSWER_BYTES, readBodyWithin, upstreamConfig } from "./litellm-client";
import { toTeamChoices } from "./team-chunk";

export interface CallAnswer {
  call_id: string;
  response: { content: string; finish_reason: string | null; tool_calls?: unknown[] };
  metadata: {
    tokens_used: number;
    prompt_tokens: number;
    completion_tokens: number;
    latency_ms: number;
    model_group: string;
  };
}

interface ChatCompletion {
  choices?: Array<{ message?: { content?: unknown; tool_calls?: unknown }; finish_reason?: unknown }>;
  created?: unknown;
  usage?: unknown;
}

/** A recorded call's answer, with every choice the model gave (rebuilt for the team) for OpenAI-shaped answers. */
export interface ChatCompletionResult {
  answer: CallAnswer;
  choices: Record<string, unknown>[];
  created: number;
}

/**
 * One non-streamed LLM call inside an admitted job: fallback down the group, cost, and the
 * record in the team's ledger. The answer is only returned once the call is recorded, so
 * nothing is served unmetered. The whole call is also background work (`waitUntil`): a client
 * that leaves cancels the upstream but not the record. Throws a CallFailure when there is no
 * answer to give.
 */
export function runChatCall(
  env: Env,
  repo: Repository,
  work: BackgroundWork,
  input: CallInput,
  clientSignal?: AbortSignal,
): Promise<CallAnswer> {
  return runChatCompletion(env, repo, work, input, clientSignal).then((result) => result.answer);
}

/** runChatCall, answering with every choice too (the /v1 surface returns them all). */
export function runChatCompletion(
  env: Env,
  repo: Repository,
  work: BackgroundWork,
  input: CallInput,
  clientSignal?: AbortSignal,
): Promise<ChatCompletionResult> {
  return outliving(work, chatCall(env, repo, input, clientSignal));
}

async function chatCall(env: Env, repo: Repository, input: CallInput, clientSignal?: AbortSignal): Promise<ChatCompletionResult> {
  const callId = input.callId;
  const started = performance.now();
  const config = upstreamConfig(env);
  const body = upstreamBodyFor(input, callId, false);
  // A plain call is open once a model answers 2xx.
  const outcome = await fallBackInOrder(input.models, async (model) => {
    const result = await attemptModel(config, model, body, callId, clientSignal);
    if (result.ok) return { ok: true, attempt: result.attempt, opened: result.response };
    return { ok: false, attempt: result.attempt, message: result.message, retryable: result.retryable, status: result.attempt.status };
  });
  const recordOf = callRecorder(input, callId, started, false);
  const record = (fields: CallRecordFields) => recordOf(outcome.attempts, fields);

  if (!outcome.ok) {
    const closed = outcome.attempts.at(-1)?.outcome === "client_closed";
    const failure = describeFailure(outcome.attempts, outcome.message, outcome.retryable, input.models);
    // A client that left mid-call is billed the prompt the model already had; other failures used nothing.
    const usage = closed ? await promptOnlyFields(repo, input, outcome.attempts.at(-1)?.model ?? null) : {};
    await recordCallOrLog(
      env,
      input,
      record({ status: closed ? "aborted" : "failed", error: failure.error, upstreamError: failure.upstreamError, ...usage }),
    );
    throw callFailureOf(input.modelGroup, outcome.attempts, failure, outcome.retryable, outcome.status);
  }

  const response = outcome.opened;
  const endedAs = (ended: Attempt["outcome"]): Attempt[] => [
    ...outcome.attempts.slice(0, -1),
    { ...outcome.attempts.at(-1)!, outcome: ended },
  ];
  const read = await readBodyWithin(response, MAX_ANSWER_BYTES);
  if (!read.ok && (read.reason === "too_large" || clientSignal?.aborted)) {
    const tooLarge = read.reason === "too_large";
    const overCap = `more than ${MAX_ANSWER_BYTES / (1024 * 1024)} MiB; the answer was not delivered`;
    const error = tooLarge ? `The model answered with ${overCap}` : "The client closed the connection";
    const usage = await promptOnlyFields(repo, input, outcome.model);
    await recordCallOrLog(
      env,
      input,
      recordOf(endedAs(tooLarge ? "invalid_response" : "client_closed"), {
        status: tooLarge ? "failed" : "aborted",
        modelUsed: outcome.model,
        error,
        ...usage,
      }),
    );
    throw new CallFailure("invalid_response", tooLarge ? `The model group '${input.modelGroup}' answered with ${overCap}` : error);
  }
  let completion: ChatCompletion;
  try {
    if (!read.ok) throw new Error("broken body");
    completion = JSON.parse(read.text) as ChatCompletion;
    if (!Array.isArray(completion.choices) || completion.choices.length === 0) throw new Error("no choices");
  } catch {
    await recordCallOrLog(
      env,
      input,
      recordOf(endedAs("invalid_response"), { status: "failed", modelUsed: outcome.model, error: "LiteLLM returned an invalid response" }),
    );
    throw new CallFailure("invalid_response", `The model group '${input.modelGroup}' returned an invalid response`);
  }

  const choice = completion.choices![0];
  const content = typeof choice.message?.content === "string" ? choice.message.content : "";
  const toolCalls = Array.isArray(choice.message?.tool_calls) ? choice.message.tool_calls : undefined;
  const { usage, estimated } = usageOrEstimate(
    parseUsage(completion.usage),
    input.params,
    content.length + (toolCalls ? JSON.stringify(toolCalls).length : 0),
  );
  const cost = await providerCost(repo, outcome.model, usage, reportedCostHeader(response.headers));
  const latencyMs = performance.now() - started;
  const unrecorded = () =>
    new CallFailure(
      "not_recorded",
      "The call could not be recorded, so its answer is withheld; please retry. The call is settled from its hold: at most its worst case",
    );
  const recorded = await tryLedger(
    env,
    input.teamId,
    "recordCall",
    input.jobId,
    record({ status: "success", modelUsed: outcome.model, ...meteredFields(usage, cost, estimated), latencyMs }),
  ).catch(() => {
    throw unrecorded();
  });
  if (!recorded.ok) {
    log("error", "call could not be recorded", { team_id: input.teamId, job_id: input.jobId, call_id: callId, code: recorded.code });
    throw unrecorded();
  }
  const answer: CallAnswer = {
    call_id: callId,
    response: {
      content,
      finish_reason: typeof choice.finish_reason === "string" ? choice.finish_reason : null,
      ...(toolCalls ? { tool_calls: toolCalls } : {}),
    },
    metadata: {
      tokens_used: usage.totalTokens,
      prompt_tokens: usage.promptTokens,
      completion_tokens: usage.completionTokens,
      latency_ms: Math.round(latencyMs),
      model_group: input.modelGroup,
    },
  };
  const created = typeof completion.created === "number" ? completion.created : Math.floor(Date.now() / 1000);
  return { answer, choices: toTeamChoices(completion.choices!), created };
}
