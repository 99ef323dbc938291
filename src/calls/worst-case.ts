import { MIN_MAX_OUTPUT_TOKENS } from "../schemas/responses";
import { tokensForChars } from "./cost";

// The worst case of a call, as the Worker estimates it before admission: the tokens its prompt
// may count and the completion tokens it may produce. The team's object holds this (priced at the
// group's dearest prices) before anything goes upstream, so every call kind (plain, stream,
// embeddings, /api and /v1) is held by the same rule. Pure: no I/O, no clock.

/** What a call may use at most, before it is priced. */
export interface WorstCase {
  /** Prompt tokens, estimated from every prompt-side field the upstream counts. */
  promptTokens: number;
  /** The client's max_tokens (or max_completion_tokens, the larger) per choice; null: none asked (the object then chooses one); 0: the call completes nothing (embeddings). */
  maxTokens: number | null;
  /** Choices asked for (`n`): the completion may be `choices × maxTokens`. */
  choices: number;
  /** The least max_tokens the API accepts, when more than 1 (the Responses API's 16): the object refuses a call that cannot pay for it. */
  minMaxTokens?: number;
}

/**
 * The request fields an upstream counts as prompt: the conversation, the tool and function
 * definitions, the tool choice and the response format (a JSON schema is sent to the model).
 */
export const PROMPT_FIELDS = ["messages", "tools", "functions", "tool_choice", "response_format"] as const;

/**
 * Tokens one image counts for, whatever its size or detail: the most one high-detail image costs on
 * GPT-4o-class models (1,445) and Claude (about 1,600), rounded up. A model that counts an image
 * as more (gpt-4o-mini's image tokens, a large image in many Gemini tiles) can exceed the hold.
 */
export const IMAGE_TOKENS = 1_600;

/** Content parts that carry an image: chat's `image_url`, the Responses API's `input_image`, Anthropic's `image`. */
const IMAGE_PART_TYPES = new Set(["image_url", "input_image", "image"]);

function isImagePart(value: unknown): boolean {
  return typeof value === "object" && value !== null && IMAGE_PART_TYPES.has((value as { type?: unknown }).type as string);
}

/**
 * The prompt tokens of a value sent to the model: 4 characters a token of its JSON, and each
 * image part (anywhere in it) IMAGE_TOKENS instead of the characters of its URL or data.
 */
export function promptTokensOfValue(value: unknown): number {
  if (value === undefined || value === null) return 0;
  let images = 0;
  const json = JSON.stringify(value, (_key, v) => {
    if (!isImagePart(v)) return v;
    images += 1;
    return null;
  });
  return tokensForChars(json?.length ?? 0) + images * IMAGE_TOKENS;
}

/** A chat call's prompt tokens: each prompt-side field present, counted on its own. */
export function chatPromptTokens(params: Partial<Record<(typeof PROMPT_FIELDS)[number], unknown>>): number {
  let tokens = 0;
  for (const field of PROMPT_FIELDS) tokens += promptTokensOfValue(params[field]);
  return tokens;
}

/** The fields of a chat call's body that bound what it may use. */
export type ChatBounds = Partial<Record<(typeof PROMPT_FIELDS)[number], unknown>> & {
  max_tokens?: unknown;
  max_completion_tokens?: unknown;
  n?: unknown;
};

/**
 * A chat completion's worst case (plain or streamed): its prompt, and `n` choices of at most
 * max_tokens (or max_completion_tokens, the larger) each. The prompt is counted once, as
 * upstreams bill it once whatever `n` is.
 */
export function chatWorstCase(params: ChatBounds): WorstCase {
  const asked = [params.max_tokens, params.max_completion_tokens].filter((n): n is number => typeof n === "number");
  const n = params.n;
  return {
    promptTokens: chatPromptTokens(params),
    maxTokens: asked.length === 0 ? null : Math.max(...asked),
    choices: typeof n === "number" && Number.isSafeInteger(n) && n > 1 ? n : 1,
  };
}

/**
 * The tokens an embeddings `input` counts: each string 4 characters a token (at least 1, as
 * upstreams count an empty string), each token array its length; a list sums its items.
 */
export function embeddingInputTokens(input: unknown): number {
  if (typeof input === "string") return Math.max(1, tokensForChars(input.length));
  if (typeof input === "number") return 1;
  if (!Array.isArray(input)) return promptTokensOfValue(input);
  if (input.length > 0 && input.every((item) => typeof item === "number")) return input.length;
  return input.reduce<number>((sum, item) => sum + embeddingInputTokens(item), 0);
}

/** An embeddings call's worst case: its whole input, and nothing completed. */
export function embeddingWorstCase(input: unknown): WorstCase {
  return { promptTokens: embeddingInputTokens(input), maxTokens: 0, choices: 1 };
}

/** The request fields the Responses API counts as prompt: the input, the instructions, the tools, the tool choice and the output format. */
export const RESPONSES_PROMPT_FIELDS = ["input", "instructions", "tools", "tool_choice", "text"] as const;

/**
 * A Responses call's worst case: every prompt-side field (an `input_image` counted as an image),
 * and max_output_tokens, which bounds the reasoning tokens too. One answer, never `n`; when the
 * object chooses the bound, at least OpenAI's minimum.
 */
export function responsesWorstCase(
  params: Partial<Record<(typeof RESPONSES_PROMPT_FIELDS)[number] | "max_output_tokens", unknown>>,
): WorstCase {
  let promptTokens = 0;
  for (const field of RESPONSES_PROMPT_FIELDS) promptTokens += promptTokensOfValue(params[field]);
  const asked = params.max_output_tokens;
  return { promptTokens, maxTokens: typeof asked === "number" ? asked : null, choices: 1, minMaxTokens: MIN_MAX_OUTPUT_TOKENS };
}

/** The request fields Anthropic's Messages API counts as prompt. */
export const MESSAGES_PROMPT_FIELDS = ["messages", "system", "tools", "tool_choice"] as const;

/**
 * A Messages call's worst case: every prompt-side field (an `image` block counted as an image),
 * and max_tokens, which bounds extended thinking too (its budget is part of max_tokens). One answer.
 */
export function messagesWorstCase(params: Partial<Record<(typeof MESSAGES_PROMPT_FIELDS)[number] | "max_tokens", unknown>>): WorstCase {
  let promptTokens = 0;
  for (const field of MESSAGES_PROMPT_FIELDS) promptTokens += promptTokensOfValue(params[field]);
  const asked = params.max_tokens;
  return { promptTokens, maxTokens: typeof asked === "number" ? asked : null, choices: 1 };
}
