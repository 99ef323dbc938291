// Schema fuzzing: schemathesis against /openapi.json of a real `npm start`, once with the admin
// key and once with a team's virtual key, for every operation. Exits non-zero on any finding.
//
//   node scripts/schemathesis.mjs
//
//   1. creates (or reuses) .venv-fuzz/ (git-ignored) from python/schemathesis.txt, the whole
//      closure of the pinned schemathesis with hashes (scripts/lib/python-env.mjs);
//   2. starts `node scripts/start.mjs` on a free port with a fresh state directory, random
//      admin key and pepper, and the mock LiteLLM (or, when the start script is missing,
//      applies the migrations and runs `wrangler dev` itself with the mock in this process);
//   3. creates an organization, a model group, a funded team and a few open jobs, so the
//      team-key run reaches real data (its team id, group and job ids are offered to the
//      generator half the time, through schemathesis dictionaries);
//   4. runs schemathesis with the team key, then with the admin key (the admin run may
//      suspend or delete teams, so it goes last), bounded in examples and time;
//   5. stops the server's whole process group and deletes the state directory.
//
// Checks: not_a_server_error, status_code_conformance, content_type_conformance,
// response_schema_conformance. Reports (JUnit XML) go to $FUZZ_REPORT_DIR.
//
// Environment:
//   FUZZ_MAX_EXAMPLES   max examples per operation and phase (default 40)
//   FUZZ_MAX_TIME       seconds per run, two runs (default 150)
//   FUZZ_WORKERS        schemathesis workers (default 1)
//   FUZZ_SEED           fixed seed for a reproducible run (default: random, printed)
//   FUZZ_PYTHON         interpreter that creates the venv (default python3)
//   FUZZ_REPORT_DIR     where reports go (default .venv-fuzz/reports)
//   FUZZ_KEEP_STATE=1   keep the wrangler state directory for inspection
//
// No npm dependencies; Node >= 20.

import { spawn } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { freePort } from "./lib/processes.mjs";
import { ensurePythonEnv } from "./lib/python-env.mjs";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const VENV_DIR = join(REPO_ROOT, ".venv-fuzz");
const SCHEMATHESIS = join(VENV_DIR, "bin", "schemathesis");
const START_SCRIPT = join(REPO_ROOT, "scripts", "start.mjs");
const WRANGLER_JS = join(REPO_ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
const PINNED_NODE_DIR = join(REPO_ROOT, "node_modules", ".bin");
const HOST = "127.0.0.1";

const CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance"];
const MAX_EXAMPLES = positiveInt(process.env.FUZZ_MAX_EXAMPLES, 40);
const MAX_TIME_SECONDS = positiveInt(process.env.FUZZ_MAX_TIME, 150);
// One worker by default: schemathesis' threads can trip a CPython 3.11 AST race ("AST constructor recursion depth mismatch").
const WORKERS = positiveInt(process.env.FUZZ_WORKERS, 1);
const SEED = process.env.FUZZ_SEED ? positiveInt(process.env.FUZZ_SEED, 1) : randomInt(1, 2 ** 31);
const REPORT_DIR = resolve(process.env.FUZZ_REPORT_DIR || join(VENV_DIR, "reports"));
const STARTUP_TIMEOUT_MS = 180_000;
const STOP_GRACE_MS = 10_000;

const say = (msg) => process.stdout.write(`[fuzz] ${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function positiveInt(raw, fallback) {
  const n = Number(raw);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

/** Runs a command to completion with inherited output (or captured, with `capture`). */
function run(cmd, args, { capture = false, env = process.env } = {}) {
  return new Promise((done) => {
    const child = spawn(cmd, args, { cwd: REPO_ROOT, env, stdio: ["ignore", capture ? "pipe" : "inherit", capture ? "pipe" : "inherit"] });
    let out = "";
    child.stdout?.on("data", (d) => {
      out += d;
    });
    child.stderr?.on("data", (d) => {
      out += d;
    });
    child.on("error", (error) => done({ code: null, out: `${out}${error.message}` }));
    child.on("close", (code) => done({ code, out }));
  });
}

// ---------------------------------------------------------------------------
// The venv
// ---------------------------------------------------------------------------

/** .venv-fuzz/ from python/schemathesis.txt (scripts/lib/python-env.mjs); says which schemathesis runs. */
async function ensureSchemathesis() {
  const env = await ensurePythonEnv("schemathesis", { log: say });
  const probe = await run(SCHEMATHESIS, ["--version"], { capture: true });
  if (probe.code !== 0) throw new Error(`${SCHEMATHESIS} --version failed:\n${probe.out}`);
  say(`${probe.out.trim()} (.venv-fuzz ${env.reused ? "reused" : `built in ${env.seconds} s`})`);
}

// ---------------------------------------------------------------------------
// The gateway: a process group we own, stopped as a whole
// ---------------------------------------------------------------------------

const groups = new Set();

/** Starts a command as the leader of a new process group; its output is prefixed. */
function startGroup(label, cmd, args, env) {
  const child = spawn(cmd, args, { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  groups.add(child);
  const exited = new Promise((done) => {
    child.once("error", (error) => done({ code: null, error }));
    child.once("exit", (code, signal) => done({ code, signal }));
  });
  exited.then(() => groups.delete(child));
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk) => {
      buffered += chunk;
      let nl;
      while ((nl = buffered.indexOf("\n")) !== -1) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        // wrangler dev prints one line per request; thousands of them would drown the report.
        if (!/\[wrangler:info\] (GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|TRACE) |"msg":"request"/.test(line)) {
          process.stdout.write(`[${label}] ${line}\n`);
        }
      }
    });
  }
  return { child, exited };
}

function signalGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

async function stopGroup({ child, exited }) {
  if (child.exitCode === null && child.signalCode === null) {
    signalGroup(child, "SIGTERM");
    const timer = setTimeout(() => signalGroup(child, "SIGKILL"), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }
  // Anything the leader left behind in its group goes too.
  signalGroup(child, "SIGKILL");
}

process.on("exit", () => {
  for (const child of groups) signalGroup(child, "SIGKILL");
});

async function waitForHealth(url, exited) {
  let exit = null;
  exited.then((e) => {
    exit = e;
  });
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline && !exit) {
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
      if (res.ok && (await res.json()).status === "healthy") return;
    } catch {
      // not listening yet
    }
    await sleep(300);
  }
  throw new Error(
    exit
      ? `the gateway exited (code ${exit.code ?? exit.signal}) before it was ready`
      : `the gateway did not answer /health within ${STARTUP_TIMEOUT_MS} ms`,
  );
}

/** `npm start` (scripts/start.mjs), or wrangler dev directly when that script is missing. */
async function startGateway({ port, stateDir, adminKey, pepper }) {
  const env = {
    ...process.env,
    PORT: String(port),
    ADMIN_API_KEY: adminKey,
    KEY_PEPPER: pepper,
    GATEWAY_STATE_DIR: stateDir,
    WRANGLER_SEND_METRICS: "false",
  };
  delete env.LITELLM_BASE_URL; // the mock, always: fuzzing must not reach a real provider
  delete env.LITELLM_API_KEY;
  if (existsSync(START_SCRIPT)) {
    say(`starting npm start (scripts/start.mjs) on port ${port}...`);
    const server = startGroup("start", process.execPath, [START_SCRIPT], env);
    return { servers: [server], close: async () => {} };
  }
  say("scripts/start.mjs is missing: running wrangler dev with the mock LiteLLM directly");
  const { startMockLiteLLM } = await import(pathToFileURL(join(REPO_ROOT, "mock-litellm", "server.mjs")).href);
  const litellmKey = `sk-mock-${randomBytes(16).toString("hex")}`;
  const mock = await startMockLiteLLM({ port: 0, host: HOST, masterKey: litellmKey, quiet: true });
  env.PATH = `${PINNED_NODE_DIR}:${env.PATH ?? ""}`;
  const migrate = await run(process.execPath, [WRANGLER_JS, "d1", "migrations", "apply", "DB", "--local", "--persist-to", stateDir], {
    env,
  });
  if (migrate.code !== 0) {
    await mock.close();
    throw new Error("wrangler d1 migrations apply DB --local failed");
  }
  const vars = { LITELLM_BASE_URL: mock.url, LITELLM_API_KEY: litellmKey, ADMIN_API_KEY: adminKey, KEY_PEPPER: pepper };
  const server = startGroup(
    "wrangler",
    process.execPath,
    [
      WRANGLER_JS,
      "dev",
      "--ip",
      HOST,
      "--port",
      String(port),
      "--persist-to",
      stateDir,
      ...Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
    ],
    env,
  );
  return { servers: [server], close: () => mock.close() };
}

// ---------------------------------------------------------------------------
// Data for the team run
// ---------------------------------------------------------------------------

async function post(url, key, body) {
  const res = await fetch(url, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`setup: POST ${url} → ${res.status} ${text}`);
  return JSON.parse(text);
}

async function createFixtures(url, adminKey) {
  const suffix = randomBytes(4).toString("hex");
  const organizationId = `fuzz-org-${suffix}`;
  const group = `fuzz-group-${suffix}`;
  const teamId = `fuzz-team-${suffix}`;
  await post(`${url}/api/organizations/create`, adminKey, { organization_id: organizationId, name: "Fuzzing" });
  await post(`${url}/api/model-groups/create`, adminKey, { group_name: group, models: [{ model_name: "gpt-4o-mini", priority: 0 }] });
  const team = await post(`${url}/api/teams/create`, adminKey, {
    organization_id: organizationId,
    team_id: teamId,
    model_groups: [group],
    credits_allocated: 1_000_000,
  });
  const jobIds = [];
  for (let i = 0; i < 5; i++) {
    jobIds.push((await post(`${url}/api/jobs/create`, team.virtual_key, { team_id: teamId, job_type: "fuzzing" })).job_id);
  }
  return { teamId, group, jobIds, teamKey: team.virtual_key };
}

// ---------------------------------------------------------------------------
// Schemathesis
// ---------------------------------------------------------------------------

/** A config file that offers real ids to the generator half of the time. */
function writeConfig(dir, name, fixtures) {
  const path = join(dir, `${name}.toml`);
  const list = (values) => `[${values.map((v) => JSON.stringify(v)).join(", ")}]`;
  // No state left in the repository between runs (schemathesis would keep it in .schemathesis/).
  const lines = ["[cache]", "enabled = false"];
  if (fixtures) {
    lines.push(
      "[dictionaries.team]",
      `values = ${list([fixtures.teamId])}`,
      "[dictionaries.group]",
      `values = ${list([fixtures.group])}`,
      "[dictionaries.job]",
      `values = ${list(fixtures.jobIds)}`,
      "[parameters]",
      '"path.team_id" = { dictionary = "team", probability = 0.5 }',
      '"query.team_id" = { dictionary = "team", probability = 0.5 }',
      '"body.team_id" = { dictionary = "team", probability = 0.5 }',
      '"path.job_id" = { dictionary = "job", probability = 0.5 }',
      '"body.model_group" = { dictionary = "group", probability = 0.5 }',
    );
  }
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
}

async function fuzz(name, url, key, configPath) {
  mkdirSync(REPORT_DIR, { recursive: true });
  say(`schemathesis run "${name}": up to ${MAX_EXAMPLES} examples per operation, at most ${MAX_TIME_SECONDS} s, seed ${SEED}`);
  const started = Date.now();
  const { code } = await run(SCHEMATHESIS, [
    "--config-file",
    configPath,
    "run",
    `${url}/openapi.json`,
    "--url",
    url,
    "--header",
    `Authorization: Bearer ${key}`,
    "--checks",
    CHECKS.join(","),
    "--phases",
    "examples,coverage,fuzzing",
    "--max-examples",
    String(MAX_EXAMPLES),
    "--max-time",
    String(MAX_TIME_SECONDS),
    "--workers",
    String(WORKERS),
    "--seed",
    String(SEED),
    "--request-timeout",
    "30",
    "--suppress-health-check",
    "too_slow,filter_too_much",
    "--continue-on-failure",
    "--generation-database",
    "none",
    "--no-color",
    "--report",
    "junit",
    "--report-junit-path",
    join(REPORT_DIR, `${name}.xml`),
  ]);
  say(`schemathesis run "${name}" finished in ${Math.round((Date.now() - started) / 1000)} s with exit code ${code}`);
  return code === 0;
}

// ---------------------------------------------------------------------------

async function main() {
  const started = Date.now();
  await ensureSchemathesis();
  const port = await freePort();
  const url = `http://${HOST}:${port}`;
  const stateDir = mkdtempSync(join(tmpdir(), "gateway-fuzz-state-"));
  const workDir = mkdtempSync(join(tmpdir(), "gateway-fuzz-"));
  const adminKey = `sk-admin-fuzz-${randomBytes(16).toString("hex")}`;
  const pepper = `pepper-fuzz-${randomBytes(16).toString("hex")}`;
  const gateway = await startGateway({ port, stateDir, adminKey, pepper });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    for (const server of gateway.servers) await stopGroup(server);
    await gateway.close();
    if (process.env.FUZZ_KEEP_STATE === "1") say(`state kept in ${stateDir}`);
    else rmSync(stateDir, { recursive: true, force: true });
    rmSync(workDir, { recursive: true, force: true });
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, () => {
      say(`${signal}: stopping the gateway`);
      stop().finally(() => process.exit(130));
    });
  }
  try {
    await waitForHealth(url, gateway.servers[0].exited);
    say(`gateway ready at ${url} after ${Math.round((Date.now() - started) / 1000)} s`);
    const fixtures = await createFixtures(url, adminKey);
    const teamOk = await fuzz("team-key", url, fixtures.teamKey, writeConfig(workDir, "team", fixtures));
    const adminOk = await fuzz("admin-key", url, adminKey, writeConfig(workDir, "admin", null));
    say(`reports: ${REPORT_DIR}; total ${Math.round((Date.now() - started) / 1000)} s`);
    return teamOk && adminOk;
  } finally {
    await stop();
  }
}

main().then(
  (ok) => {
    say(ok ? "no findings" : "FINDINGS: see the schemathesis output above");
    process.exit(ok ? 0 : 1);
  },
  (error) => {
    process.stderr.write(`[fuzz] error: ${error?.stack ?? error}\n`);
    process.exit(2);
  },
);
