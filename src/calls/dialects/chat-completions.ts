// A streamed chunk as a team receives it: rebuilt from an allowlist of OpenAI's
// `chat.completion.chunk` fields, so nothing the upstream adds (provider cost in `usage.cost`,
// `system_fingerprint`, `provider_specific_fields`, `service_tier`, its own id, the model that
// served) reaches the team, whatever LiteLLM or a provider starts sending.

export interface TeamChunkContext {
  /** What the team asked for; every chunk's `model`. */
  modelGroup: string;
  /** The gateway's call id; every chunk of the call has the id `chatcmpl-<callId>`. */
  callId: string;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value);

/** Copies the listed keys that are present (null included), and nothing else. */
function keep(source: Json, keys: readonly string[]): Json {
  const kept: Json = {};
  for (const key of keys) if (source[key] !== undefined) kept[key] = source[key];
  return kept;
}

function teamToolCall(call: unknown): Json {
  if (!isObject(call)) return {};
  const kept = keep(call, ["index", "id", "type"]);
  if (isObject(call.function)) kept.function = keep(call.function, ["name", "arguments"]);
  return kept;
}

function teamDelta(delta: unknown): Json {
  if (!isObject(delta)) return {};
  const kept = keep(delta, ["role", "content", "refusal"]);
  if (Array.isArray(delta.tool_calls)) kept.tool_calls = delta.tool_calls.map(teamToolCall);
  return kept;
}

function teamChoice(choice: unknown, position: number): Json {
  const source = isObject(choice) ? choice : {};
  return {
    index: typeof source.index === "number" ? source.index : position,
    delta: teamDelta(source.delta),
    ...(source.logprobs !== undefined ? { logprobs: source.logprobs } : {}),
    finish_reason: typeof source.finish_reason === "string" ? source.finish_reason : null,
  };
}

/** Token counts only: never the provider's cost or its token details. */
function teamUsage(usage: unknown): Json | null {
  if (!isObject(usage)) return null;
  return keep(usage, ["prompt_tokens", "completion_tokens", "total_tokens"]);
}

/** The chunk a team is sent for one upstream chunk (never an error event: those are the gateway's own). */
export function toTeamChunk(chunk: Json, context: TeamChunkContext): Json {
  return {
    id: `chatcmpl-${context.callId}`,
    object: "chat.completion.chunk",
    created: typeof chunk.created === "number" ? chunk.created : Math.floor(Date.now() / 1000),
    model: context.modelGroup,
    choices: Array.isArray(chunk.choices) ? chunk.choices.map(teamChoice) : [],
    ...(chunk.usage !== undefined ? { usage: teamUsage(chunk.usage) } : {}),
  };
}

function teamMessage(message: unknown): Json {
  const source = isObject(message) ? message : {};
  const kept: Json = {
    role: "assistant",
    content: typeof source.content === "string" ? source.content : null,
    refusal: typeof source.refusal === "string" ? source.refusal : null,
  };
  if (Array.isArray(source.tool_calls)) kept.tool_calls = source.tool_calls.map(teamToolCall);
  return kept;
}

/** The choices of a non-streamed answer as a team receives them: OpenAI's message fields only, every choice. */
export function toTeamChoices(choices: unknown[]): Json[] {
  return choices.map((choice, position) => {
    const source = isObject(choice) ? choice : {};
    return {
      index: typeof source.index === "number" ? source.index : position,
      message: teamMessage(source.message),
      logprobs: source.logprobs ?? null,
      finish_reason: typeof source.finish_reason === "string" ? source.finish_reason : null,
    };
  });
}
