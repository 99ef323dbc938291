// Runs a REAL, pinned LiteLLM proxy offline on loopback, for integration tests
// and the smoke script. No npm dependencies (Node >= 20, ESM).
//
//   import { ensureLiteLLMVenv, startLiteLLM } from './litellm-env.mjs';
//   const litellm = await startLiteLLM({ upstreamUrl: mock.url, port: 0 });
//   ... fetch(`${litellm.url}/v1/chat/completions`, { headers: { authorization: `Bearer ${litellm.masterKey}` } })
//   await litellm.stop();
//
// - The Python side lives in .venv-litellm/ at the repo root (git-ignored). It
//   is installed from litellm/requirements.txt, the whole closure pinned with
//   hashes (scripts/lib/python-env.mjs; regenerate it with npm run locks:python),
//   and reused while nothing it was built from changed.
// - The proxy gets a random master key, no database and the LITELLM_LOCAL_*
//   switches, so it makes no network call except to the given upstream.
// - Each proxy runs in its own process group; stop() ends the whole group.
//
// Env overrides: LITELLM_PYTHON (interpreter used to create the venv, default
// python3), LITELLM_STARTUP_TIMEOUT_MS (default 90000).

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "./lib/processes.mjs";
import { ensurePythonEnv, pythonEnvIsCurrent, run, tailOfFile } from "./lib/python-env.mjs";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const VENV_DIR = join(REPO_ROOT, ".venv-litellm");
export const REQUIREMENTS_FILE = join(REPO_ROOT, "litellm", "requirements.txt");
export const CONFIG_FILE = join(REPO_ROOT, "litellm", "config.yaml");

const VENV_PYTHON = join(VENV_DIR, "bin", "python");
const VENV_LITELLM = join(VENV_DIR, "bin", "litellm");
const DEFAULT_STARTUP_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 5_000;

const log = (msg) => process.stderr.write(`[litellm-env] ${msg}\n`);

/** The exact litellm version pinned in litellm/requirements.txt. */
export function pinnedLiteLLMVersion() {
  const text = readFileSync(REQUIREMENTS_FILE, "utf8");
  const m = text.match(/^litellm(?:\[[^\]]*\])?==([^\s\\;]+)/m);
  if (!m) throw new Error(`litellm-env: no "litellm==<version>" pin found in ${REQUIREMENTS_FILE}`);
  return m[1];
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** A sleep that does not keep the process alive (for grace periods that usually end early). */
const unrefSleep = (ms) => new Promise((r) => setTimeout(r, ms).unref());

// ---------------------------------------------------------------------------
// Venv
// ---------------------------------------------------------------------------

async function installedLiteLLMVersion() {
  if (!existsSync(VENV_PYTHON) || !existsSync(VENV_LITELLM)) return null;
  const r = await run(VENV_PYTHON, ["-c", 'import importlib.metadata as m; print(m.version("litellm"))'], { timeoutMs: 30_000 });
  return r.code === 0 ? r.stdout.trim() : null;
}

/**
 * Makes sure .venv-litellm/ holds exactly litellm/requirements.txt (scripts/lib/python-env.mjs:
 * the pinned pip, the whole hashed closure with --no-deps, then the closure check), reusing it
 * while nothing it was built from changed. Resolves to { python, litellm, version, reused,
 * seconds }. Throws on any failure.
 */
export async function ensureLiteLLMVenv() {
  const pinned = pinnedLiteLLMVersion();
  const env = await ensurePythonEnv("litellm", { log });
  const got = await installedLiteLLMVersion();
  if (got !== pinned) throw new Error(`litellm-env: .venv-litellm holds litellm ${got ?? "(none)"}, but ${pinned} is pinned`);
  return { python: VENV_PYTHON, litellm: VENV_LITELLM, version: pinned, reused: env.reused, seconds: env.seconds };
}

/** Whether .venv-litellm/ is built and current (no install needed): for callers that must not install. */
export function liteLLMVenvIsCurrent() {
  return pythonEnvIsCurrent("litellm");
}

// ---------------------------------------------------------------------------
// Proxy
// ---------------------------------------------------------------------------

/** OpenAI base URL of the upstream, ending in /v1 (the mock's url has no path). */
function upstreamApiBase(upstreamUrl) {
  const u = new URL(upstreamUrl);
  const path = u.pathname.replace(/\/+$/, "");
  u.pathname = path.endsWith("/v1") ? path : `${path}/v1`;
  return u.toString().replace(/\/+$/, "");
}

/** Environment for the proxy: inherited, minus anything that would reach out or change behaviour. */
function proxyEnv({ masterKey, apiBase, extraEnv }) {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (
      key === "DATABASE_URL" ||
      key === "DIRECT_URL" ||
      key.startsWith("LITELLM_") ||
      key.startsWith("REDIS_") ||
      key.startsWith("OPENAI_") ||
      key.startsWith("AZURE_") ||
      key.startsWith("ANTHROPIC_") ||
      key === "STORE_MODEL_IN_DB" ||
      key === "CONFIG_FILE_PATH" ||
      key === "PORT"
    )
      delete env[key];
  }
  const noProxy = ["127.0.0.1", "localhost", "::1", env.NO_PROXY || env.no_proxy].filter(Boolean).join(",");
  return {
    ...env,
    MOCK_UPSTREAM_URL: apiBase,
    LITELLM_MASTER_KEY: masterKey,
    // Offline: use the bundled cost map / beta headers / blog posts / policy templates.
    LITELLM_LOCAL_MODEL_COST_MAP: "True",
    LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS: "True",
    LITELLM_LOCAL_BLOG_POSTS: "True",
    LITELLM_LOCAL_POLICY_TEMPLATES: "true",
    LITELLM_LOG: "ERROR",
    NO_DOCS: "True",
    // Quiet, and never fetch tokenizers/telemetry from the internet.
    LITELLM_DONT_SHOW_FEEDBACK_BOX: "True",
    LITELLM_DISABLE_NO_REDIS_WARNING: "true",
    HF_HUB_OFFLINE: "1",
    TRANSFORMERS_OFFLINE: "1",
    DO_NOT_TRACK: "1",
    // Loopback must never go through an HTTP proxy.
    NO_PROXY: noProxy,
    no_proxy: noProxy,
    PYTHONUNBUFFERED: "1",
    PYTHONDONTWRITEBYTECODE: "1",
    ...extraEnv,
  };
}

// Exec'd as the process image of the proxy: asks the kernel to SIGTERM it when
// the Node process that spawned it dies (so a crashed test run leaves no
// orphan proxy), then replaces itself with the litellm console script.
const EXEC_WITH_PARENT_DEATH_SIGNAL = [
  "import ctypes, os, signal, sys",
  "try:",
  "    ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG",
  "except Exception:",
  "    pass",
  "if os.getppid() != int(sys.argv[1]):",
  "    sys.exit(0)  # parent already gone",
  "os.execv(sys.argv[2], sys.argv[2:])",
].join("\n");

/**
 * Starts the pinned LiteLLM proxy on 127.0.0.1 in front of an OpenAI-compatible
 * upstream. Options: upstreamUrl (required; "/v1" is appended if missing),
 * port (0 or absent = pick a free one), masterKey (absent = a random sk-<64 hex>; pass one to
 * hand it to a client before the proxy is up), configPath, startupTimeoutMs, env (extra
 * environment), quiet (no "ready" line).
 * Resolves to { url, port, masterKey, version, pid, logFile, startupSeconds, stop() }.
 */
export async function startLiteLLM({
  upstreamUrl,
  port = 0,
  masterKey: givenMasterKey,
  configPath = CONFIG_FILE,
  startupTimeoutMs,
  env: extraEnv = {},
  quiet = false,
} = {}) {
  if (!upstreamUrl) throw new Error("litellm-env: startLiteLLM needs { upstreamUrl }");
  await ensureLiteLLMVenv();
  const timeoutMs = Number(startupTimeoutMs ?? process.env.LITELLM_STARTUP_TIMEOUT_MS ?? DEFAULT_STARTUP_TIMEOUT_MS);
  const listenPort = port || (await freePort());
  const url = `http://127.0.0.1:${listenPort}`;
  if (givenMasterKey !== undefined && !/^sk-[A-Za-z0-9_-]{32,}$/.test(givenMasterKey)) {
    throw new Error('litellm-env: masterKey must be "sk-" followed by at least 32 letters, digits, "-" or "_"');
  }
  const masterKey = givenMasterKey ?? `sk-${randomBytes(32).toString("hex")}`;
  const apiBase = upstreamApiBase(upstreamUrl);

  const logDir = mkdtempSync(join(tmpdir(), "litellm-proxy-"));
  const logFile = join(logDir, "proxy.log");
  const logFd = openSync(logFile, "a");
  const args = [
    "-c",
    EXEC_WITH_PARENT_DEATH_SIGNAL,
    String(process.pid),
    VENV_LITELLM,
    "--config",
    configPath,
    "--host",
    "127.0.0.1",
    "--port",
    String(listenPort),
    "--num_workers",
    "1",
  ];
  const started = performance.now();
  const child = spawn(VENV_PYTHON, args, {
    cwd: REPO_ROOT,
    env: proxyEnv({ masterKey, apiBase, extraEnv }),
    detached: true, // own process group: stop() kills the whole group
    stdio: ["ignore", logFd, logFd],
  });
  closeSync(logFd);
  const pid = child.pid;

  let exited = null;
  const exitPromise = new Promise((resolveExit) => {
    child.once("exit", (code, signal) => {
      exited = { code, signal };
      resolveExit(exited);
    });
    child.once("error", (error) => {
      exited = { code: null, signal: null, error };
      resolveExit(exited);
    });
  });

  // Best effort if the test process exits without calling stop().
  const killOnExit = () => {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      /* gone */
    }
  };
  process.once("exit", killOnExit);

  let stopPromise = null;
  let keepLog = false; // kept when startup failed, so the error's log path stays valid
  const stop = () => {
    stopPromise ??= (async () => {
      process.removeListener("exit", killOnExit);
      if (!pid) return;
      const signalGroup = (sig) => {
        try {
          process.kill(-pid, sig);
        } catch {
          /* ESRCH: group gone */
        }
      };
      if (!exited) {
        signalGroup("SIGTERM");
        const gone = await Promise.race([exitPromise.then(() => true), unrefSleep(STOP_GRACE_MS).then(() => false)]);
        if (!gone) {
          signalGroup("SIGKILL");
          await Promise.race([exitPromise, unrefSleep(STOP_GRACE_MS)]);
        }
      }
      signalGroup("SIGKILL"); // stragglers left in the group after the leader exited
      if (!keepLog) rmSync(logDir, { recursive: true, force: true });
    })();
    return stopPromise;
  };

  const fail = async (why) => {
    keepLog = true;
    await stop().catch(() => {});
    const tail = tailOfFile(logFile);
    throw new Error(`litellm-env: LiteLLM proxy ${why}.\n--- tail of the proxy log (${logFile}) ---\n${tail}`);
  };

  // Wait for liveliness.
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) {
      await fail(`exited during startup (${exited.error ? exited.error.message : `code ${exited.code}, signal ${exited.signal}`})`);
    }
    try {
      const res = await fetch(`${url}/health/liveliness`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) break;
      await res.arrayBuffer();
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) await fail(`did not answer GET /health/liveliness within ${Math.round(timeoutMs / 1000)} s`);
    await sleep(200);
  }
  const startupSeconds = Number(((performance.now() - started) / 1000).toFixed(1));

  // Version: authenticated readiness details, then public readiness, then pip metadata.
  let version = null;
  for (const [path, headers] of [
    ["/health/readiness/details", { authorization: `Bearer ${masterKey}` }],
    ["/health/readiness", {}],
  ]) {
    try {
      const res = await fetch(`${url}${path}`, { headers, signal: AbortSignal.timeout(5000) });
      const body = await res.json().catch(() => null);
      if (res.ok && body?.litellm_version) {
        version = String(body.litellm_version);
        break;
      }
    } catch {
      /* try the next */
    }
  }
  version ??= await installedLiteLLMVersion();
  const pinned = pinnedLiteLLMVersion();
  if (version !== pinned) log(`warning: running LiteLLM ${version}, but ${pinned} is pinned`);

  if (!quiet) console.log(`LiteLLM ${version} ready on ${url} (started in ${startupSeconds} s)`);
  return { url, port: listenPort, masterKey, version, pid, logFile, startupSeconds, stop };
}
