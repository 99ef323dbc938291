#!/usr/bin/env node
// `npm run test:litellm`: the gateway proven against a REAL, pinned LiteLLM proxy.
//
//   mock upstream (mock-litellm, mode "upstream", in this process)
//     <- LiteLLM <pinned> (litellm/config.yaml, .venv-litellm/, random master key, no DB, offline)
//       <- the gateway under `wrangler dev` (the real `npm start`: scripts/start.mjs), fresh state
//         <- vitest, Node environment: vitest.litellm.config.ts, test/litellm/*.test.ts
//
// 1. Makes sure the venv holds the pinned LiteLLM (a failed install is a failure, never a skip)
//    and prints the version.
// 2. Starts the mock upstream, then LiteLLM and the gateway side by side (the gateway is given
//    LiteLLM's port and master key up front; it does not call LiteLLM before a test does).
// 3. Runs the vitest project, passing URLs and keys in LITELLM_TEST_* variables.
// 4. Stops every process group it started: at the end, on failure, on SIGINT/SIGTERM/SIGHUP, and
//    when the whole run exceeds its deadline (TEST_LITELLM_TIMEOUT_MS, default 570000 = 9.5 min).
//
// Node >= 20, no npm dependencies. Exit code 0 only if everything passed (130 after a signal).
// TEST_LITELLM_GATEWAY=wrangler runs wrangler dev directly instead of npm start (the fallback
// used when scripts/start.mjs does not exist).
// Logs of LiteLLM and the gateway are kept in a temp folder when something fails.

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startMockLiteLLM } from "../mock-litellm/server.mjs";
import { freePort, signalGroup } from "./lib/processes.mjs";
import { ensureLiteLLMVenv, pinnedLiteLLMVersion, startLiteLLM } from "./litellm-env.mjs";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const START_SCRIPT = join(REPO_ROOT, "scripts", "start.mjs");
const WRANGLER_JS = join(REPO_ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
const VITEST_JS = join(REPO_ROOT, "node_modules", "vitest", "vitest.mjs");
const PINNED_NODE = join(REPO_ROOT, "node_modules", ".bin", "node");
const VITEST_CONFIG = "vitest.litellm.config.ts";

const RUN_TIMEOUT_MS = Number(process.env.TEST_LITELLM_TIMEOUT_MS) || 570_000;
const GATEWAY_STARTUP_TIMEOUT_MS = 180_000;
const STOP_GRACE_MS = 15_000;

const t0 = performance.now();
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
const say = (msg) => process.stdout.write(`[test:litellm ${elapsed()}] ${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class RunError extends Error {}

// ---------------------------------------------------------------------------
// Process groups
// ---------------------------------------------------------------------------

/** Every child we started, each the leader of its own process group. */
const groups = new Set();

function groupAlive(pid) {
  try {
    process.kill(-pid, 0);
    return true;
  } catch (err) {
    return err.code === "EPERM";
  }
}

/** Spawns `cmd args` as the leader of a new process group; output goes to `logFile` or is inherited. */
function spawnGroup(name, cmd, args, { env, logFile, inherit = false } = {}) {
  if (finishing) throw new RunError(`not starting ${name}: the run is stopping`);
  let fd = null;
  if (logFile) fd = openSync(logFile, "a");
  const child = spawn(cmd, args, {
    cwd: REPO_ROOT,
    env,
    detached: true,
    stdio: inherit ? ["ignore", "inherit", "inherit"] : ["ignore", fd ?? "ignore", fd ?? "ignore"],
  });
  if (fd !== null) closeSync(fd);
  const entry = { name, child, pid: child.pid, logFile };
  entry.exited = new Promise((resolveExit) => {
    child.once("error", (error) => resolveExit({ code: null, signal: null, error }));
    child.once("exit", (code, signal) => resolveExit({ code, signal, error: null }));
  });
  if (child.pid !== undefined) groups.add(entry);
  return entry;
}

/** SIGTERM to the group, SIGKILL after the grace period; waits until the group is gone. */
async function stopGroup(entry) {
  if (!groups.has(entry)) return;
  groups.delete(entry);
  signalGroup(entry.pid, "SIGTERM");
  const deadline = Date.now() + STOP_GRACE_MS;
  await Promise.race([entry.exited, sleep(STOP_GRACE_MS)]);
  while (groupAlive(entry.pid) && Date.now() < deadline) await sleep(100);
  if (groupAlive(entry.pid)) {
    say(`${entry.name} did not stop within ${STOP_GRACE_MS / 1000} s of SIGTERM; killing its process group`);
    signalGroup(entry.pid, "SIGKILL");
  }
}

// Last resort (uncaught error, process.exit elsewhere): no group outlives us.
process.on("exit", () => {
  for (const entry of groups) signalGroup(entry.pid, "SIGKILL");
});

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

function isListening(port) {
  return new Promise((resolveListening) => {
    const probe = createServer();
    probe.once("error", () => resolveListening(true));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolveListening(false)));
  });
}

/** A Node that can run wrangler and vitest (>= 22.12): this one, or the pinned node_modules/.bin/node. */
function modernNode() {
  const [major, minor] = process.versions.node.split(".").map(Number);
  if (major > 22 || (major === 22 && minor >= 12)) return process.execPath;
  if (existsSync(PINNED_NODE)) return PINNED_NODE;
  throw new RunError(
    `wrangler and vitest need Node >= 22.12 and this is Node ${process.versions.node}; ` +
      'run "npm install" (it pins Node 24 in node_modules/.bin/node) and use "npm run test:litellm".',
  );
}

function tail(path, maxBytes = 8000) {
  try {
    const text = readFileSync(path, "utf8");
    // biome-ignore lint/suspicious/noControlCharactersInRegex: ESC starts the ANSI colour codes stripped here
    return text.slice(-maxBytes).replace(/\x1b\[[0-9;]*m/g, "");
  } catch {
    return "(no log)";
  }
}

function describeExit({ code, signal, error }) {
  if (error) return `could not be started (${error.message})`;
  return signal ? `was killed by ${signal}` : `exited with code ${code}`;
}

// ---------------------------------------------------------------------------
// The gateway
// ---------------------------------------------------------------------------

/** Polls GET /health until {"status":"healthy"}, the process exits, or the deadline passes. */
async function waitForGateway(url, entry, timeoutMs) {
  let exit = null;
  entry.exited.then((e) => {
    exit = e;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exit)
      throw new RunError(
        `the gateway (${entry.name}) ${describeExit(exit)} before it was ready.\n--- its log (${entry.logFile}) ---\n${tail(entry.logFile)}`,
      );
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
      const body = await res.json().catch(() => null);
      if (res.ok && body?.status === "healthy") return;
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  throw new RunError(
    `the gateway did not answer GET ${url}/health within ${timeoutMs / 1000} s.\n--- its log (${entry.logFile}) ---\n${tail(entry.logFile)}`,
  );
}

/**
 * The gateway through the real `npm start` (scripts/start.mjs) when it exists: it applies the
 * migrations to a fresh GATEWAY_STATE_DIR and runs wrangler dev with LITELLM_BASE_URL,
 * LITELLM_API_KEY, ADMIN_API_KEY and KEY_PEPPER from the environment. Otherwise wrangler dev
 * directly, the same way.
 */
async function startGateway({ port, litellmUrl, litellmKey, adminKey, stateDir, logFile }) {
  const url = `http://127.0.0.1:${port}`;
  const node = modernNode();
  const env = {
    ...process.env,
    PATH: `${dirname(PINNED_NODE)}:${process.env.PATH ?? ""}`,
    PORT: String(port),
    GATEWAY_STATE_DIR: stateDir,
    LITELLM_BASE_URL: litellmUrl,
    LITELLM_API_KEY: litellmKey,
    ADMIN_API_KEY: adminKey,
    KEY_PEPPER: `pepper-${randomBytes(24).toString("hex")}`,
    GATEWAY_STARTUP_TIMEOUT_MS: String(GATEWAY_STARTUP_TIMEOUT_MS),
    WRANGLER_SEND_METRICS: "false",
  };
  delete env.MOCK_LITELLM_PORT;
  let entry;
  if (existsSync(START_SCRIPT) && process.env.TEST_LITELLM_GATEWAY !== "wrangler") {
    say(`starting the gateway with "npm start" (scripts/start.mjs) on ${url}, LITELLM_BASE_URL=${litellmUrl}`);
    entry = spawnGroup("npm start", "npm", ["start"], { env, logFile });
  } else {
    say(
      `${existsSync(START_SCRIPT) ? "TEST_LITELLM_GATEWAY=wrangler" : "scripts/start.mjs not found"}: starting the gateway with wrangler dev directly on ${url}`,
    );
    if (!existsSync(WRANGLER_JS)) throw new RunError(`wrangler is not installed (${WRANGLER_JS}); run "npm install" first.`);
    const migrate = spawnGroup(
      "wrangler d1 migrations apply",
      node,
      [WRANGLER_JS, "d1", "migrations", "apply", "DB", "--local", "--persist-to", stateDir],
      { env, logFile },
    );
    const migrated = await migrate.exited;
    groups.delete(migrate);
    if (migrated.error || migrated.code !== 0) {
      throw new RunError(`"wrangler d1 migrations apply DB --local" ${describeExit(migrated)}.\n--- log ---\n${tail(logFile)}`);
    }
    const vars = { LITELLM_BASE_URL: litellmUrl, LITELLM_API_KEY: litellmKey, ADMIN_API_KEY: adminKey, KEY_PEPPER: env.KEY_PEPPER };
    const varArgs = Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
    entry = spawnGroup(
      "wrangler dev",
      node,
      [WRANGLER_JS, "dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", stateDir, ...varArgs],
      { env, logFile },
    );
  }
  await waitForGateway(url, entry, GATEWAY_STARTUP_TIMEOUT_MS);
  return { url, entry };
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

const workDir = mkdtempSync(join(tmpdir(), "test-litellm-"));
const stateDir = join(workDir, "gateway-state");
const gatewayLog = join(workDir, "gateway.log");
let mock = null;
let litellm = null;
let litellmPromise = null;
let gateway = null;
let vitest = null;
let cleaningUp = null;
let keepLogs = false;
/** Set once the run is ending (done, failed, signal, deadline): nothing new may start. */
let finishing = false;

async function cleanup() {
  cleaningUp ??= (async () => {
    if (vitest) await stopGroup(vitest);
    if (gateway) {
      await stopGroup(gateway.entry);
      // start.mjs runs wrangler in a group of its own and stops it on SIGTERM; make sure it did.
      const port = Number(new URL(gateway.url).port);
      for (let i = 0; i < 40 && (await isListening(port)); i++) await sleep(250);
      if (await isListening(port)) say(`warning: port ${port} is still in use after the gateway stopped`);
    }
    // LiteLLM may still be starting (a failure elsewhere): wait for it, then stop its group.
    const proxy = litellm ?? (await litellmPromise?.catch(() => null));
    // stop() deletes the proxy's log; keep a copy when the run failed.
    if (keepLogs && proxy?.logFile) {
      try {
        copyFileSync(proxy.logFile, join(workDir, "litellm.log"));
      } catch {
        /* no log */
      }
    }
    await proxy?.stop();
    await mock?.close();
    for (const entry of [...groups]) await stopGroup(entry);
    if (keepLogs) {
      const logs = readdirSync(workDir).filter((f) => f.endsWith(".log"));
      say(`logs kept in ${workDir} (${logs.join(", ") || "none written"})`);
    } else {
      rmSync(workDir, { recursive: true, force: true });
    }
  })();
  return cleaningUp;
}

async function finish(code, message) {
  if (finishing) return;
  finishing = true;
  if (message) process.stderr.write(`[test:litellm ${elapsed()}] ${message}\n`);
  if (code !== 0) keepLogs = true;
  await cleanup();
  say(code === 0 ? `PASSED in ${elapsed()}` : code === 130 ? `STOPPED after ${elapsed()}` : `FAILED after ${elapsed()}`);
  process.exit(code);
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    if (finishing) {
      for (const entry of groups) signalGroup(entry.pid, "SIGKILL");
      return;
    }
    void finish(130, `${signal} received: stopping everything`);
  });
}

const watchdog = setTimeout(() => {
  void finish(1, `the run exceeded ${RUN_TIMEOUT_MS / 1000} s (TEST_LITELLM_TIMEOUT_MS): stopping everything`);
}, RUN_TIMEOUT_MS);
watchdog.unref();

async function main() {
  say(`real LiteLLM test: pinned litellm ${pinnedLiteLLMVersion()} (litellm/requirements.txt), config litellm/config.yaml`);

  // 1. The venv. A missing Python or a failed install throws: this run fails, it is never skipped.
  const venv = await ensureLiteLLMVenv();
  say(`LiteLLM venv .venv-litellm: litellm ${venv.version} (${venv.reused ? "reused" : `installed in ${venv.seconds} s`})`);

  // 2. Mock upstream, then LiteLLM and the gateway side by side.
  mock = await startMockLiteLLM({ port: 0, mode: "upstream", quiet: true });
  say(`mock OpenAI-compatible upstream (mock-litellm, mode=upstream) on ${mock.url}`);
  const litellmPort = await freePort();
  const litellmKey = `sk-${randomBytes(32).toString("hex")}`;
  const litellmUrl = `http://127.0.0.1:${litellmPort}`;
  const adminKey = `sk-admin-${randomBytes(24).toString("hex")}`;
  const gatewayPort = await freePort();

  say(`starting LiteLLM on ${litellmUrl} (master key random, no database)`);
  litellmPromise = startLiteLLM({ upstreamUrl: mock.url, port: litellmPort, masterKey: litellmKey, quiet: true });
  litellmPromise.then(
    (p) => {
      litellm = p;
    },
    () => {},
  );
  const gatewayPromise = startGateway({ port: gatewayPort, litellmUrl, litellmKey, adminKey, stateDir, logFile: gatewayLog });
  gatewayPromise.then(
    (g) => {
      gateway = g;
    },
    () => {},
  );
  const [proxyResult, gatewayResult] = await Promise.allSettled([litellmPromise, gatewayPromise]);
  if (proxyResult.status === "rejected") throw proxyResult.reason;
  if (gatewayResult.status === "rejected") throw gatewayResult.reason;
  litellm = proxyResult.value;
  gateway = gatewayResult.value;
  if (finishing) return;
  say(`LiteLLM version: ${litellm.version} (running; started in ${litellm.startupSeconds} s)`);
  if (litellm.version !== pinnedLiteLLMVersion()) {
    throw new RunError(`the running LiteLLM says it is ${litellm.version}, but ${pinnedLiteLLMVersion()} is pinned`);
  }
  say(`gateway ready on ${gateway.url} (log: ${gatewayLog})`);

  // 3. The tests.
  const node = modernNode();
  if (!existsSync(VITEST_JS)) throw new RunError(`vitest is not installed (${VITEST_JS}); run "npm install" first.`);
  // Arguments after `npm run test:litellm --` go to vitest (CI adds a JSON reporter to count tests).
  const vitestArgs = ["run", "-c", VITEST_CONFIG, ...process.argv.slice(2)];
  say(`running: vitest ${vitestArgs.join(" ")}`);
  vitest = spawnGroup("vitest", node, [VITEST_JS, ...vitestArgs], {
    inherit: true,
    env: {
      ...process.env,
      LITELLM_TEST_GATEWAY_URL: gateway.url,
      LITELLM_TEST_ADMIN_KEY: adminKey,
      LITELLM_TEST_LITELLM_URL: litellm.url,
      LITELLM_TEST_LITELLM_KEY: litellm.masterKey,
      LITELLM_TEST_LITELLM_VERSION: litellm.version,
      LITELLM_TEST_UPSTREAM_URL: mock.url,
    },
  });
  const result = await vitest.exited;
  groups.delete(vitest);
  vitest = null;
  if (result.error || result.code !== 0) {
    throw new RunError(`vitest ${describeExit(result)}; the gateway's log: ${gatewayLog}`);
  }
}

main().then(
  () => finish(0),
  (error) => {
    // litellm-env's errors (no Python, failed pip install, proxy not starting) say what is needed.
    const plain = error instanceof RunError || String(error?.message).startsWith("litellm-env:");
    const message = plain ? error.message : (error?.stack ?? String(error));
    return finish(1, `error: ${message}`);
  },
);
