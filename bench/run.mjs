#!/usr/bin/env node

// `npm run bench` (node bench/run.mjs): what the gateway costs, measured against a bare
// passthrough Worker in the same run, on this machine, over loopback only.
//
//   node bench/run.mjs [--quick] [--repeats N] [--no-litellm] [--no-portkey]
//                      [--out bench/results/latest.json] [--md bench/results/latest.md] [--no-md]
//
// Starts (targets.mjs): the mock LiteLLM, the bare Worker (bench/bare-worker), the gateway (root
// wrangler.toml, fresh state, migrations applied) and the probe (bench/probe-worker). Measures
// (scenarios/*.mjs), repeats the whole set `repeats` times with the targets' order rotated, then
// the peers (Portkey; LiteLLM when .venv-litellm/ is installed) side by side with the gateway.
// Writes the medians to bench/results/latest.json, with the targets judged (goals.mjs), and the
// report (lib/report.mjs) to bench/results/latest.md. See bench/README.md.
//
// Bounded: about 10 minutes in full, about 2-3 in --quick (for working on the harness).

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { completeJob, createJob, gatewayCallBody, setupTenancy, teamHeaders } from "./api.mjs";
import { argv, CFG, errors, OUT_JSON, OUT_MD, overBudget, QUICK, SKIP_LITELLM, SKIP_PORTKEY, say, started, WRITE_MD } from "./config.mjs";
import { evaluateTargets } from "./goals.mjs";
import { json } from "./lib/http.mjs";
import { REPO_ROOT, stopAll } from "./lib/proc.mjs";
import { writeReport } from "./lib/report.mjs";
import { medianTree, roundTree } from "./lib/stats.mjs";
import { cannon, loadTargets } from "./load.mjs";
import { bundleSize, loadavg, machine } from "./machine.mjs";
import { measureBreakdown } from "./scenarios/breakdown.mjs";
import { measureCache } from "./scenarios/cache.mjs";
import { measureHistory } from "./scenarios/history.mjs";
import { measureCompleteGrowth, measureCycles, measureLedgerDirect } from "./scenarios/jobs.mjs";
import { measureLatency } from "./scenarios/latency.mjs";
import { measurePeers } from "./scenarios/peers.mjs";
import { measureStreaming } from "./scenarios/streaming.mjs";
import { measureThroughput } from "./scenarios/throughput.mjs";
import { streamOnce } from "./stream.mjs";
import { startTargets } from "./targets.mjs";

/** Teams, history, and whether the gateway's streaming route answers. */
async function setup(env, results) {
  env.gwKeys = await setupTenancy(env.gateway.url, ["bench-main", "bench-cycle", "bench-admit", "bench-complete"]);
  env.probeKeys = await setupTenancy(env.probe.url, [
    "probe-main",
    "probe-admit",
    "probe-inobject",
    "probe-hist-large",
    ...Array.from({ length: CFG.repeats }, (_, r) => `probe-hist-small-${r}`),
  ]);
  const seed = async (teamId, jobs) =>
    (await json("POST", `${env.probe.url}/__bench/seed-history`, { body: { team_id: teamId, jobs, calls_per_job: 1 } }, "seed-history"))
      .json;
  say(`history: ${CFG.historySmall} and ${CFG.historyJobs} past jobs (1 call each) ...`);
  let small;
  for (let r = 0; r < CFG.repeats; r++) small = await seed(`probe-hist-small-${r}`, CFG.historySmall); // a fresh one per run
  const large = await seed("probe-hist-large", CFG.historyJobs);
  results.history_seed = { small_jobs: small.jobs, large_jobs: large.jobs, large_seed_ms: large.ms };
  const key = env.gwKeys["bench-main"];
  const jobId = await createJob(env.gateway.url, "bench-main", key);
  const probe = await streamOnce(`${env.gateway.url}/api/jobs/${jobId}/llm-call-stream`, teamHeaders(key), gatewayCallBody("bench-stream"));
  await completeJob(env.gateway.url, key, jobId);
  env.streaming =
    probe.status === 200 && probe.firstTokenMs !== null
      ? { available: true }
      : {
          available: false,
          reason: `POST /api/jobs/{id}/llm-call-stream answered HTTP ${probe.status}${probe.status === 200 ? " without content chunks" : ""}`,
        };
  results.streaming_route = env.streaming;
  say(`streaming route: ${env.streaming.available ? "available" : `not available (${env.streaming.reason})`}`);
}

/** One repeat of every scenario. */
async function repeat(env, r, section) {
  const run = { load_at_start: loadavg() };
  say(`repeat ${r + 1}/${CFG.repeats} (load ${run.load_at_start.join(" ")}): latency at 1 connection ...`);
  Object.assign(run, await section("latency", () => measureLatency(env, r)));
  const p50 = (n) => run.latency[n].latency.p50.toFixed(2);
  say(`  p50 mock ${p50("mock")} / bare ${p50("bare")} / gateway ${p50("gateway")} ms; throughput at 10 and 32 connections ...`);
  Object.assign(run, await measureThroughput(env, r, section));
  say("  streaming ...");
  run.streaming = await section("streaming", () => measureStreaming(env, r));
  say("  job cycles and admissions ...");
  run.job_cycle = await section("job_cycle", () =>
    measureCycles(env, "job-cycle", "bench-cycle", 3, CFG.cycleConcurrency, CFG.cycleSeconds),
  );
  run.admissions_http = await section("admissions", () =>
    measureCycles(env, "admissions", "bench-admit", 0, CFG.admissionConcurrency, CFG.cycleSeconds),
  );
  run.admissions_ledger = await section("admissions", () => measureLedgerDirect(env, r));
  say(
    `  cycles ${run.job_cycle.per_s.toFixed(1)}/s, admissions HTTP ${run.admissions_http.per_s.toFixed(1)}/s, RPC ${run.admissions_ledger.rpc_concurrent.jobs_per_s.toFixed(1)}/s; complete growth ...`,
  );
  run.complete_growth = await section("complete_growth", () => measureCompleteGrowth(env));
  say("  reads and completion with history ...");
  run.history = await section("history", () => measureHistory(env, r));
  say("  breakdown ...");
  run.breakdown = await section("breakdown", () => measureBreakdown(env, r));
  run.load_at_end = loadavg();
  return run;
}

async function main() {
  const tmp = mkdtempSync(join(os.tmpdir(), "llm-gateway-bench-"));
  const logDir = join(tmp, "logs");
  mkdirSync(logDir);
  let keepTmp = false;
  const results = {
    command: `npm run bench${argv.length ? ` -- ${argv.join(" ")}` : ""}`,
    date: new Date().toISOString(),
    quick: QUICK,
    config: CFG,
    machine: machine(),
    load: { start: loadavg() },
    sections_seconds: {},
  };
  const section = async (name, fn) => {
    const t0 = Date.now();
    try {
      return await fn();
    } finally {
      results.sections_seconds[name] = ((results.sections_seconds[name] ?? 0) * 1000 + Date.now() - t0) / 1000;
    }
  };
  const stop = async (signal) => {
    process.stdout.write(`\n[bench] ${signal}: stopping everything it started...\n`);
    await stopAll();
    process.exit(130);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);

  try {
    say(`machine: ${results.machine.cores} × ${results.machine.cpu}; load average ${results.load.start.join(" ")}; logs in ${logDir}`);

    // 1. Bundle size (before anything else loads the machine).
    say("bundle: wrangler deploy --dry-run ...");
    results.bundle = await section("bundle", () => bundleSize(tmp, logDir));

    // 2. Processes.
    say("starting the mock LiteLLM, the bare Worker, the gateway and the probe ...");
    const env = await startTargets(tmp, logDir, section);
    say(`up: mock ${env.mock.url}, bare ${env.bare.url}, gateway ${env.gateway.url}, probe ${env.probe.url}`);

    // 3. Tenancy, history, streaming probe.
    await section("setup", () => setup(env, results));

    // 4. Warm-up (discarded): JIT, connections, object and database caches.
    await section("warmup", async () => {
      const targets = loadTargets(env);
      for (const name of ["mock", "bare", "gateway"]) {
        const t = await targets[name].prepare();
        await cannon("warmup", { ...t, connections: 4, duration: QUICK ? 1 : 2 });
        await t.after();
      }
      await measureBreakdown(env, 0, 10); // the probe and the breakdown's client paths
    });

    // 5. Repeats.
    const runs = [];
    for (let r = 0; r < CFG.repeats; r++) {
      runs.push(await repeat(env, r, section));
      if (overBudget()) {
        say("time budget reached: no further repeats");
        break;
      }
    }
    results.runs = runs.length;
    results.per_run = runs;
    results.median = medianTree(runs);

    // 6. The response cache: hits beside misses, with the upstream's request count; its storage against the others.
    say("response cache: hits beside misses, and the storage options ...");
    results.cache = await section("cache", () => measureCache(env));
    for (const [name, u] of Object.entries(results.cache.upstreams)) {
      say(
        `  ${name}: hit p50 ${u.hit.p50.toFixed(2)} ms, miss p50 ${u.miss.p50.toFixed(2)} ms (×${u.hit_over_miss_p50.toFixed(2)}); upstream saw ${u.upstream_requests} of ${u.requests} requests`,
      );
    }

    // 7. Peers (Portkey, LiteLLM) beside the gateway, the bare Worker and the mock.
    if (overBudget()) {
      const reason = "skipped: the time budget was used up";
      results.peers = { portkey: { available: false, reason }, litellm: { available: false, reason } };
      say(`peers: ${reason}`);
    } else {
      say("peers: Portkey and LiteLLM beside the gateway ...");
      results.peers = await section("peers", () => measurePeers(env, logDir, { skipPortkey: SKIP_PORTKEY, skipLiteLLM: SKIP_LITELLM }));
    }

    results.load.end = loadavg();
    results.errors = { count: errors.length, list: errors.slice(0, 50) };
    results.total_seconds = (Date.now() - started) / 1000;
    results.targets = evaluateTargets(results);
    const rounded = roundTree(results);
    mkdirSync(join(REPO_ROOT, "bench", "results"), { recursive: true });
    writeFileSync(OUT_JSON, `${JSON.stringify(rounded, null, 2)}\n`);
    say(`wrote ${OUT_JSON.replace(`${REPO_ROOT}/`, "")}`);
    if (WRITE_MD) {
      const file = writeReport(rounded, OUT_MD);
      say(`wrote ${file.replace(`${REPO_ROOT}/`, "")}`);
    }
    for (const t of results.targets) say(`  target ${t.verdict.toUpperCase().padEnd(12)} ${t.target}: ${t.detail}`);
    say(
      `done in ${results.total_seconds.toFixed(0)} s; errors: ${errors.length}; load average ${results.load.start.join(" ")} → ${results.load.end.join(" ")}`,
    );
  } catch (error) {
    keepTmp = true;
    process.stderr.write(`[bench] failed: ${error.stack ?? error}\n[bench] logs kept in ${logDir}\n`);
    process.exitCode = 1;
  } finally {
    await stopAll();
    if (!keepTmp) rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
