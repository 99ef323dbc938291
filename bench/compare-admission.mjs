#!/usr/bin/env node

// `npm run bench:compare -- [--against <ref>] [--after <ref>] [--rounds N] [--seconds S]`
// (node bench/compare-admission.mjs): admission throughput and llm-call latency of one commit ("after", default
// HEAD) against another ("before", default 7418401, the commit before hard budgets), in the SAME
// run on the same machine, so a busy machine's noise falls on both alike.
//
// Each commit is checked out into a temporary `git worktree` under the system's temp dir
// (removed at the end; a snapshot, since `wrangler dev` reloads when files change), sharing this
// worktree's node_modules and given this worktree's probe (bench/probe-worker), so both sides are
// measured by the same instrument. Each side runs its own gateway and probe (`wrangler dev`,
// fresh state); one mock LiteLLM serves both.
//
// Measures, per side:
//   - SQLite cost per job inside the team's object (noise-free): statements, rows read and
//     written, bytes grown, for an admission (create + complete) and for a job with one call
//     (job_based, and consumption_tokens where the call is held), through the probe;
//   - then `rounds` rounds, the sides alternating (A B, B A, ...): llm-calls one after another in
//     an open job (their p50, `--llm-calls` of them), admissions over HTTP (create + complete, 32
//     concurrent), admissions over RPC to one object (32 concurrent, inside the probe), job cycles
//     over HTTP (create + 3 llm-calls + complete, 10 concurrent).
// Reports each figure's median, min and max per side, and the median of the per-round ratios
// after/before (each round's two sides ran back to back). Writes bench/results/compare-admission.json.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { adminHeaders, completeJob, createJob, gatewayCallBody, setupTenancy, teamHeaders } from "./api.mjs";
import { ADMIN_KEY, argv, CFG, errors, KEY_PEPPER, MOCK_KEY, noteError, say } from "./config.mjs";
import { json, request } from "./lib/http.mjs";
import { freePort, nodeForWrangler, REPO_ROOT, runWrangler, startGroup, stopAll, WRANGLER_JS } from "./lib/proc.mjs";
import { median } from "./lib/stats.mjs";
import { loadavg, machine } from "./machine.mjs";
import { measureCycles } from "./scenarios/jobs.mjs";
import { startMock, waitReady } from "./targets.mjs";

const option = (name, fallback) => {
  const i = argv.indexOf(name);
  return i !== -1 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const AGAINST = option("--against", "7418401");
const AFTER = option("--after", "HEAD");
const ROUNDS = Number(option("--rounds", 6));
const SECONDS = Number(option("--seconds", 5));
const RPC_JOBS = Number(option("--rpc-jobs", 600));
const SQL_JOBS = 50;
/** Sequential llm-calls per side per round (their p50 is compared). */
const LLM_CALLS = Number(option("--llm-calls", 40));
const OUT = option("--out", join(REPO_ROOT, "bench", "results", "compare-admission.json"));

const git = (...args) => execFileSync("git", ["-C", REPO_ROOT, ...args], { encoding: "utf8" }).trim();

function compatArgs(root) {
  const toml = readFileSync(join(root, "wrangler.toml"), "utf8");
  const date = toml.match(/^compatibility_date\s*=\s*"([^"]+)"/m)?.[1];
  const flags = [...(toml.match(/^compatibility_flags\s*=\s*\[([^\]]*)\]/m)?.[1] ?? "").matchAll(/"([^"]+)"/g)].map((m) => m[1]);
  return ["--compatibility-date", date, ...flags.flatMap((f) => ["--compatibility-flags", f])];
}

/**
 * A commit in a temporary worktree, with this worktree's probe, and this worktree's node_modules
 * when its lock file is the same (else its own, installed from its lock: a dependency added or
 * removed since must not break either side).
 */
function checkout(tmp, name, ref) {
  const dir = join(tmp, name);
  git("worktree", "add", "--detach", dir, ref);
  const sameLock = readFileSync(join(dir, "package-lock.json"), "utf8") === readFileSync(join(REPO_ROOT, "package-lock.json"), "utf8");
  if (sameLock) symlinkSync(join(REPO_ROOT, "node_modules"), join(dir, "node_modules"));
  else {
    console.log(`[compare] ${name} (${ref}) has another package-lock.json: npm ci there`);
    execFileSync("npm", ["ci", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts"], { cwd: dir, stdio: "inherit" });
  }
  // This worktree's probe, when the commit has every gateway module it imports; otherwise (an
  // older layout) the commit's own probe, which serves the same /__bench/ledger and /__bench/sql-cost.
  const probe = readFileSync(join(REPO_ROOT, "bench", "probe-worker", "index.ts"), "utf8");
  const imported = [...probe.matchAll(/from "\.\.\/\.\.\/(src\/[^"]+)"/g)].map((m) => m[1]);
  const missing = imported.filter((module) => !existsSync(join(dir, `${module}.ts`)) && !existsSync(join(dir, module)));
  if (missing.length === 0) {
    for (const file of ["index.ts", "wrangler.toml"]) {
      copyFileSync(join(REPO_ROOT, "bench", "probe-worker", file), join(dir, "bench", "probe-worker", file));
    }
  } else {
    console.log(`[compare] ${name} (${ref}) lacks ${missing.join(", ")}: measured with its own probe`);
  }
  return dir;
}

/** A side's gateway and probe, fresh state, started from `root`. */
async function startSide(name, root, tmp, logDir, mockUrl) {
  const probeConfig = join(root, "bench", "probe-worker", "wrangler.toml");
  const gwConfig = join(root, "wrangler.toml");
  const state = { gateway: join(tmp, `${name}-gateway`), probe: join(tmp, `${name}-probe`) };
  for (const [target, config] of [
    ["gateway", gwConfig],
    ["probe", probeConfig],
  ]) {
    const applied = await runWrangler(["d1", "migrations", "apply", "DB", "--local", "-c", config, "--persist-to", state[target]], {
      logFile: join(logDir, `${name}-migrate-${target}.log`),
    });
    if (applied.code !== 0) throw new Error(`${name}: d1 migrations apply failed:\n${applied.output.slice(-1500)}`);
  }
  const vars = [
    ["LITELLM_BASE_URL", mockUrl],
    ["LITELLM_API_KEY", MOCK_KEY],
    ["ADMIN_API_KEY", ADMIN_KEY],
    ["KEY_PEPPER", KEY_PEPPER],
  ].flatMap(([k, v]) => ["--var", `${k}:${v}`]);
  const side = { name, root };
  for (const [target, config] of [
    ["gateway", gwConfig],
    ["probe", probeConfig],
  ]) {
    const [port, inspector] = [await freePort(), await freePort()];
    const proc = startGroup(
      nodeForWrangler(),
      [
        WRANGLER_JS,
        "dev",
        "-c",
        config,
        "--ip",
        "127.0.0.1",
        "--port",
        String(port),
        "--inspector-port",
        String(inspector),
        "--show-interactive-dev-session=false",
        "--persist-to",
        state[target],
        ...compatArgs(root),
        ...vars,
      ],
      { logFile: join(logDir, `${name}-${target}.log`), cwd: root },
    );
    side[target] = { url: `http://127.0.0.1:${port}`, proc };
  }
  await Promise.all(
    ["gateway", "probe"].map((t) =>
      waitReady(`${name} ${t}`, side[t].proc, async () => (await request("GET", `${side[t].url}/health`)).status === 200),
    ),
  );
  return side;
}

async function setupSide(side) {
  side.gwKeys = await setupTenancy(side.gateway.url, ["cmp-admit", "cmp-cycle", "cmp-latency"]);
  await setupTenancy(side.probe.url, ["probe-admit", "probe-sql"]);
  await json("POST", `${side.probe.url}/api/teams/create`, {
    headers: adminHeaders,
    body: {
      organization_id: "bench-org",
      team_id: "probe-sql-tokens",
      model_groups: ["bench"],
      credits_allocated: 100_000_000,
      budget_mode: "consumption_tokens",
    },
  });
}

/** SQLite cost per job inside the object (deterministic). */
async function sqlCost(side) {
  const cost = async (team, calls, budget) =>
    (
      await json("POST", `${side.probe.url}/__bench/sql-cost`, {
        body: { team_id: team, jobs: SQL_JOBS, calls_per_job: calls, budget },
      })
    ).json.value;
  return {
    admission: await cost("probe-sql", 0, false),
    job_based_1_call: await cost("probe-sql", 1, true),
    consumption_tokens_1_call: await cost("probe-sql-tokens", 1, true),
  };
}

/** One llm-call after another in an open job (c=1): the p50 in ms of LLM_CALLS calls. */
async function llmCallLatency(side) {
  const key = side.gwKeys["cmp-latency"];
  const jobId = await createJob(side.gateway.url, "cmp-latency", key);
  const ms = [];
  for (let i = 0; i < LLM_CALLS; i++) {
    const res = await request("POST", `${side.gateway.url}/api/jobs/${jobId}/llm-call`, {
      headers: teamHeaders(key),
      body: gatewayCallBody(),
    });
    if (res.status === 200) ms.push(res.ms);
    else noteError(`compare ${side.name}`, "llm-call", `HTTP ${res.status} ${res.text.slice(0, 200)}`);
  }
  await completeJob(side.gateway.url, key, jobId);
  return median(ms);
}

async function measureRound(side) {
  const section = `compare ${side.name}`;
  const llmCallP50 = await llmCallLatency(side);
  const admissionsHttp = await measureCycles(side, section, "cmp-admit", 0, CFG.admissionConcurrency, SECONDS);
  const rpc = (
    await json("POST", `${side.probe.url}/__bench/ledger`, { body: { team_id: "probe-admit", jobs: RPC_JOBS, concurrency: 32 } })
  ).json;
  const cycles = await measureCycles(side, section, "cmp-cycle", 3, CFG.cycleConcurrency, SECONDS);
  return {
    admissions_http_per_s: admissionsHttp.per_s,
    admissions_rpc_per_s: rpc.jobs_per_s,
    job_cycles_per_s: cycles.per_s,
    llm_call_p50_ms: llmCallP50,
  };
}

function summary(rounds) {
  const metrics = Object.keys(rounds[0].before);
  return Object.fromEntries(
    metrics.map((m) => {
      const of = (name) => rounds.map((r) => r[name][m]);
      const spread = (v) => ({ median: median(v), min: Math.min(...v), max: Math.max(...v) });
      return [
        m,
        {
          before: spread(of("before")),
          after: spread(of("after")),
          after_over_before_per_round: spread(rounds.map((r) => r.after[m] / r.before[m])),
        },
      ];
    }),
  );
}

async function main() {
  const tmp = mkdtempSync(join(os.tmpdir(), "llm-gateway-compare-"));
  const logDir = join(tmp, "logs");
  mkdirSync(logDir);
  const stop = async () => {
    await stopAll();
    process.exit(130);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const checkouts = [];
  let failed = false;
  try {
    const before = { ref: AGAINST, commit: git("rev-parse", "--short", AGAINST) };
    const after = { ref: AFTER, commit: git("rev-parse", "--short", AFTER) };
    say(`before ${before.commit}, after ${after.commit}; ${ROUNDS} rounds of ${SECONDS} s; load ${loadavg().join(" ")}; logs in ${logDir}`);
    for (const [name, ref] of [
      ["before", AGAINST],
      ["after", AFTER],
    ])
      checkouts.push(checkout(tmp, name, ref));
    const mock = await startMock(logDir, "mock", ["--master-key", MOCK_KEY]);
    const sides = {
      before: await startSide("before", checkouts[0], tmp, logDir, mock.url),
      after: await startSide("after", checkouts[1], tmp, logDir, mock.url),
    };
    for (const side of Object.values(sides)) await setupSide(side);
    say("SQLite cost per job inside the object ...");
    const sql = { before: await sqlCost(sides.before), after: await sqlCost(sides.after) };
    say(JSON.stringify(sql));
    say("warm-up ...");
    for (const side of Object.values(sides)) await measureRound({ ...side, warmup: true });
    const rounds = [];
    for (let r = 0; r < ROUNDS; r++) {
      const load = loadavg();
      const order = r % 2 === 0 ? ["before", "after"] : ["after", "before"];
      const round = { order, load };
      for (const name of order) round[name] = await measureRound(sides[name]);
      rounds.push(round);
      const f = (x) => x.toFixed(1);
      say(
        `round ${r + 1}/${ROUNDS} (load ${load.join(" ")}): llm-call p50 ${f(round.before.llm_call_p50_ms)} → ${f(round.after.llm_call_p50_ms)} ms, HTTP ${f(round.before.admissions_http_per_s)} → ${f(round.after.admissions_http_per_s)}/s, RPC ${f(round.before.admissions_rpc_per_s)} → ${f(round.after.admissions_rpc_per_s)}/s, cycles ${f(round.before.job_cycles_per_s)} → ${f(round.after.job_cycles_per_s)}/s`,
      );
    }
    const result = {
      command: `npm run bench:compare${argv.length ? ` -- ${argv.join(" ")}` : ""}`,
      date: new Date().toISOString(),
      machine: machine(),
      before,
      after,
      config: { rounds: ROUNDS, seconds: SECONDS, rpc_jobs: RPC_JOBS, sql_jobs: SQL_JOBS, llm_calls: LLM_CALLS },
      sql_per_job: sql,
      summary: summary(rounds),
      rounds,
      errors: errors.slice(0, 50),
    };
    mkdirSync(join(REPO_ROOT, "bench", "results"), { recursive: true });
    writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);
    for (const [m, s] of Object.entries(result.summary)) {
      const f = (x) => x.toFixed(1);
      say(
        `${m}: before median ${f(s.before.median)} (${f(s.before.min)}–${f(s.before.max)}), after ${f(s.after.median)} (${f(s.after.min)}–${f(s.after.max)}); after/before per round median ${s.after_over_before_per_round.median.toFixed(3)} (${s.after_over_before_per_round.min.toFixed(3)}–${s.after_over_before_per_round.max.toFixed(3)})`,
      );
    }
    say(`errors: ${errors.length}; wrote ${OUT.replace(`${REPO_ROOT}/`, "")}`);
  } catch (error) {
    failed = true;
    process.stderr.write(`[compare] failed: ${error.stack ?? error}\n[compare] logs kept in ${logDir}\n`);
    process.exitCode = 1;
  } finally {
    await stopAll();
    for (const dir of checkouts) git("worktree", "remove", "--force", dir);
    if (!failed) rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
