// mock-litellm/embeddings.mjs: POST /embeddings, as a DB-less LiteLLM proxy answers it: OpenAI's
// `{object: "list", data: [{object: "embedding", index, embedding}], model, usage}` with the
// prompt tokens, and the cost in `x-litellm-response-cost`. Vectors are deterministic (seeded by
// the input), floats or base64 little-endian float32 (`encoding_format: "base64"`, which the
// OpenAI SDKs ask for by default).

import { hashString } from "./answers.mjs";
import { checkAuth } from "./auth.mjs";
import { invalidJsonError, invalidModelError, proxyError, simulatedError } from "./errors.mjs";
import { parseModelName } from "./steering.mjs";
import { errorHeaders, sendError, sendJson, successHeaders } from "./wire.mjs";

/** USD per input token, as in LiteLLM's bundled cost map. */
export const EMBEDDING_PRICES = Object.freeze({
  "text-embedding-3-small": 0.00000002,
  "text-embedding-3-large": 0.00000013,
});
const DEFAULT_DIMENSIONS = 8;

/** `<embedding model>[+option=value]...`, with the chat models' option grammar (fail=, ttfb=, ...). */
function parseEmbeddingModel(name) {
  if (typeof name !== "string") return null;
  const [base, ...options] = name.split("+");
  if (!Object.hasOwn(EMBEDDING_PRICES, base)) return null;
  const parsed = parseModelName(["gpt-4o-mini", ...options].join("+"));
  return parsed ? { name, base, options: parsed.options } : null;
}

/** The inputs as texts: a string, a list of strings, or token lists (counted one token per id). */
function inputTexts(input) {
  if (typeof input === "string") return [input];
  if (!Array.isArray(input) || input.length === 0) return null;
  if (input.every((item) => typeof item === "number")) return [input.map(() => "tok ").join("")];
  if (input.every((item) => typeof item === "string")) return input;
  if (input.every((item) => Array.isArray(item))) return input.map((ids) => ids.map(() => "tok ").join(""));
  return null;
}

/** Prompt tokens of one input: ceil(chars / 4), at least 1. */
export function embeddingTokens(text) {
  return Math.max(1, Math.ceil(text.length / 4));
}

/** A deterministic unit-ish vector for a text. */
export function embeddingVector(text, dimensions = DEFAULT_DIMENSIONS) {
  let seed = hashString(text);
  const vector = [];
  for (let i = 0; i < dimensions; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    vector.push(Math.round(((seed / 0xffffffff) * 2 - 1) * 1e6) / 1e6);
  }
  return vector;
}

function base64Float32(vector) {
  const buffer = Buffer.alloc(vector.length * 4);
  for (const [i, value] of vector.entries()) buffer.writeFloatLE(value, i * 4);
  return buffer.toString("base64");
}

export async function handleEmbeddings(req, res, state, ctx, parsedBody) {
  const authError = checkAuth(req, state);
  if (authError) return sendError(res, authError);
  if (parsedBody.error) return sendError(res, invalidJsonError(state.mode, parsedBody.error), errorHeaders(state, ctx));
  const body = parsedBody.value ?? {};
  const parsed = parseEmbeddingModel(body.model);
  if (!parsed) return sendError(res, invalidModelError(state.mode, body.model), errorHeaders(state, ctx));
  if (parsed.options.fail) {
    // The failure texts are the chat models' (a context window is a chat model's): worded for gpt-4o-mini.
    const failure = simulatedError(parsed.options.fail, state.mode, { name: parsed.name, base: "gpt-4o-mini" });
    return sendError(res, failure, errorHeaders(state, ctx));
  }
  const texts = inputTexts(body.input);
  if (!texts) return sendError(res, proxyError(400, "'input' must be a string or a list of strings", "invalid_request_error", "input"));
  const dimensions = Number.isInteger(body.dimensions) && body.dimensions > 0 ? Math.min(body.dimensions, 4096) : DEFAULT_DIMENSIONS;
  const base64 = body.encoding_format === "base64";
  const data = texts.map((text, index) => {
    const vector = embeddingVector(text, dimensions);
    return { object: "embedding", index, embedding: base64 ? base64Float32(vector) : vector };
  });
  const promptTokens = texts.reduce((sum, text) => sum + embeddingTokens(text), 0);
  const cost = promptTokens * EMBEDDING_PRICES[parsed.base];
  const usage = { completion_tokens: 0, prompt_tokens: promptTokens, total_tokens: promptTokens, prompt_tokens_details: null };
  return sendJson(res, 200, { model: parsed.name, data, object: "list", usage }, successHeaders(state, ctx, parsed, cost));
}
