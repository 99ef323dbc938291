// mock-litellm/wire.mjs: how things look on the wire. Python-style number and JSON formatting
// (LiteLLM is Python), the x-litellm-* response headers, and the low-level request/response I/O.

import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { setTimeout as sleepFor } from "node:timers/promises";
import { MODEL_PRICES } from "./steering.mjs";

export const MOCK_VERSION = "mock";
const MOCK_API_BASE = "https://api.openai.com/v1";
const MAX_BODY_BYTES = 32 * 1024 * 1024;

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
export function pythonJsonDumps(value) {
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
export function stripNulls(value) {
  if (Array.isArray(value)) return value.map(stripNulls);
  if (value && typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) if (v !== null && v !== undefined) out[k] = stripNulls(v);
    return out;
  }
  return value;
}

// ---------------------------------------------------------------------------
// Response headers
// ---------------------------------------------------------------------------

/** Per-request facts the header builders need. */
export function requestContext(req) {
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
export function successHeaders(state, ctx, parsed, cost, answer = null) {
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
export function errorHeaders(state, ctx) {
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
export function isClosed(res) {
  return res.destroyed || res.writableEnded;
}

export function sendJson(res, status, payload, headers = {}) {
  if (isClosed(res)) return;
  const text = JSON.stringify(payload);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendError(res, error, headers = {}) {
  sendJson(res, error.status, error.body, headers);
}

/** Sleeps unless the client disconnects (then rejects with AbortError). */
export async function pause(ms, signal) {
  if (ms > 0) await sleepFor(ms, undefined, { signal });
  else if (signal.aborted) throw signal.reason;
}

/** Waits until the client disconnects: used by `timeout` and `hang`. */
export function waitForDisconnect(signal) {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

export function readBody(req) {
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

export function parseJson(text) {
  if (text.trim() === "") return { value: null, error: "empty body" };
  try {
    return { value: JSON.parse(text), error: null };
  } catch (err) {
    return { value: null, error: err.message };
  }
}
