// The project's Python environments, each installed from a complete, hashed lock, so that pip
// never resolves anything against what the registry publishes next. No npm dependencies.
//
//   import { ensurePythonEnv } from "./lib/python-env.mjs";
//   const env = await ensurePythonEnv("litellm"); // { name, dir, python, bin(tool), reused, seconds }
//
//   node scripts/lib/python-env.mjs litellm schemathesis   (builds or checks the named envs)
//
// Every venv is made the same way:
//   1. `python3 -m venv <dir>`. The pip that comes with the interpreter is used once, only to
//      install the pinned pip wheel of python/installer.txt (--require-hashes --no-deps: one
//      hash-checked file, nothing to resolve), so the machine's pip version does not matter.
//   2. The pinned pip installs the env's lock with --require-hashes --no-deps --only-binary
//      :all:. The lock holds the whole closure; --no-deps keeps pip from looking up anything
//      else (extras such as httpx[http2] included), and wheels only means no source build that
//      would fetch its build tools unpinned.
//   3. `pip check`, then python/check_env.py: every requirement reachable from the roots in the
//      env's .in file, extras included, is installed at a version it accepts. A lock that misses
//      a package fails here, naming it.
//   4. A stamp (the interpreter's version and the installer lock, the env's lock and the checker)
//      lets the next run reuse the venv; any change rebuilds it from scratch.
//
// `npm run locks:python` (scripts/lock-python.mjs) regenerates the locks; docs/dependencies.md
// says how. The interpreter is $PYTHON_ENV_PYTHON (or an env's own override), default python3.

import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The pinned pip (the installer of every env), and the checker run after each install. */
export const INSTALLER = { in: "python/installer.in", lock: "python/installer.txt" };
const CHECKER = join(REPO_ROOT, "python", "check_env.py");

/**
 * The environments: their roots (`in`), their lock (`lock`, made from `in` by
 * `npm run locks:python`) and their venv (git-ignored). `pythonVar` names an older override of
 * the interpreter that is still honoured.
 */
export const PYTHON_ENVS = {
  litellm: { in: "litellm/requirements.in", lock: "litellm/requirements.txt", venv: ".venv-litellm", pythonVar: "LITELLM_PYTHON" },
  schemathesis: { in: "python/schemathesis.in", lock: "python/schemathesis.txt", venv: ".venv-fuzz", pythonVar: "FUZZ_PYTHON" },
  "openai-python": {
    in: "test/e2e/openai-python/requirements.in",
    lock: "test/e2e/openai-python/requirements.txt",
    venv: ".venv-openai",
  },
  "lock-tools": { in: "python/lock-tools.in", lock: "python/lock-tools.txt", venv: ".venv-lock-tools" },
};

const INSTALL_TIMEOUT_MS = 20 * 60_000;
const PIP_FLAGS = ["--no-input", "--disable-pip-version-check", "--require-hashes", "--no-deps", "--only-binary", ":all:"];

/** Runs a command to completion; resolves { code, signal, stdout, stderr, error }. Never rejects. */
export function run(cmd, args, { timeoutMs = 60_000, stdoutFd, env, cwd = REPO_ROOT } = {}) {
  return new Promise((done) => {
    let stdout = "";
    let stderr = "";
    let child;
    try {
      child = spawn(cmd, args, { cwd, env: env ?? process.env, stdio: ["ignore", stdoutFd ?? "pipe", stdoutFd ?? "pipe"] });
    } catch (error) {
      done({ code: null, signal: null, stdout, stderr, error });
      return;
    }
    child.stdout?.on("data", (d) => {
      stdout += d;
    });
    child.stderr?.on("data", (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      done({ code: null, signal: null, stdout, stderr, error });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr, error: null });
    });
  });
}

/** The end of a log file, without ANSI colour codes. */
export function tailOfFile(path, maxBytes = 6000) {
  try {
    const size = statSync(path).size;
    const start = Math.max(0, size - maxBytes);
    const fd = openSync(path, "r");
    try {
      const buf = Buffer.alloc(size - start);
      readSync(fd, buf, 0, buf.length, start);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: ESC starts the ANSI colour codes stripped here
      return buf.toString("utf8").replace(/\x1b\[[0-9;]*m/g, "");
    } finally {
      closeSync(fd);
    }
  } catch {
    return "(no log)";
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === "EPERM";
  }
}

/** The exact version pinned for `name` in a lock (`name==version`), or null. */
export function pinnedVersion(lockPath, name) {
  const text = readFileSync(resolve(REPO_ROOT, lockPath), "utf8");
  const escaped = name.replace(/[-_.]+/g, "[-_.]+");
  const m = text.match(new RegExp(`^${escaped}(?:\\[[^\\]]*\\])?==([^\\s\\\\;]+)`, "im"));
  return m ? m[1] : null;
}

/** The interpreter that makes venvs: checked for version 3.10-3.14 and the venv module. */
export async function findPython(override) {
  const python = override || process.env.PYTHON_ENV_PYTHON || "python3";
  const probe = await run(python, ["-c", 'import sys, venv, ensurepip; print("%d.%d.%d" % sys.version_info[:3])']);
  if (probe.error?.code === "ENOENT") {
    throw new Error(
      `python-env: "${python}" was not found. The Python suites need Python 3.10-3.14 with the venv module ` +
        "(Debian/Ubuntu: apt-get install python3 python3-venv) and access to PyPI for the first install.",
    );
  }
  if (probe.code !== 0) {
    throw new Error(
      `python-env: "${python}" cannot create virtualenvs (the venv or ensurepip module is missing; Debian/Ubuntu: ` +
        `apt-get install python3-venv):\n${(probe.stderr || String(probe.error ?? "")).trim()}`,
    );
  }
  const version = probe.stdout.trim();
  const [major, minor] = version.split(".").map(Number);
  if (major !== 3 || minor < 10 || minor > 14)
    throw new Error(`python-env: the Python suites need Python 3.10-3.14, "${python}" is ${version}`);
  return { python, version };
}

/** Cross-process lock: several test workers may ask for the same venv at once. */
async function withLock(venvDir, fn) {
  const lockDir = join(tmpdir(), `python-env-${createHash("sha256").update(venvDir).digest("hex").slice(0, 16)}.lock`);
  const ownerFile = join(lockDir, "pid");
  const deadline = Date.now() + INSTALL_TIMEOUT_MS + 60_000;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(ownerFile, String(process.pid));
      break;
    } catch (err) {
      if (err.code !== "EEXIST") throw err;
      let owner = Number.NaN;
      try {
        owner = Number(readFileSync(ownerFile, "utf8"));
      } catch {
        /* being created */
      }
      let ageMs = 0;
      try {
        ageMs = Date.now() - statSync(lockDir).mtimeMs;
      } catch {
        continue;
      }
      if ((Number.isInteger(owner) && owner > 0 && !isAlive(owner)) || (Number.isNaN(owner) && ageMs > 10_000)) {
        rmSync(lockDir, { recursive: true, force: true }); // stale
        continue;
      }
      if (Date.now() > deadline) throw new Error(`python-env: timed out waiting for the install lock ${lockDir}`);
      await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

function spec(name) {
  const env = PYTHON_ENVS[name];
  if (!env) throw new Error(`python-env: no environment "${name}" (known: ${Object.keys(PYTHON_ENVS).join(", ")})`);
  return env;
}

/** What the venv was built from: a change in any of these rebuilds it. */
function stampOf(env, pythonVersion) {
  const hash = createHash("sha256").update(`python ${pythonVersion}\n`);
  for (const file of [INSTALLER.lock, env.lock, env.in]) hash.update(readFileSync(resolve(REPO_ROOT, file)));
  hash.update(readFileSync(CHECKER));
  return hash.digest("hex");
}

function readStamp(stampFile) {
  try {
    return readFileSync(stampFile, "utf8").trim();
  } catch {
    return null;
  }
}

/** Paths and the stamp of the named env, for the interpreter it would be built with. */
async function layout(name, pythonOverride) {
  const env = spec(name);
  const dir = join(REPO_ROOT, env.venv);
  const interpreter = await findPython(pythonOverride || (env.pythonVar && process.env[env.pythonVar]));
  return {
    env,
    dir,
    venvPython: join(dir, "bin", "python"),
    stampFile: join(dir, ".lock-stamp"),
    interpreter,
    want: stampOf(env, interpreter.version),
  };
}

/** Whether the named env is built and current, so that using it installs nothing. */
export async function pythonEnvIsCurrent(name, { python } = {}) {
  try {
    const { venvPython, stampFile, want } = await layout(name, python);
    return existsSync(venvPython) && readStamp(stampFile) === want;
  } catch {
    return false;
  }
}

const pending = new Map();

/**
 * Makes sure the named env's venv holds exactly its lock (see the top of this file), reusing it
 * when nothing it was built from changed. Resolves to { name, dir, python, bin, reused, seconds };
 * throws with the reason (and the tail of the install log) on any failure.
 */
export function ensurePythonEnv(name, { log = (msg) => process.stderr.write(`[python-env] ${msg}\n`), python } = {}) {
  let promise = pending.get(name);
  if (!promise) {
    promise = ensureUncached(name, log, python).catch((err) => {
      pending.delete(name);
      throw err;
    });
    pending.set(name, promise);
  }
  return promise;
}

async function ensureUncached(name, log, pythonOverride) {
  const started = performance.now();
  const { env, dir, venvPython, stampFile, interpreter, want } = await layout(name, pythonOverride);
  const { python, version } = interpreter;
  const result = (reused) => ({
    name,
    dir,
    python: venvPython,
    bin: (tool) => join(dir, "bin", tool),
    reused,
    seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
  });
  const current = () => existsSync(venvPython) && readStamp(stampFile) === want;
  if (current()) return result(true);

  return withLock(dir, async () => {
    if (current()) return result(true); // another process built it meanwhile
    log(`building ${env.venv}/ from ${env.lock} (python ${version}; pip from ${INSTALLER.lock})...`);
    rmSync(dir, { recursive: true, force: true });
    const mk = await run(python, ["-m", "venv", dir], { timeoutMs: 5 * 60_000 });
    if (mk.code !== 0)
      throw new Error(`python-env: "${python} -m venv ${dir}" failed (exit ${mk.code ?? mk.signal}):\n${mk.stderr || mk.stdout}`);
    const installLog = join(dir, "install.log");
    const pipEnv = { ...process.env, PIP_NO_INPUT: "1", PIP_DISABLE_PIP_VERSION_CHECK: "1" };
    const pip = async (what, lock) => {
      const fd = openSync(installLog, "a");
      let r;
      try {
        r = await run(venvPython, ["-m", "pip", "install", ...PIP_FLAGS, "-r", resolve(REPO_ROOT, lock)], {
          timeoutMs: INSTALL_TIMEOUT_MS,
          stdoutFd: fd,
          env: pipEnv,
        });
      } finally {
        closeSync(fd);
      }
      if (r.code !== 0) {
        throw new Error(
          `python-env: installing ${what} from ${lock} failed (exit ${r.code ?? r.signal ?? r.error}); full log in ${installLog}. ` +
            `Tail:\n${tailOfFile(installLog)}`,
        );
      }
    };
    // 1. The pinned pip, installed by the interpreter's own pip (one hashed wheel, no resolution).
    await pip("the pinned pip", INSTALLER.lock);
    const wantPip = pinnedVersion(INSTALLER.lock, "pip");
    const gotPip = await run(venvPython, ["-c", 'import importlib.metadata as m; print(m.version("pip"))']);
    if (gotPip.stdout.trim() !== wantPip) {
      throw new Error(`python-env: after installing ${INSTALLER.lock}, pip is ${gotPip.stdout.trim() || "missing"}, not ${wantPip}`);
    }
    // 2. The whole closure, with the pinned pip.
    await pip(name, env.lock);
    // 3. Nothing missing, nothing at a version its dependents refuse; extras included.
    const check = await run(venvPython, ["-m", "pip", "check"], { env: pipEnv });
    if (check.code !== 0) {
      throw new Error(
        `python-env: "pip check" in ${env.venv}/ failed: ${env.lock} is incomplete or inconsistent ` +
          `(regenerate it with npm run locks:python -- ${name}):\n${(check.stdout + check.stderr).trim()}`,
      );
    }
    const closure = await run(venvPython, [CHECKER, env.in]); // run from the repository root: the message names env.in as written
    if (closure.code !== 0) {
      throw new Error(
        `python-env: ${env.lock} misses part of the closure of ${env.in} ` +
          `(regenerate it with npm run locks:python -- ${name}):\n${(closure.stdout + closure.stderr).trim()}`,
      );
    }
    writeFileSync(stampFile, `${want}\n`);
    const res = result(false);
    log(`${env.venv}/ ready in ${res.seconds} s`);
    return res;
  });
}

// CLI: node scripts/lib/python-env.mjs <name>...
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const names = process.argv.slice(2);
  if (names.length === 0) {
    process.stderr.write(`usage: node scripts/lib/python-env.mjs <${Object.keys(PYTHON_ENVS).join("|")}>...\n`);
    process.exit(2);
  }
  try {
    for (const name of names) {
      const env = await ensurePythonEnv(name);
      process.stdout.write(`${name}: ${env.dir} (${env.reused ? "reused" : `built in ${env.seconds} s`})\n`);
    }
  } catch (error) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}
