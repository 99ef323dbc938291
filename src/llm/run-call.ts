import type { Repository } from "../db/repository";
import { apiError } from "../http/errors";
import { tryLedger } from "../ledger/client";
import type { CallAdmission, CallRecord, CallStatus } from "../ledger/types";
import { log } from "../log";
import { estimateTokens, type ProviderCost, parseUsage, providerCost, reportedCostHeader, type Usage } from "./cost";
import { type Attempt, attemptInOrder, sanitizeUpstreamMessage, type UpstreamConfig } from "./litellm-client";
import { buildUpstreamBody, type ChatParameters } from "./upstream-request";

export interface CallInput {
  teamId: string;
  jobId: string;
  modelGroup: string;
  models: string[];
  params: ChatParameters;
  purpose: string | null;
  admission: CallAdmission;
}

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

export function upstreamConfig(env: Env): UpstreamConfig {
  const timeoutMs = Number.parseInt(env.LITELLM_TIMEOUT_MS ?? "", 10);
  return {
    baseUrl: env.LITELLM_BASE_URL,
    apiKey: env.LITELLM_API_KEY,
    timeoutMs: Number.isFinite(timeoutMs) && timeoutMs > 0 ? timeoutMs : 60_000,
  };
}

/** Builds a call's ledger record: nothing observed yet, then whatever the caller knows. */
export function callRecorder(input: CallInput, callId: string, started: number, stream: boolean) {
  return (attempts: Attempt[], fields: Partial<CallRecord> & { status: CallStatus }): CallRecord => ({
    callId,
    modelGroup: input.modelGroup,
    modelUsed: null,
    attempts,
    purpose: input.purpose,
    promptTokens: 0,
    completionTokens: 0,
    totalTokens: 0,
    providerCostNano: null,
    costSource: "unpriced",
    usageEstimated: false,
    latencyMs: performance.now() - started,
    error: null,
    stream,
    ...fields,
  });
}

/** What a call record says about usage and cost, whichever way the call was made. */
export function meteredFields(usage: Usage, cost: ProviderCost, usageEstimated: boolean) {
  return {
    promptTokens: usage.promptTokens,
    completionTokens: usage.completionTokens,
    totalTokens: usage.totalTokens,
    providerCostNano: cost.nano,
    costSource: cost.source,
    usageEstimated,
  };
}

/** The body sent to LiteLLM for a call (the model is set per attempt). */
export function upstreamBodyFor(input: CallInput, callId: string, stream: boolean): Record<string, unknown> {
  const attribution = {
    teamId: input.teamId,
    jobId: input.jobId,
    jobType: input.admission.jobType,
    purpose: input.purpose,
    endUser: input.admission.userId,
    callId,
  };
  return buildUpstreamBody(input.params, input.models[0] ?? "", attribution, stream);
}

interface ChatCompletion {
  choices?: Array<{ message?: { content?: unknown; tool_calls?: unknown }; finish_reason?: unknown }>;
  usage?: unknown;
}

/** The prompt as counted for a usage estimate when the upstream reported none. */
export function promptText(params: ChatParameters): string {
  return JSON.stringify(params.messages ?? []);
}

/**
 * One non-streamed LLM call inside an admitted job: fallback down the group, cost, and the
 * record in the team's ledger. The answer is only returned once the call is recorded, so
 * nothing is served unmetered.
 */
export async function runChatCall(env: Env, repo: Repository, input: CallInput, clientSignal?: AbortSignal): Promise<CallAnswer> {
  const callId = crypto.randomUUID();
  const started = performance.now();
  const body = upstreamBodyFor(input, callId, false);
  const outcome = await attemptInOrder(upstreamConfig(env), input.models, body, callId, clientSignal);
  const recordOf = callRecorder(input, callId, started, false);
  const record = (fields: Partial<CallRecord> & { status: CallStatus }) => recordOf(outcome.attempts, fields);

  if (!outcome.ok) {
    const closed = outcome.attempts.at(-1)?.outcome === "client_closed";
    const error = describeFailure(outcome.attempts, outcome.message, outcome.retryable, input.models);
    await recordOrLog(env, input, record({ status: closed ? "aborted" : "failed", error }));
    throw failureError(input.modelGroup, outcome.attempts, error, outcome.retryable, outcome.status);
  }

  let completion: ChatCompletion;
  try {
    completion = (await outcome.response.json()) as ChatCompletion;
    if (!Array.isArray(completion.choices) || completion.choices.length === 0) throw new Error("no choices");
  } catch {
    const attempts: Attempt[] = [...outcome.attempts.slice(0, -1), { ...outcome.attempts.at(-1)!, outcome: "invalid_response" }];
    await recordOrLog(
      env,
      input,
      record({ status: "failed", attempts, modelUsed: outcome.model, error: "LiteLLM returned an invalid response" }),
    );
    throw apiError(502, `The model group '${input.modelGroup}' returned an invalid response`);
  }

  const choice = completion.choices![0];
  const content = typeof choice.message?.content === "string" ? choice.message.content : "";
  const toolCalls = Array.isArray(choice.message?.tool_calls) ? choice.message.tool_calls : undefined;
  let usage: Usage | null = parseUsage(completion.usage);
  const usageEstimated = usage === null;
  if (usage === null) {
    const promptTokens = estimateTokens(promptText(input.params));
    const completionTokens = estimateTokens(content + (toolCalls ? JSON.stringify(toolCalls) : ""));
    usage = { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens };
  }
  const cost = await providerCost(repo, outcome.model, usage, reportedCostHeader(outcome.response.headers));
  const latencyMs = performance.now() - started;
  const unrecorded = () => apiError(503, "The call could not be recorded; it was not charged, please retry");
  const recorded = await tryLedger(
    env,
    input.teamId,
    "recordCall",
    input.jobId,
    record({
      status: "success",
      modelUsed: outcome.model,
      ...meteredFields(usage, cost, usageEstimated),
      latencyMs,
    }),
  ).catch(() => {
    throw unrecorded();
  });
  if (!recorded.ok) {
    log("error", "call could not be recorded", { team_id: input.teamId, job_id: input.jobId, call_id: callId, code: recorded.code });
    throw unrecorded();
  }
  return {
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
}

async function recordOrLog(env: Env, input: CallInput, call: CallRecord): Promise<void> {
  try {
    const result = await tryLedger(env, input.teamId, "recordCall", input.jobId, call);
    if (!result.ok) log("error", "failed call could not be recorded", { team_id: input.teamId, call_id: call.callId, code: result.code });
  } catch {
    log("error", "failed call could not be recorded", { team_id: input.teamId, call_id: call.callId });
  }
}

/** Model families, so an upstream message cannot name the provider model behind a group either. */
const MODEL_NAME_PATTERN =
  /\b(?:gpt|chatgpt|o[1-9]|text-embedding|dall-e|whisper|claude|gemini|gemma|llama|mistral|mixtral|codestral|command|deepseek|qwen|phi|grok|sonar)[\w.:/@+=-]*/gi;

/** Provider names as LiteLLM puts them in messages ("OpenAIException - ..."), which would name the provider. */
const PROVIDER_PATTERN =
  /\b(?:OpenAI|AzureOpenAI|Azure|Anthropic|Bedrock|Vertex(?:AI)?|Gemini|Google|Mistral|Cohere|Groq|Together(?:AI)?|Fireworks(?:AI)?|Ollama|Perplexity|DeepSeek|xAI|HuggingFace|Replicate|Databricks|WatsonX|Sagemaker)(?=Exception\b)/g;

/** Teams ask for groups, never models: upstream messages must not tell them which model served. */
export function hideModelNames(message: string, models: string[]): string {
  const names = new Set<string>();
  for (const model of models) {
    if (!model) continue;
    names.add(model);
    names.add(model.split("+")[0]);
    names.add(model.split("/").pop()!.split("+")[0]);
  }
  let hidden = message;
  for (const name of [...names].filter(Boolean).sort((a, b) => b.length - a.length)) hidden = hidden.split(name).join("<model>");
  return hidden.replace(MODEL_NAME_PATTERN, "<model>").replace(PROVIDER_PATTERN, "Provider");
}

function describeAttempt(attempt: Attempt): string {
  switch (attempt.outcome) {
    case "http_error":
      return attempt.status === 429 ? "rate limited (HTTP 429)" : `HTTP ${attempt.status}`;
    case "timeout":
      return "timed out";
    case "connection_error":
      return "connection failed";
    case "invalid_response":
      return "invalid response";
    default:
      return attempt.outcome.replace("_", " ");
  }
}

/** What a team is told (and what its job records) about a call that got no answer. */
export function describeFailure(attempts: Attempt[], message: string, retryable: boolean, models: string[]): string {
  const last = attempts.at(-1);
  if (last?.outcome === "client_closed") return "The client closed the connection";
  if (!retryable && last?.status !== undefined) {
    return `The model rejected the request (HTTP ${last.status}): ${hideModelNames(sanitizeUpstreamMessage(message), models)}`;
  }
  return `Every model in the group failed: ${attempts.map(describeAttempt).join("; ")}`;
}

/** How a call that produced no answer is reported to the client. */
export function failureError(modelGroup: string, attempts: Attempt[], teamMessage: string, retryable: boolean, status?: number) {
  if (!retryable && status !== undefined) {
    if (status === 401 || status === 403) {
      return apiError(502, "LiteLLM refused the gateway's credentials; the operator must check LITELLM_API_KEY");
    }
    return apiError(400, teamMessage);
  }
  if (attempts.length > 0 && attempts.every((a) => a.outcome === "timeout")) {
    return apiError(504, `Every model in group '${modelGroup}' timed out`);
  }
  return apiError(502, `Every model in group '${modelGroup}' failed (${attempts.length} attempt${attempts.length === 1 ? "" : "s"})`);
}
