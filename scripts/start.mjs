// `npm start`: the gateway on this machine, through `wrangler dev`.
//
//   1. applies the local D1 migrations (`wrangler d1 migrations apply DB --local`);
//   2. unless LITELLM_BASE_URL is set, starts the mock LiteLLM in this process
//      (mock-litellm/server.mjs, random master key) and points the Worker at it;
//   3. runs `wrangler dev` on 127.0.0.1:$PORT (default 8003, the seed's port) and
//      waits until GET /health answers;
//   4. on SIGINT/SIGTERM/SIGHUP stops wrangler's whole process group and the mock; if this
//      process is killed outright (SIGKILL), wrangler's group notices and kills itself
//      (scripts/lib/tethered.mjs), so nothing keeps the port.
//
// Environment:
//   PORT                 port of the API (default 8003)
//   GATEWAY_STATE_DIR    where wrangler keeps local D1/Durable Object state
//                        (default: wrangler's own, .wrangler/state; delete it to start fresh)
//   LITELLM_BASE_URL     a real LiteLLM proxy; if unset the mock is started
//   LITELLM_API_KEY      key for that proxy (ignored when the mock is used)
//   MOCK_LITELLM_PORT    port for the mock (default: a free one)
//   ADMIN_API_KEY        admin key (default: the seed's sk-admin-key-change-me)
//   KEY_PEPPER           pepper for virtual-key hashes (default: a fixed local-development value)
//   GATEWAY_STARTUP_TIMEOUT_MS   how long to wait for /health (default 120000)
//   WRANGLER_REGISTRY_PATH       wrangler's dev registry, where Workers bound by name find each other
//                        (default: registry/ in the state folder, so two checkouts never cross)
//
// Secrets reach the Worker as `wrangler dev --var NAME:value` (they override wrangler.toml
// [vars] and .dev.vars); nothing is written to disk. No npm dependencies; runs on Node >= 20
// (wrangler itself is run with a Node >= 22.12: this one, or the pinned node_modules/.bin/node).

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { signalGroup } from "./lib/processes.mjs";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const WRANGLER_JS = join(REPO_ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
const PINNED_NODE = join(REPO_ROOT, "node_modules", ".bin", "node");
const MOCK_MODULE = join(REPO_ROOT, "mock-litellm", "server.mjs");
const TETHERED = join(REPO_ROOT, "scripts", "lib", "tethered.mjs");

const HOST = "127.0.0.1";
const DEFAULT_PORT = 8003;
const SEED_ADMIN_KEY = "sk-admin-key-change-me";
const LOCAL_DEV_PEPPER = "local-dev-pepper-0f6b1c2e9a7d4e3f-not-for-production";
const STOP_GRACE_MS = 5_000;
const MIGRATIONS_TIMEOUT_MS = 120_000;

const say = (msg) => process.stdout.write(`[start] ${msg}\n`);
const warn = (msg) => process.stderr.write(`[start] warning: ${msg}\n`);

class StartError extends Error {}

// ---------------------------------------------------------------------------
// Child processes: each in its own process group, so stopping kills workerd too.
// ---------------------------------------------------------------------------

/** Live children (process-group leaders) that must die with us. */
const children = new Set();

/** Forwards a stream line by line with a prefix, so wrangler's output is recognisable. */
function forwardLines(stream, out, prefix, onLine) {
  let buffered = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk) => {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf("\n")) !== -1) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      out.write(`${prefix}${line}\n`);
      onLine?.(line);
    }
  });
  stream.on("end", () => {
    if (buffered) out.write(`${prefix}${buffered}\n`);
  });
}

function nodeForWrangler() {
  const [major, minor] = process.versions.node.split(".").map(Number);
  if (major > 22 || (major === 22 && minor >= 12)) return process.execPath;
  if (existsSync(PINNED_NODE)) return PINNED_NODE;
  throw new StartError(
    `wrangler needs Node >= 22.12 and this is Node ${process.versions.node}; ` +
      `run "npm install" (it pins Node 24 in node_modules/.bin/node) and use "npm start".`,
  );
}

/**
 * Starts `wrangler <args>` detached (its own process group), tethered to this process
 * (scripts/lib/tethered.mjs): if this process dies in any way, SIGKILL included, the group is
 * killed. stdout/stderr are forwarded.
 */
function startWrangler(args, { onLine, env = {} } = {}) {
  if (!existsSync(WRANGLER_JS)) {
    throw new StartError(`wrangler is not installed (${WRANGLER_JS} is missing); run "npm install" first.`);
  }
  const node = nodeForWrangler();
  const child = spawn(process.execPath, [TETHERED, node, WRANGLER_JS, ...args], {
    cwd: REPO_ROOT,
    // stdin is the tether: a pipe this process never writes to, closed by the system when this
    // process ends. wrangler itself gets no stdin (not a terminal: it skips its prompts and
    // hotkeys, and a background process group reading the terminal would be stopped by SIGTTIN).
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
    env: {
      ...process.env,
      ...env,
      PATH: `${dirname(PINNED_NODE)}:${process.env.PATH ?? ""}`,
    },
  });
  children.add(child);
  child.stdin.on("error", () => {}); // the tether: never written to
  const exited = new Promise((resolveExit) => {
    child.once("error", (error) => {
      children.delete(child);
      resolveExit({ code: null, signal: null, error });
    });
    child.once("exit", (code, signal) => {
      children.delete(child);
      // The wrapper is gone; make sure nothing it started (workerd, esbuild) outlives it.
      signalGroup(child.pid, "SIGKILL");
      resolveExit({ code, signal, error: null });
    });
  });
  forwardLines(child.stdout, process.stdout, "[wrangler] ", onLine);
  forwardLines(child.stderr, process.stderr, "[wrangler] ", onLine);
  return { child, exited };
}

async function stopChild({ child, exited }) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  signalGroup(child.pid, "SIGTERM");
  const timer = setTimeout(() => signalGroup(child.pid, "SIGKILL"), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

// Last resort (uncaught error, process.exit elsewhere): no wrangler group survives us.
process.on("exit", () => {
  for (const child of children) signalGroup(child.pid, "SIGKILL");
});

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

function parsePort(raw, name) {
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new StartError(`${name}="${raw}" is not a port number.`);
  return port;
}

function assertPortFree(port) {
  return new Promise((resolveFree, reject) => {
    const probe = createServer();
    probe.once("error", (error) => {
      reject(
        new StartError(
          error.code === "EADDRINUSE"
            ? `port ${port} on ${HOST} is already in use (another gateway still running?). Stop it or set PORT.`
            : `cannot listen on ${HOST}:${port}: ${error.message}`,
        ),
      );
    });
    probe.listen(port, HOST, () => probe.close(() => resolveFree()));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls GET /health until it answers 200 {"status":"healthy"}, wrangler exits, or the deadline passes. */
async function waitForHealth(url, exited, timeoutMs) {
  let exit = null;
  exited.then((e) => {
    exit = e;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exit) return { ok: false, exit };
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) {
        const body = await res.json().catch(() => null);
        if (body?.status === "healthy") return { ok: true };
      } else {
        await res.body?.cancel();
      }
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  return { ok: false, exit: null };
}

function describeExit({ code, signal, error }) {
  if (error) return `could not be started (${error.message})`;
  return signal ? `was killed by ${signal}` : `exited with code ${code}`;
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

let mock = null;
let dev = null;
let migrate = null;
let stopping = false;

async function shutdown(exitCode, reason) {
  if (stopping) return;
  stopping = true;
  if (reason) say(reason);
  if (migrate) await stopChild(migrate);
  if (dev) await stopChild(dev);
  if (mock) await mock.close();
  process.exit(exitCode);
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    if (stopping) {
      // A second Ctrl-C: do not wait for the grace period.
      for (const child of children) signalGroup(child.pid, "SIGKILL");
      return;
    }
    const what = [migrate && "the D1 migrations", dev && "wrangler dev", mock && "the mock LiteLLM"].filter(Boolean).join(" and ");
    void shutdown(0, `${signal} received: stopping${what ? ` ${what}` : ""}...`);
  });
}

async function main() {
  const port = parsePort(process.env.PORT || DEFAULT_PORT, "PORT");
  if (port === 0) throw new StartError("PORT=0 is not supported; give a real port.");
  const stateDir = process.env.GATEWAY_STATE_DIR ? resolve(process.env.GATEWAY_STATE_DIR) : null;
  const persistArgs = stateDir ? ["--persist-to", stateDir] : [];
  const stateLabel = stateDir ?? join(REPO_ROOT, ".wrangler", "state");
  // A consumer Worker's `wrangler dev` reaches this gateway by its name (llm-job-gateway) through
  // wrangler's dev registry. wrangler's default registry is one per user, so two checkouts running
  // at once would register the same name and a consumer could reach either: each gets its own.
  const registryDir = process.env.WRANGLER_REGISTRY_PATH?.trim() || join(stateLabel, "registry");
  const startupTimeoutMs = Number(process.env.GATEWAY_STARTUP_TIMEOUT_MS) || 120_000;

  await assertPortFree(port);
  if (stateDir) {
    try {
      mkdirSync(stateDir, { recursive: true });
    } catch (error) {
      throw new StartError(`GATEWAY_STATE_DIR=${stateDir} cannot be created: ${error.message}`);
    }
  }

  // 1. Local D1 migrations.
  say(`applying local D1 migrations (state: ${stateLabel})...`);
  migrate = startWrangler(["d1", "migrations", "apply", "DB", "--local", ...persistArgs]);
  let migrationsTimer;
  const migrated = await Promise.race([
    migrate.exited,
    new Promise((r) => {
      migrationsTimer = setTimeout(() => r(null), MIGRATIONS_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(migrationsTimer);
  if (stopping) return;
  if (!migrated) {
    await stopChild(migrate);
    throw new StartError(
      `"wrangler d1 migrations apply DB --local" did not finish within ${MIGRATIONS_TIMEOUT_MS} ms; see its output above.`,
    );
  }
  migrate = null;
  if (migrated.error || migrated.code !== 0) {
    throw new StartError(`"wrangler d1 migrations apply DB --local" ${describeExit(migrated)}; see its output above.`);
  }

  // 2. LiteLLM: the given one, or the mock in this process.
  let litellmUrl = process.env.LITELLM_BASE_URL?.trim() || "";
  let litellmKey = process.env.LITELLM_API_KEY || "";
  let litellmLabel;
  if (litellmUrl) {
    litellmLabel = `${litellmUrl} (from LITELLM_BASE_URL)`;
    if (!litellmKey) warn("LITELLM_BASE_URL is set but LITELLM_API_KEY is not; LLM calls will go out without a key.");
  } else {
    const { startMockLiteLLM } = await import(pathToFileURL(MOCK_MODULE).href);
    const mockPort = process.env.MOCK_LITELLM_PORT ? parsePort(process.env.MOCK_LITELLM_PORT, "MOCK_LITELLM_PORT") : 0;
    litellmKey = `sk-mock-${randomBytes(16).toString("hex")}`;
    try {
      mock = await startMockLiteLLM({ port: mockPort, host: HOST, masterKey: litellmKey });
    } catch (error) {
      throw new StartError(`could not start the mock LiteLLM on port ${mockPort}: ${error.message}`);
    }
    litellmUrl = mock.url;
    litellmLabel = `MOCK LiteLLM at ${mock.url} (started by npm start because LITELLM_BASE_URL is not set; answers are canned)`;
    say(`LITELLM_BASE_URL is not set: started the mock LiteLLM at ${mock.url} and pointing the Worker at it.`);
  }
  if (stopping) return;

  // 3. Secrets for local development, passed as --var (never written to wrangler.toml or .dev.vars;
  // --var also wins over a .dev.vars). They go in wrangler's environment too, where it looks for
  // the [secrets] that wrangler.toml requires (otherwise it warns that they are missing).
  const adminKey = process.env.ADMIN_API_KEY || SEED_ADMIN_KEY;
  const adminLabel = process.env.ADMIN_API_KEY
    ? "from ADMIN_API_KEY in the environment"
    : `${SEED_ADMIN_KEY} (the seed's local-development default; set ADMIN_API_KEY to change it)`;
  const vars = {
    LITELLM_BASE_URL: litellmUrl,
    ADMIN_API_KEY: adminKey,
    KEY_PEPPER: process.env.KEY_PEPPER || LOCAL_DEV_PEPPER,
    ...(litellmKey ? { LITELLM_API_KEY: litellmKey } : {}),
    // Local development: webhooks may go to a receiver on this machine (http://127.0.0.1, http://localhost).
    WEBHOOK_ALLOW_HTTP_LOCALHOST: "true",
  };
  const varArgs = Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]);

  const url = `http://${HOST}:${port}`;
  say(`starting wrangler dev on ${url}...`);
  dev = startWrangler(["dev", "--ip", HOST, "--port", String(port), ...persistArgs, ...varArgs], {
    env: { ...vars, WRANGLER_REGISTRY_PATH: registryDir },
  });

  const ready = await waitForHealth(url, dev.exited, startupTimeoutMs);
  if (stopping) return;
  if (!ready.ok) {
    throw new StartError(
      ready.exit
        ? `wrangler dev ${describeExit(ready.exit)} before the API was ready; see its output above.`
        : `wrangler dev did not answer GET ${url}/health within ${startupTimeoutMs} ms; see its output above.`,
    );
  }

  process.stdout.write(
    [
      "",
      "==========================================================================",
      ` LLM job gateway ready at ${url}   (API: ${url}/api, docs: ${url}/docs)`,
      ` Admin key: ${adminLabel}`,
      ` LiteLLM:   ${litellmLabel}`,
      ` State:     ${stateLabel}${stateDir ? " (from GATEWAY_STATE_DIR)" : ""}; delete it to start fresh`,
      ` Workers:   a consumer Worker binds to llm-job-gateway with WRANGLER_REGISTRY_PATH=${registryDir} npx wrangler dev`,
      " Press Ctrl-C to stop.",
      "==========================================================================",
      "",
    ].join("\n"),
  );

  // 4. Stay up until a signal, or until wrangler dies on its own.
  const exit = await dev.exited;
  if (!stopping) {
    process.stderr.write(`[start] error: wrangler dev ${describeExit(exit)} unexpectedly; stopping.\n`);
    await shutdown(1);
  }
}

main().catch(async (error) => {
  const message = error instanceof StartError ? error.message : (error?.stack ?? String(error));
  process.stderr.write(`[start] error: ${message}\n`);
  if (!stopping) await shutdown(1);
});
