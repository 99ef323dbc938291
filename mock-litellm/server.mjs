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
//
// This file is the entry point (startMockLiteLLM and the CLI), the routing and the request log;
// the other modules beside it hold one concern each (README.md lists them).

import { createServer } from "node:http";
import { resolve as resolvePath } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { checkAuth, SECRET_HEADERS } from "./auth.mjs";
import { handleChatCompletion } from "./chat.mjs";
import { handleEmbeddings } from "./embeddings.mjs";
import { handleMessages } from "./messages.mjs";
import { handleResponses } from "./responses.mjs";
import { CONTEXT_WINDOWS, MODEL_PRICES } from "./steering.mjs";
import { MOCK_VERSION, parseJson, readBody, requestContext, sendError, sendJson } from "./wire.mjs";

export { buildAnswer, computeCost, countPromptTokens, countTokens, splitIntoChunks, splitPieces } from "./answers.mjs";
export { EMBEDDING_PRICES, embeddingTokens, embeddingVector } from "./embeddings.mjs";
export { MODEL_PRICES, parseModelName } from "./steering.mjs";
export { pythonFloatRepr } from "./wire.mjs";

const MODELS_CREATED = 1677610602; // LiteLLM's constant `created` in /v1/models
const REQUEST_LOG_SIZE = 2000;

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
  "POST /embeddings": handleEmbeddings,
  "POST /v1/embeddings": handleEmbeddings,
  "POST /responses": handleResponses,
  "POST /v1/responses": handleResponses,
  "POST /v1/messages": handleMessages,
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
