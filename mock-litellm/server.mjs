#!/usr/bin/env node

// mock-litellm/server.mjs: a faithful stand-in for the LiteLLM proxy, for tests.
//
// Plain Node ESM, built-ins only. It answers /chat/completions the way a
// DB-less LiteLLM proxy does (body shapes, x-litellm-* headers, SSE framing,
// error envelopes), deterministically, and is steered through the model name:
// `gpt-4o-mini+delay=50+chunks=8`, `gpt-4+fail=500` (see README.md).
// The shapes follow the LiteLLM wire-protocol research notes (§2-§5, §10, §11).
//
// In "upstream" mode it acts as a plain OpenAI-compatible provider instead, so
// that a real LiteLLM proxy can be pointed at it for contract tests.

import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { resolve as resolvePath } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleepFor } from "node:timers/promises";
import { fileURLToPath } from "node:url";

// ---------------------------------------------------------------------------
// Models and prices
// ---------------------------------------------------------------------------

/** USD per token, the same values as LiteLLM's bundled cost map. */
export const MODEL_PRICES = Object.freeze({
  "gpt-3.5-turbo": Object.freeze({ input_cost_per_token: 0.0000005, output_cost_per_token: 0.0000015 }),
  "gpt-4o-mini": Object.freeze({ input_cost_per_token: 0.00000015, output_cost_per_token: 0.0000006 }),
  "gpt-4": Object.freeze({ input_cost_per_token: 0.00003, output_cost_per_token: 0.00006 }),
  "gpt-4-turbo": Object.freeze({ input_cost_per_token: 0.00001, output_cost_per_token: 0.00003 }),
});

// Context windows (from the same cost map); used by /model/info and the
// context-length error message.
const CONTEXT_WINDOWS = {
  "gpt-3.5-turbo": { max_input_tokens: 16385, max_output_tokens: 4096 },
  "gpt-4o-mini": { max_input_tokens: 128000, max_output_tokens: 16384 },
  "gpt-4": { max_input_tokens: 8192, max_output_tokens: 4096 },
  "gpt-4-turbo": { max_input_tokens: 128000, max_output_tokens: 4096 },
};

const MOCK_VERSION = "mock";
const MOCK_API_BASE = "https://api.openai.com/v1";
const MODELS_CREATED = 1677610602; // LiteLLM's constant `created` in /v1/models
const REQUEST_LOG_SIZE = 2000;
const MAX_BODY_BYTES = 32 * 1024 * 1024;

const FAIL_MODES = new Set(["500", "503", "429", "408", "400", "401", "timeout", "reset", "badjson", "html", "midstream", "malformed"]);
const INTEGER_OPTIONS = new Set(["ttfb", "delay", "chunks", "hang", "hugeevent", "hugebody"]);

/**
 * Parses `<base>[+key=value]...`. Returns null when the name is not one this
 * mock serves (unknown base, unknown option, bad value): a real proxy would
 * not have such a model group either, so the caller answers "Invalid model name".
 */
export function parseModelName(name) {
  if (typeof name !== "string" || name === "") return null;
  const [base, ...rawOptions] = name.split("+");
  if (!Object.hasOwn(MODEL_PRICES, base)) return null;
  const options = {};
  for (const raw of rawOptions) {
    const eq = raw.indexOf("=");
    if (eq <= 0) return null;
    const key = raw.slice(0, eq);
    const value = raw.slice(eq + 1);
    if (INTEGER_OPTIONS.has(key)) {
      if (!/^\d+$/.test(value)) return null;
      options[key] = Number(value);
    } else if (key === "fail" && FAIL_MODES.has(value)) {
      options.fail = value;
    } else if (key === "usagechoices" && (value === "empty" || value === "delta")) {
      options.usagechoices = value;
    } else {
      return null;
    }
  }
  return { name, base, options };
}

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
function hashString(text) {
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

// ---------------------------------------------------------------------------
// Python look-alikes: LiteLLM is Python, and clients see Python formatting
// ---------------------------------------------------------------------------

/** Python's str(float): "1.5e-05", "0.0", "12.5" (headers are str()'d). */
export function pythonFloatRepr(x) {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [mantissa, exponentText] = x.toExponential().split("e");
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16) {
    return `${mantissa}e${exponent < 0 ? "-" : "+"}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  const fixed = String(x);
  return fixed.includes(".") ? fixed : `${fixed}.0`;
}

/** Python's json.dumps defaults: ", " / ": " separators and ensure_ascii. */
function pythonJsonDumps(value) {
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(", ")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value).map(([k, v]) => `${pythonJsonDumps(k)}: ${pythonJsonDumps(v)}`);
    return `{${entries.join(", ")}}`;
  }
  const json = JSON.stringify(value) ?? "null";
  return json.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Milliseconds as LiteLLM reports them in duration headers (a float string). */
function msHeader(ms) {
  return pythonFloatRepr(Math.round(ms * 1000) / 1000);
}

/** JSON.stringify without null members: LiteLLM dumps chunks with exclude_none. */
function stripNulls(value) {
  if (Array.isArray(value)) return value.map(stripNulls);
  if (value && typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) if (v !== null && v !== undefined) out[k] = stripNulls(v);
    return out;
  }
  return value;
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/** LiteLLM's ProxyException envelope: code is the status as a string. */
function proxyError(status, message, type = "None", param = "None") {
  return { status, body: { error: { message, type, param, code: String(status) } } };
}

/** OpenAI's own envelope, used in upstream mode. */
function openaiError(status, message, type, param = null, code = null) {
  return { status, body: { error: { message, type, param, code } } };
}

/** LiteLLM (1.106.12) appends the router's verdict to upstream errors. */
function routerSuffix(model) {
  return `\n\nLiteLLM: model group '${model}' failed with the error above. No fallback was attempted.`;
}

/** The upstream's (OpenAI's) 500 message, which LiteLLM passes on. */
const UPSTREAM_500_TEXT = "The server had an error while processing your request. Sorry about that!";

function contextLengthText(base) {
  const max = CONTEXT_WINDOWS[base].max_input_tokens;
  return `This model's maximum context length is ${max} tokens. However, your messages resulted in ${max + 1904} tokens. Please reduce the length of the messages.`;
}

/** The error for `fail=<status>` (and midstream), as the proxy or the provider words it. */
function simulatedError(kind, mode, parsed) {
  const { name, base } = parsed;
  if (mode === "upstream") {
    switch (kind) {
      case "503":
        return openaiError(503, "The server is overloaded or not ready yet.", "server_error");
      case "429":
        return openaiError(
          429,
          `Rate limit reached for ${base} in organization org-mock on requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in 120ms.`,
          "requests",
          null,
          "rate_limit_exceeded",
        );
      case "408":
        return openaiError(408, "Request timed out.", "timeout");
      case "400":
        return openaiError(400, contextLengthText(base), "invalid_request_error", "messages", "context_length_exceeded");
      case "401":
        return openaiError(
          401,
          "Incorrect API key provided: sk-mock***. You can find your API key at https://platform.openai.com/account/api-keys.",
          "invalid_request_error",
          null,
          "invalid_api_key",
        );
      default:
        return openaiError(500, UPSTREAM_500_TEXT, "server_error");
    }
  }
  // What LiteLLM 1.106.12 answers when the upstream fails this way (checked by
  // test/litellm/contract.test.ts against the real proxy): a mapped class, a
  // `type` per class, `param` null.
  switch (kind) {
    case "503":
      return proxyError(
        503,
        `litellm.ServiceUnavailableError: ServiceUnavailableError: OpenAIException - The server is overloaded or not ready yet.${routerSuffix(name)}`,
        "internal_server_error",
        null,
      );
    case "429":
      return proxyError(
        429,
        `litellm.RateLimitError: RateLimitError: OpenAIException - Rate limit reached for ${base} in organization org-mock on requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in 120ms.${routerSuffix(name)}`,
        "throttling_error",
        null,
      );
    case "408":
      return proxyError(
        408,
        `litellm.Timeout: APITimeoutError - Request timed out. Error_str: Error code: 408 - {'error': {'message': 'Request timed out.', 'type': 'timeout', 'param': None, 'code': None}}\n\nDeployment Info: request_timeout: None\ntimeout: None${routerSuffix(name)}`,
        "invalid_request_error",
        null,
      );
    case "400":
      return proxyError(
        400,
        `litellm.ContextWindowExceededError: litellm.BadRequestError: ContextWindowExceededError: OpenAIException - ${contextLengthText(base)}\nmodel=${name}. context_window_fallbacks=None. fallbacks=None.\n\nSet 'context_window_fallback' - https://docs.litellm.ai/docs/routing#fallbacks${routerSuffix(name)}`,
        "invalid_request_error",
        null,
      );
    case "401":
      return proxyError(
        401,
        `litellm.AuthenticationError: AuthenticationError: OpenAIException - Incorrect API key provided: sk-mock***. You can find your API key at https://platform.openai.com/account/api-keys.${routerSuffix(name)}`,
        "authentication_error",
        null,
      );
    default:
      return proxyError(
        500,
        `litellm.InternalServerError: InternalServerError: OpenAIException - ${UPSTREAM_500_TEXT}${routerSuffix(name)}`,
        "internal_server_error",
        null,
      );
  }
}

/**
 * The event LiteLLM sends when the upstream breaks after the stream started
 * (then the stream ends, with no [DONE]); serialised with Python's json.dumps.
 */
function midstreamErrorEvent() {
  return {
    error: {
      message: `litellm.APIConnectionError: APIConnectionError: OpenAIException - ${UPSTREAM_500_TEXT}`,
      type: null,
      param: null,
      code: "500",
    },
  };
}

function invalidModelError(mode, model) {
  if (mode === "upstream") {
    return openaiError(
      404,
      `The model \`${model}\` does not exist or you do not have access to it.`,
      "invalid_request_error",
      null,
      "model_not_found",
    );
  }
  // LiteLLM 1.106.12: the plain message (older releases repr()'d the detail
  // dict), type invalid_request_error, param null, and the detail again under
  // provider_specific_fields.
  const shown = model === undefined || model === null ? "None" : model;
  const message = `/chat/completions: Invalid model name passed in model=${shown}. Call \`/v1/models\` to view available models for your key.`;
  const error = proxyError(400, message, "invalid_request_error", null);
  error.body.error.provider_specific_fields = { error: message };
  return error;
}

function missingMessagesError(mode) {
  if (mode === "upstream") {
    return openaiError(400, "Missing required parameter: 'messages'.", "invalid_request_error", "messages", "missing_required_parameter");
  }
  return proxyError(400, "/chat/completions: Missing required parameter: 'messages'.", "invalid_request_error", "messages");
}

function invalidJsonError(mode, detail) {
  if (mode === "upstream") {
    return openaiError(
      400,
      "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
      "invalid_request_error",
    );
  }
  return proxyError(400, `Invalid JSON payload: ${detail}`, "invalid_request_error", "request_body");
}

const LOAD_BALANCER_502 =
  "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

// ---------------------------------------------------------------------------
// Auth (proxy mode): LiteLLM's header order, master key only, no DB
// ---------------------------------------------------------------------------

const BARE_KEY_HEADERS = ["api-key", "x-api-key", "x-goog-api-key", "ocp-apim-subscription-key"];
const SECRET_HEADERS = new Set(["authorization", "proxy-authorization", "cookie", "x-litellm-api-key", ...BARE_KEY_HEADERS]);

/** Returns the key the client sent, '' for a malformed one, or null for none. */
function presentedApiKey(headers) {
  const litellmKey = headers["x-litellm-api-key"];
  if (litellmKey !== undefined) return litellmKey.replace(/^[Bb]earer /, "").trim();
  const authorization = headers.authorization;
  if (authorization !== undefined) {
    // A bare key in Authorization becomes "" in LiteLLM (_get_bearer_token).
    const match = /^[Bb]earer (.*)$/s.exec(authorization);
    return match ? match[1].trim() : "";
  }
  for (const name of BARE_KEY_HEADERS) if (headers[name] !== undefined) return headers[name].trim();
  return null;
}

/** null when the request may pass, else the error LiteLLM would send. */
function checkAuth(req, state) {
  if (state.mode !== "proxy" || !state.masterKey) return null;
  const key = presentedApiKey(req.headers);
  if (key === null) return proxyError(401, "Authentication Error, No api key passed in.", "auth_error");
  if (key === "") {
    return proxyError(401, "Authentication Error, Malformed API Key passed in. Ensure Key has `Bearer ` prefix.", "auth_error");
  }
  if (key !== state.masterKey) return proxyError(400, "No connected db.", "no_db_connection", null);
  return null;
}

// ---------------------------------------------------------------------------
// Response headers
// ---------------------------------------------------------------------------

/** Per-request facts the header builders need. */
function requestContext(req) {
  const sentCallId = req.headers["x-litellm-call-id"];
  return { callId: sentCallId || randomUUID(), startedAt: performance.now(), simulatedMs: 0 };
}

/**
 * x-litellm-* headers on a success. `x-litellm-response-cost` only when > 0 (LiteLLM
 * drops a zero cost), so never on a stream (pass cost 0): the cost is unknown when
 * the headers go out. The cost breakdown headers are there either way (all 0.0 on
 * a stream), as in LiteLLM 1.106.12: a client must read the cost itself from
 * `x-litellm-response-cost`, not from `-original`/`-input`/`-output`.
 */
function successHeaders(state, ctx, parsed, cost, answer = null) {
  if (state.mode !== "proxy") return { "x-request-id": `req_${ctx.callId.replace(/-/g, "")}`, "openai-processing-ms": "1" };
  const elapsed = performance.now() - ctx.startedAt;
  const price = MODEL_PRICES[parsed.base];
  const inputCost = cost && answer ? answer.promptTokens * price.input_cost_per_token : 0;
  const outputCost = cost && answer ? answer.completionTokens * price.output_cost_per_token : 0;
  const headers = {
    "x-litellm-call-id": ctx.callId,
    "x-litellm-model-id": `mock-${parsed.base}`,
    "x-litellm-model-name": `openai/${parsed.base}`,
    "x-litellm-model-group": parsed.name,
    "x-litellm-model-api-base": MOCK_API_BASE,
    "x-litellm-version": MOCK_VERSION,
    "x-litellm-key-spend": pythonFloatRepr(cost || 0),
    "x-litellm-response-duration-ms": msHeader(elapsed),
    "x-litellm-overhead-duration-ms": msHeader(Math.max(0.001, elapsed - ctx.simulatedMs)),
    "x-litellm-callback-duration-ms": "0.0",
    "x-litellm-attempted-retries": "0",
    "x-litellm-attempted-fallbacks": "0",
    "x-litellm-response-cost-original": pythonFloatRepr(cost || 0),
    "x-litellm-response-cost-input": pythonFloatRepr(inputCost),
    "x-litellm-response-cost-output": pythonFloatRepr(outputCost),
    "x-litellm-response-cost-tool-usage": "0.0",
    "x-litellm-response-cost-discount-amount": "0.0",
    "x-litellm-response-cost-margin-amount": "0.0",
    "x-litellm-response-cost-margin-percent": "0.0",
  };
  if (cost) headers["x-litellm-response-cost"] = pythonFloatRepr(cost);
  return headers;
}

/**
 * Headers LiteLLM's _handle_llm_api_exception adds: the call id, and the cost
 * passed as 0 (so here `x-litellm-response-cost: 0` IS present). LiteLLM 1.106.12
 * sends no version or model ids on errors.
 */
function errorHeaders(state, ctx) {
  if (state.mode !== "proxy") return {};
  return {
    "x-litellm-call-id": ctx.callId,
    "x-litellm-response-cost": "0",
    "x-litellm-key-spend": "0.0",
  };
}

// ---------------------------------------------------------------------------
// Low-level I/O helpers
// ---------------------------------------------------------------------------

/** True once the client is gone or we finished; nothing more may be written. */
function isClosed(res) {
  return res.destroyed || res.writableEnded;
}

function sendJson(res, status, payload, headers = {}) {
  if (isClosed(res)) return;
  const text = JSON.stringify(payload);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function sendError(res, error, headers = {}) {
  sendJson(res, error.status, error.body, headers);
}

/** Sleeps unless the client disconnects (then rejects with AbortError). */
async function pause(ms, signal) {
  if (ms > 0) await sleepFor(ms, undefined, { signal });
  else if (signal.aborted) throw signal.reason;
}

/** Waits until the client disconnects: used by `timeout` and `hang`. */
function waitForDisconnect(signal) {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const parts = [];
    let size = 0;
    req.on("data", (part) => {
      size += part.length;
      if (size > MAX_BODY_BYTES) reject(Object.assign(new Error("body too large"), { status: 413 }));
      else parts.push(part);
    });
    req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    req.on("error", reject);
  });
}

function parseJson(text) {
  if (text.trim() === "") return { value: null, error: "empty body" };
  try {
    return { value: JSON.parse(text), error: null };
  } catch (err) {
    return { value: null, error: err.message };
  }
}

// ---------------------------------------------------------------------------
// Request log (ring buffer, exposed via /__mock/requests)
// ---------------------------------------------------------------------------

function redactHeaders(headers) {
  const out = {};
  for (const [name, value] of Object.entries(headers)) out[name] = SECRET_HEADERS.has(name) ? "present" : value;
  return out;
}

function recordRequest(state, req, path, body) {
  state.requests.push({
    method: req.method,
    path,
    headers: redactHeaders(req.headers),
    body,
    received_at: new Date().toISOString(),
  });
  if (state.requests.length > REQUEST_LOG_SIZE) state.requests.splice(0, state.requests.length - REQUEST_LOG_SIZE);
}

function handleControl(req, res, state, path, url) {
  if (path !== "/__mock/requests") return sendJson(res, 404, { detail: "Not Found" });
  if (req.method === "DELETE") {
    state.requests.length = 0; // keep the same array: callers hold a reference to it
    return sendJson(res, 200, { cleared: true });
  }
  if (req.method !== "GET") return sendJson(res, 405, { detail: "Method Not Allowed" });
  const user = url.searchParams.get("user");
  const limit = Number.parseInt(url.searchParams.get("limit") ?? "", 10);
  let entries = user === null ? state.requests : state.requests.filter((r) => r.body?.user === user);
  if (limit >= 0) entries = limit === 0 ? [] : entries.slice(-limit);
  return sendJson(res, 200, { requests: entries });
}

// ---------------------------------------------------------------------------
// Chat completions: plain JSON answer
// ---------------------------------------------------------------------------

function completionBody(state, meta, answer) {
  const usage = {
    completion_tokens: answer.completionTokens,
    prompt_tokens: answer.promptTokens,
    total_tokens: answer.totalTokens,
    completion_tokens_details: { accepted_prediction_tokens: 0, audio_tokens: 0, reasoning_tokens: 0, rejected_prediction_tokens: 0 },
    prompt_tokens_details: { audio_tokens: 0, cached_tokens: 0 },
  };
  if (state.mode === "upstream") {
    // OpenAI's own shape: refusal/annotations/logprobs, no function_call.
    const message = { role: "assistant", content: answer.content, refusal: null, annotations: [] };
    if (answer.toolCalls) message.tool_calls = answer.toolCalls;
    return {
      id: meta.id,
      object: "chat.completion",
      created: meta.created,
      model: meta.model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: answer.finishReason }],
      usage,
      service_tier: "default",
      system_fingerprint: meta.fingerprint,
    };
  }
  // LiteLLM 1.106.12: no tool_calls/function_call members when there are none
  // (content is always there, null beside tool calls), provider_specific_fields
  // on the message and the choice, service_tier.
  const message = { content: answer.content, role: "assistant" };
  if (answer.toolCalls) message.tool_calls = answer.toolCalls;
  message.provider_specific_fields = { refusal: null };
  message.annotations = [];
  return {
    id: meta.id,
    created: meta.created,
    model: meta.model,
    object: "chat.completion",
    system_fingerprint: meta.fingerprint,
    choices: [{ finish_reason: answer.finishReason, index: 0, message, provider_specific_fields: {} }],
    usage,
    service_tier: "default",
  };
}

/** A 200 JSON body cut in the middle, as from a proxy that died mid-write. */
function sendTruncatedJson(res, headers, body) {
  const full = JSON.stringify(body);
  const text = full.slice(0, Math.max(20, Math.floor(full.length / 2)));
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

// ---------------------------------------------------------------------------
// Chat completions: SSE stream
// ---------------------------------------------------------------------------

/** chat.completion.chunk objects for the answer: content chunks, then the finish chunk. */
function streamChunks(state, meta, answer, options) {
  const includeUsage = meta.includeUsage && state.mode === "upstream";
  const chunk = (delta, finishReason = null) => ({
    id: meta.id,
    object: "chat.completion.chunk",
    created: meta.created,
    model: meta.model,
    system_fingerprint: meta.fingerprint,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(includeUsage ? { usage: null } : {}), // OpenAI sends usage: null until the last chunk
  });
  const content = [];
  if (answer.toolCalls) {
    const call = answer.toolCalls[0];
    content.push(
      chunk({
        role: "assistant",
        content: null,
        tool_calls: [{ index: 0, id: call.id, type: "function", function: { name: call.function.name, arguments: "" } }],
      }),
    );
    for (const fragment of splitIntoChunks(call.function.arguments, options.chunks)) {
      // LiteLLM repeats `type` on every fragment; OpenAI sends it on the first only.
      const toolDelta =
        state.mode === "proxy"
          ? { index: 0, type: "function", function: { arguments: fragment } }
          : { index: 0, function: { arguments: fragment } };
      content.push(chunk({ tool_calls: [toolDelta] }));
    }
  } else {
    splitIntoChunks(answer.content, options.chunks).forEach((piece, i) => {
      content.push(chunk(i === 0 ? { role: "assistant", content: piece } : { content: piece }));
    });
  }
  return { content, finish: chunk({}, answer.finishReason) };
}

/** The usage chunk; LiteLLM's own one carries choices [{index:0,delta:{}}]. */
function usageChunk(state, meta, answer, options) {
  const usage = {
    prompt_tokens: answer.promptTokens,
    completion_tokens: answer.completionTokens,
    total_tokens: answer.totalTokens,
    completion_tokens_details: { accepted_prediction_tokens: 0, audio_tokens: 0, reasoning_tokens: 0, rejected_prediction_tokens: 0 },
    prompt_tokens_details: { audio_tokens: 0, cached_tokens: 0 },
  };
  const proxy = state.mode === "proxy";
  if (proxy && answer.cost > 0) usage.cost = answer.cost;
  const emptyChoices = !proxy || options.usagechoices === "empty";
  return {
    id: meta.id,
    object: "chat.completion.chunk",
    created: meta.created,
    model: meta.model,
    system_fingerprint: meta.fingerprint,
    choices: emptyChoices ? [] : [{ index: 0, delta: {} }],
    usage,
  };
}

/** A copy of a content chunk whose delta content is `size` characters (for the gateway's event cap). */
function paddedChunk(chunk, size) {
  return { ...chunk, choices: [{ ...chunk.choices[0], delta: { content: "x".repeat(size) } }] };
}

// Lines a sloppy upstream or middlebox may interleave; parsers must skip them.
const MALFORMED_FRAMES = [": keep-alive\n\n", "this line is not an SSE field\n\n", 'data: {"id": "chatcmpl-broken", "choices": [\n\n'];

/** Writes the stream, one res.write per event, pacing content chunks by `delay`. */
async function writeStream(res, state, ctx, meta, answer, options, signal) {
  const serialize = (obj) => `data: ${JSON.stringify(state.mode === "proxy" ? stripNulls(obj) : obj)}\n\n`;
  const { content, finish } = streamChunks(state, meta, answer, options);
  const delay = options.delay ?? state.defaultChunkDelayMs;
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
    ...successHeaders(state, ctx, meta.parsed, 0), // no cost header: unknown when headers go out
  });
  for (let i = 0; i < content.length; i++) {
    if (options.hang !== undefined && i >= options.hang) return waitForDisconnect(signal);
    if (i > 0) await pause(delay, signal);
    if (isClosed(res)) return;
    res.write(serialize(content[i]));
    // hugeevent=N: after the first chunk, one event whose content delta is N characters long.
    if (i === 0 && options.hugeevent !== undefined) res.write(serialize(paddedChunk(content[0], options.hugeevent)));
    if (options.fail === "malformed" && i < MALFORMED_FRAMES.length) res.write(MALFORMED_FRAMES[i]);
    if (options.fail === "midstream" && i === Math.min(1, content.length - 1)) {
      // LiteLLM: one error event, then the stream just ends, with no [DONE].
      const body = state.mode === "proxy" ? midstreamErrorEvent() : simulatedError("500", state.mode, meta.parsed).body;
      res.end(`data: ${state.mode === "proxy" ? pythonJsonDumps(body) : JSON.stringify(body)}\n\n`);
      return;
    }
  }
  if (options.hang !== undefined && options.hang >= content.length) return waitForDisconnect(signal);
  if (isClosed(res)) return;
  res.write(serialize(finish));
  if (meta.includeUsage) res.write(serialize(usageChunk(state, meta, answer, options)));
  res.end("data: [DONE]\n\n");
}

// ---------------------------------------------------------------------------
// Chat completions: the route
// ---------------------------------------------------------------------------

/** Modes that answer with something other than a normal completion. */
async function answerFailure(res, state, ctx, meta, options, signal) {
  switch (options.fail) {
    case "timeout":
      return waitForDisconnect(signal); // never answer; the client must give up
    case "reset":
      if (typeof res.socket?.resetAndDestroy === "function") res.socket.resetAndDestroy();
      else res.socket?.destroy();
      return undefined;
    case "html":
      res.writeHead(502, { "content-type": "text/html", "content-length": Buffer.byteLength(LOAD_BALANCER_502) });
      return res.end(LOAD_BALANCER_502);
    default: {
      const kind = options.fail === "midstream" ? "500" : options.fail;
      return sendError(res, simulatedError(kind, state.mode, meta.parsed), errorHeaders(state, ctx));
    }
  }
}

/**
 * Whether `fail=` replaces the answer outright. badjson and malformed only
 * change how a normal answer is written; midstream needs a stream to break
 * (a plain request gets the 500 instead).
 */
function failsBeforeAnswer(fail, stream) {
  if (!fail || fail === "badjson" || fail === "malformed") return false;
  return !(fail === "midstream" && stream);
}

async function handleChatCompletion(req, res, state, ctx, parsedBody, signal) {
  const authError = checkAuth(req, state);
  if (authError) return sendError(res, authError);
  if (parsedBody.error) return sendError(res, invalidJsonError(state.mode, parsedBody.error), errorHeaders(state, ctx));
  const body = parsedBody.value;
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    return sendError(res, invalidModelError(state.mode, undefined), errorHeaders(state, ctx));
  }
  if (!Array.isArray(body.messages)) return sendError(res, missingMessagesError(state.mode), errorHeaders(state, ctx));
  const parsed = parseModelName(body.model);
  if (!parsed) return sendError(res, invalidModelError(state.mode, body.model), errorHeaders(state, ctx));

  const { options } = parsed;
  const stream = body.stream === true;
  const meta = {
    parsed,
    id: `chatcmpl-${randomUUID()}`,
    created: Math.floor(Date.now() / 1000),
    model: parsed.name, // LiteLLM re-stamps `model` to the alias the client asked for
    fingerprint: `fp_${hashString(parsed.base).toString(16).padStart(8, "0").slice(0, 10)}`,
    includeUsage: body.stream_options?.include_usage === true,
  };

  if (options.ttfb) {
    await pause(options.ttfb, signal);
    ctx.simulatedMs += options.ttfb;
  }
  if (isClosed(res)) return undefined;
  if (failsBeforeAnswer(options.fail, stream)) return answerFailure(res, state, ctx, meta, options, signal);

  let answer = buildAnswer(body, parsed.base);
  // hugebody=N: a non-streamed answer whose content has N more characters (for the gateway's body cap).
  if (options.hugebody !== undefined && !stream) answer = { ...answer, content: `${answer.content ?? ""}${"x".repeat(options.hugebody)}` };
  if (options.fail === "badjson") {
    return sendTruncatedJson(res, successHeaders(state, ctx, parsed, answer.cost, answer), completionBody(state, meta, answer));
  }
  if (stream) return writeStream(res, state, ctx, meta, answer, options, signal);
  return sendJson(res, 200, completionBody(state, meta, answer), successHeaders(state, ctx, parsed, answer.cost, answer));
}

// ---------------------------------------------------------------------------
// Other routes
// ---------------------------------------------------------------------------

function handleModels(req, res, state) {
  const authError = checkAuth(req, state);
  if (authError) return sendError(res, authError);
  const data = Object.keys(MODEL_PRICES).map((id) => ({ id, object: "model", created: MODELS_CREATED, owned_by: "openai" }));
  return sendJson(res, 200, { data, object: "list" });
}

function handleModelInfo(req, res, state) {
  const authError = checkAuth(req, state);
  if (authError) return sendError(res, authError);
  const data = Object.entries(MODEL_PRICES).map(([name, price]) => ({
    model_name: name,
    litellm_params: { model: `openai/${name}` },
    model_info: {
      id: `mock-${name}`,
      key: name,
      litellm_provider: "openai",
      mode: "chat",
      max_tokens: CONTEXT_WINDOWS[name].max_output_tokens,
      ...CONTEXT_WINDOWS[name],
      ...price,
    },
  }));
  return sendJson(res, 200, { data });
}

function handleReadiness(_req, res) {
  return sendJson(res, 200, { status: "healthy", db: "Not connected", cache: null, litellm_version: MOCK_VERSION, success_callbacks: [] });
}

const ROUTES = {
  "POST /chat/completions": handleChatCompletion,
  "POST /v1/chat/completions": handleChatCompletion,
  "GET /models": handleModels,
  "GET /v1/models": handleModels,
  "GET /model/info": handleModelInfo,
  "GET /v1/model/info": handleModelInfo,
  "GET /health/liveliness": (_req, res) => sendJson(res, 200, "I'm alive!"),
  "GET /health/liveness": (_req, res) => sendJson(res, 200, "I'm alive!"),
  "GET /health/readiness": handleReadiness,
};
const KNOWN_PATHS = new Set(Object.keys(ROUTES).map((key) => key.split(" ")[1]));

/** One-line access log to stderr: never bodies, never credentials. */
function logRequest(state, req, path, model, startedAt, res) {
  if (state.quiet) return;
  const ms = Math.round(performance.now() - startedAt);
  const status = res.headersSent ? res.statusCode : "no-answer";
  process.stderr.write(`mock-litellm ${req.method} ${path}${model ? ` model=${model}` : ""} -> ${status} ${ms}ms\n`);
}

async function handleRequest(req, res, state) {
  req.socket.setNoDelay(true); // each SSE event must leave at once (no Nagle batching)
  const controller = new AbortController();
  res.on("close", () => controller.abort()); // client gone (or done): stop timers and writes
  const url = new URL(req.url, "http://mock.invalid");
  const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, "") : url.pathname;
  if (path.startsWith("/__mock/")) return handleControl(req, res, state, path, url);

  const ctx = requestContext(req);
  const parsedBody = parseJson(await readBody(req));
  recordRequest(state, req, path, parsedBody.value);
  res.on("close", () => logRequest(state, req, path, parsedBody.value?.model, ctx.startedAt, res));

  const handler = ROUTES[`${req.method} ${path}`];
  if (handler) return handler(req, res, state, ctx, parsedBody, controller.signal);
  if (KNOWN_PATHS.has(path)) return sendJson(res, 405, { detail: "Method Not Allowed" });
  return sendJson(res, 404, { detail: "Not Found" });
}

/** Top-level guard: a disconnect is normal; anything else becomes a 500. */
function onRequest(state) {
  return (req, res) => {
    handleRequest(req, res, state).catch((err) => {
      if (err?.name === "AbortError") return;
      if (!state.quiet) process.stderr.write(`mock-litellm: internal error: ${err?.message ?? err}\n`);
      if (!res.headersSent && !res.destroyed)
        sendJson(res, err?.status ?? 500, { detail: err?.status === 413 ? "Request body too large" : "Internal Server Error" });
      else res.destroy();
    });
  };
}

// ---------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------

/**
 * Starts the mock. Options: port (0 = random), host, masterKey, mode
 * ("proxy" | "upstream"), defaultChunkDelayMs, quiet.
 * Resolves to { url, port, close(), requests } once listening.
 */
export async function startMockLiteLLM(options = {}) {
  const mode = options.mode ?? "proxy";
  if (mode !== "proxy" && mode !== "upstream") throw new Error(`mock-litellm: unknown mode ${mode}`);
  const state = {
    mode,
    masterKey: options.masterKey ?? process.env.MOCK_LITELLM_MASTER_KEY ?? "",
    defaultChunkDelayMs: options.defaultChunkDelayMs ?? 0,
    quiet: options.quiet ?? false,
    requests: [],
  };
  const host = options.host ?? "127.0.0.1";
  const server = createServer({ noDelay: true, keepAliveTimeout: 5000 }, onRequest(state));
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address();
  const urlHost = host.includes(":") ? `[${host}]` : host;
  let closing = null;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    requests: state.requests,
    mode,
    close() {
      closing ??= new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // also ends `timeout`/`hang` requests still waiting
      });
      return closing;
    },
  };
}

// ---------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------

function parseCliArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) throw new Error(`unexpected argument ${arg}`);
    const [flag, inline] = arg.slice(2).split(/=(.*)/s);
    if (flag === "quiet") args.quiet = true;
    else args[flag] = inline ?? argv[++i];
  }
  return args;
}

async function runCli() {
  const args = parseCliArgs(process.argv.slice(2));
  const port = Number(args.port ?? process.env.MOCK_LITELLM_PORT ?? process.env.PORT ?? 4000);
  const mock = await startMockLiteLLM({
    port,
    host: args.host ?? "127.0.0.1",
    mode: args.mode ?? "proxy",
    masterKey: args["master-key"],
    defaultChunkDelayMs: args["chunk-delay-ms"] === undefined ? undefined : Number(args["chunk-delay-ms"]),
    quiet: args.quiet ?? false,
  });
  process.stdout.write(`mock-litellm listening on ${mock.url} (mode=${mock.mode})\n`);
  const shutdown = () => mock.close().then(() => process.exit(0));
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
}

const invokedPath = process.argv[1] ? resolvePath(process.argv[1]) : "";
if (invokedPath === fileURLToPath(import.meta.url)) {
  runCli().catch((err) => {
    process.stderr.write(`mock-litellm: ${err.message}\n`);
    process.exit(1);
  });
}
