// What the gateway sends to LiteLLM: only whitelisted OpenAI parameters (so nothing a client
// sends can redirect the upstream or carry credentials), plus attribution for LiteLLM's logs.

/** OpenAI chat-completion parameters forwarded as they are. Everything else is dropped. */
export const FORWARDED_PARAMETERS = [
  "messages",
  "temperature",
  "top_p",
  "max_tokens",
  "max_completion_tokens",
  "n",
  "stop",
  "presence_penalty",
  "frequency_penalty",
  "logit_bias",
  "logprobs",
  "top_logprobs",
  "seed",
  "response_format",
  "tools",
  "tool_choice",
  "parallel_tool_calls",
] as const;

export type ForwardedParameter = (typeof FORWARDED_PARAMETERS)[number];
export type ChatParameters = Partial<Record<ForwardedParameter, unknown>> & { messages: unknown[] };

export interface Attribution {
  teamId: string;
  organizationId?: string;
  jobId: string;
  jobType: string;
  purpose: string | null;
  endUser: string | null;
  callId: string;
}

export function buildUpstreamBody(
  params: ChatParameters,
  model: string,
  attribution: Attribution,
  stream: boolean,
): Record<string, unknown> {
  const body: Record<string, unknown> = { model };
  for (const name of FORWARDED_PARAMETERS) {
    if (params[name] !== undefined) body[name] = params[name];
  }
  Object.assign(body, attributionFields(attribution));
  if (stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  return body;
}

/** `user` and LiteLLM `metadata`, so LiteLLM's own spend logs attribute a call to its team and job. */
export function attributionFields(attribution: Attribution): { user: string; metadata: Record<string, unknown> } {
  return {
    user: attribution.teamId,
    metadata: {
      team_id: attribution.teamId,
      job_id: attribution.jobId,
      job_type: attribution.jobType,
      purpose: attribution.purpose,
      call_id: attribution.callId,
      ...(attribution.endUser ? { end_user: attribution.endUser } : {}),
      tags: [`team:${attribution.teamId}`, `job_type:${attribution.jobType}`],
    },
  };
}

/** Embedding parameters forwarded to LiteLLM's /embeddings as they are. */
export const FORWARDED_EMBEDDING_PARAMETERS = ["input", "encoding_format", "dimensions"] as const;
export type EmbeddingParameters = Partial<Record<(typeof FORWARDED_EMBEDDING_PARAMETERS)[number], unknown>> & { input: unknown };

export function buildEmbeddingBody(params: EmbeddingParameters, attribution: Attribution): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const name of FORWARDED_EMBEDDING_PARAMETERS) {
    if (params[name] !== undefined) body[name] = params[name];
  }
  return { ...body, ...attributionFields(attribution) };
}
