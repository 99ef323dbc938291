// mock-litellm/answers.mjs: deterministic answers (text or a tool call) seeded by the messages,
// their token counts and their cost, computed as LiteLLM computes them.

import { MODEL_PRICES } from "./steering.mjs";
import { pythonJsonDumps } from "./wire.mjs";

// ---------------------------------------------------------------------------
// Deterministic answers and token counting
// ---------------------------------------------------------------------------

/**
 * Splits text into "word-ish" pieces: each piece is optional leading
 * whitespace plus a run of non-space characters, so joining the pieces gives
 * the text back exactly. One piece = one completion token in this mock.
 */
export function splitPieces(text) {
  return String(text ?? "").match(/\s*\S+|\s+$/g) ?? [];
}

/** Completion-token count of a text: the number of pieces it streams as. */
export function countTokens(text) {
  return splitPieces(text).length;
}

/** The text of one message as counted for prompt tokens. */
function messageText(message) {
  if (!message || typeof message !== "object") return "";
  const { content } = message;
  let text = "";
  if (typeof content === "string") text = content;
  else if (Array.isArray(content)) {
    text = content.map((part) => (part && typeof part.text === "string" ? part.text : "")).join("");
  }
  if (message.tool_calls) text += JSON.stringify(message.tool_calls);
  return text;
}

/**
 * Prompt tokens: ceil(chars/4) of each message's text + 4 per message + 3,
 * roughly OpenAI's chat overhead. Tools in the request are not counted.
 */
export function countPromptTokens(messages) {
  if (!Array.isArray(messages)) return 3;
  return messages.reduce((sum, m) => sum + Math.ceil(messageText(m).length / 4) + 4, 3);
}

/** USD cost exactly as LiteLLM computes it: tokens x per-token price, summed. */
export function computeCost(base, promptTokens, completionTokens) {
  const price = MODEL_PRICES[base];
  return promptTokens * price.input_cost_per_token + completionTokens * price.output_cost_per_token;
}

/** 32-bit FNV-1a: a tiny stable hash to seed the generator. */
export function hashString(text) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** mulberry32: small seeded PRNG, so the same messages give the same answer. */
function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VOCABULARY = (
  "the gateway forwards every request to the proxy and records tokens cost latency for each job " +
  "a stream of chunks arrives quickly while the worker counts usage and bills the tenant budget " +
  "models answer prompts with short replies that tests can check exactly and deterministically"
).split(" ");

/** `Mock answer from <base>: ` + 20-80 words of sentences seeded by the messages. */
function generateAnswerText(base, messages) {
  const random = seededRandom(hashString(JSON.stringify(messages ?? null)));
  const wordCount = 20 + Math.floor(random() * 61);
  const sentences = [];
  let remaining = wordCount;
  while (remaining > 0) {
    const length = Math.min(remaining, 5 + Math.floor(random() * 8));
    const words = Array.from({ length }, () => VOCABULARY[Math.floor(random() * VOCABULARY.length)]);
    words[0] = words[0][0].toUpperCase() + words[0].slice(1);
    sentences.push(`${words.join(" ")}.`);
    remaining -= length;
  }
  return `Mock answer from ${base}: ${sentences.join(" ")}`;
}

/** The tool the model "decides" to call, or null when it should answer in text. */
function chooseTool(body) {
  const tools = Array.isArray(body.tools) ? body.tools.filter((t) => t?.function?.name) : [];
  if (tools.length === 0 || body.tool_choice === "none") return null;
  const forced = body.tool_choice?.function?.name;
  return tools.find((t) => t.function.name === forced) ?? tools[0];
}

/** Small arguments object matching the tool's JSON schema, Python-style spacing. */
function toolArguments(tool) {
  const schema = tool.function.parameters ?? {};
  const properties = schema.properties ?? {};
  const required = Array.isArray(schema.required) ? schema.required : [];
  const keys = [...new Set([...required, ...Object.keys(properties)])].slice(0, 3);
  const args = {};
  for (const key of keys) {
    const prop = properties[key] ?? {};
    if (Array.isArray(prop.enum) && prop.enum.length) args[key] = prop.enum[0];
    else if (prop.type === "number" || prop.type === "integer") args[key] = 42;
    else if (prop.type === "boolean") args[key] = true;
    else if (prop.type === "array") args[key] = [];
    else if (prop.type === "object") args[key] = {};
    else args[key] = "mock value";
  }
  return pythonJsonDumps(args);
}

/**
 * The full deterministic answer for a request body: text or tool call,
 * finish reason, token counts and cost. Exported so tests can compute the
 * expected values; both the streamed and the plain path use it.
 */
export function buildAnswer(body, base) {
  const promptTokens = countPromptTokens(body.messages);
  const tool = chooseTool(body);
  let content = null;
  let toolCalls = null;
  let finishReason = "stop";
  let completionTokens;
  if (tool) {
    const seed = hashString(JSON.stringify(body.messages ?? null))
      .toString(16)
      .padStart(8, "0");
    const args = toolArguments(tool);
    toolCalls = [{ id: `call_mock${seed}`, type: "function", function: { name: tool.function.name, arguments: args } }];
    finishReason = "tool_calls";
    completionTokens = countTokens(tool.function.name) + countTokens(args);
  } else {
    const pieces = splitPieces(generateAnswerText(base, body.messages));
    const limit = body.max_completion_tokens ?? body.max_tokens;
    const kept = Number.isInteger(limit) && limit > 0 ? pieces.slice(0, limit) : pieces;
    if (kept.length < pieces.length) finishReason = "length";
    content = kept.join("");
    completionTokens = kept.length;
  }
  return {
    content,
    toolCalls,
    finishReason,
    promptTokens,
    completionTokens,
    totalTokens: promptTokens + completionTokens,
    cost: computeCost(base, promptTokens, completionTokens),
  };
}

/**
 * Splits text into `count` non-empty stream chunks (default: one per piece, at
 * least 3). Chunks follow piece boundaries when there are enough pieces and
 * fall back to characters otherwise; joined they are the text again.
 */
export function splitIntoChunks(text, count) {
  const pieces = splitPieces(text);
  const chars = Array.from(text);
  const wanted = count ?? Math.max(3, pieces.length);
  const n = Math.max(1, Math.min(wanted, chars.length));
  const units = n <= pieces.length ? pieces : chars;
  const chunks = [];
  for (let i = 0; i < n; i++) {
    const from = Math.floor((i * units.length) / n);
    const to = Math.floor(((i + 1) * units.length) / n);
    chunks.push(units.slice(from, to).join(""));
  }
  return chunks;
}
