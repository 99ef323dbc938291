#!/usr/bin/env node

// `npm run bench` (node bench/run.mjs): what the gateway costs, measured against a bare
// passthrough Worker in the same run, on this machine, over loopback only.
//
//   node bench/run.mjs [--quick] [--repeats N] [--no-litellm] [--out bench/results/latest.json] [--no-md]
//
// Starts: the mock LiteLLM (mock-litellm/server.mjs, its own process); the bare Worker
// (bench/bare-worker, `wrangler dev`); the gateway (root wrangler.toml, `wrangler dev`, a fresh
// --persist-to state dir with the D1 migrations applied, secrets as --var); and the probe
// (bench/probe-worker: the gateway's code with timing probes, its own state dir). Then it
// measures (see BENCHMARKS.md for what each figure means), repeats the whole set `repeats`
// times with the targets' order rotated, and writes the medians to bench/results/latest.json
// and BENCHMARKS.md. When .venv-litellm/ holds the pinned LiteLLM, it also measures a real
// LiteLLM proxy in front of the mock, side by side with the gateway.
//
// Bounded: about 8-10 minutes in full, about 2 in --quick (for working on the harness).

import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import autocannon from "autocannon";
import { forDuration, json, parseServerTiming, pool, request, takeSseEvents } from "./lib/http.mjs";
import { freePort, REPO_ROOT, runWrangler, startGroup, startWranglerDev, stopAll, tail } from "./lib/proc.mjs";
import { writeReport } from "./lib/report.mjs";
import { diff, mean, median, medianTree, ratio, roundTree, summarize } from "./lib/stats.mjs";

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const option = (name, fallback) => {
  const i = argv.indexOf(name);
  return i !== -1 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const QUICK = flag("--quick");
const CFG = {
  repeats: Number(option("--repeats", QUICK ? 1 : 3)),
  latencySeconds: QUICK ? 1.5 : 6, // c=1 latency, per target per run
  latencySlices: QUICK ? 1 : 3, // ... in this many alternating slices
  loadSeconds: QUICK ? 1.5 : 4, // c=10 and c=32 throughput, per target per run
  loadSlices: QUICK ? 1 : 2,
  streams: QUICK ? 6 : 25, // streams per target
  streamDelayMs: 20,
  streamChunks: 10,
  cycleSeconds: QUICK ? 2 : 5,
  cycleConcurrency: 10,
  admissionConcurrency: 32,
  ledgerDirectJobs: QUICK ? 200 : 800,
  completeSizes: QUICK ? [1, 10, 100] : [1, 100, 1000],
  completeFillConcurrency: 8,
  historyJobs: QUICK ? 1000 : 10_000,
  historySmall: 10,
  profileReps: QUICK ? 20 : 50, // in-object creates/completes per team per run
  profileReadReps: QUICK ? 50 : 200, // in-object reads per team per run
  readSamples: QUICK ? 15 : 50,
  completeWithHistorySamples: QUICK ? 2 : 5,
  breakdownSamples: QUICK ? 40 : 150,
  litellmSeconds: QUICK ? 1.5 : 4,
  litellmRounds: QUICK ? 1 : 3,
  budgetMs: 14 * 60_000, // optional sections are skipped past this
};
const OUT_JSON = option("--out", join(REPO_ROOT, "bench", "results", "latest.json"));
const WRITE_MD = !flag("--no-md");
const SKIP_LITELLM = flag("--no-litellm");

const ADMIN_KEY = `sk-bench-admin-${randomBytes(12).toString("hex")}`;
const KEY_PEPPER = `bench-pepper-${randomBytes(12).toString("hex")}`;
const MOCK_KEY = `sk-bench-mock-${randomBytes(12).toString("hex")}`;
const MESSAGES = [{ role: "user", content: "Summarise what a benchmark of an LLM gateway should measure." }];
const PLAIN_MODEL = "gpt-4o-mini";
const STREAM_MODEL = `gpt-4o-mini+delay=${CFG.streamDelayMs}+chunks=${CFG.streamChunks}`;

const started = Date.now();
const say = (msg) => process.stdout.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${msg}\n`);
const overBudget = () => Date.now() - started > CFG.budgetMs;

/** Every non-2xx answer and transport error seen anywhere, by section. */
const errors = [];
function noteError(section, what, detail) {
  errors.push({ section, what, detail: String(detail).slice(0, 300) });
}

// ---------------------------------------------------------------------------------------------
// Load generation (autocannon, programmatic) with our own float-precision latencies
// ---------------------------------------------------------------------------------------------

/**
 * One autocannon run. autocannon's own histogram is in whole milliseconds, so latencies are
 * also collected from its 'response' events (float ms) and summarised here.
 */
function cannon(section, { url, headers, body, connections, duration, amount }) {
  return new Promise((resolve, reject) => {
    const latencies = [];
    const opts = { url, method: "POST", headers, body, connections, timeout: 30 };
    if (amount !== undefined) opts.amount = amount;
    else opts.duration = duration;
    const instance = autocannon(opts, (err, res) => {
      if (err) return reject(err);
      const ok = res["2xx"];
      const bad = res.non2xx + res.errors + res.timeouts;
      if (bad > 0)
        noteError(
          section,
          `${connections} conn ${new URL(url).pathname}`,
          `non2xx=${res.non2xx} errors=${res.errors} timeouts=${res.timeouts} codes=${JSON.stringify(res.statusCodeStats)}`,
        );
      resolve({
        connections,
        seconds: res.duration,
        requests_ok: ok,
        rps: ok / res.duration,
        non2xx: res.non2xx,
        errors: res.errors,
        timeouts: res.timeouts,
        latency: summarize(latencies),
        latencies,
      });
    });
    instance.on("response", (_client, statusCode, _bytes, ms) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(ms);
    });
  });
}

const withoutSamples = ({ latencies, ...rest }) => rest;

// ---------------------------------------------------------------------------------------------
// Gateway API helpers
// ---------------------------------------------------------------------------------------------

const adminHeaders = { "x-admin-key": ADMIN_KEY };
const teamHeaders = (key) => ({ authorization: `Bearer ${key}` });

async function setupTenancy(base, teams) {
  await json("POST", `${base}/api/organizations/create`, { headers: adminHeaders, body: { organization_id: "bench-org", name: "Bench" } });
  for (const [group, model] of [
    ["bench", PLAIN_MODEL],
    ["bench-stream", STREAM_MODEL],
  ]) {
    await json("POST", `${base}/api/model-groups/create`, {
      headers: adminHeaders,
      body: { group_name: group, display_name: group, models: [{ model_name: model, priority: 0 }] },
    });
  }
  const keys = {};
  for (const teamId of teams) {
    const created = await json("POST", `${base}/api/teams/create`, {
      headers: adminHeaders,
      body: { organization_id: "bench-org", team_id: teamId, model_groups: ["bench", "bench-stream"], credits_allocated: 100_000_000 },
    });
    keys[teamId] = created.json.virtual_key;
  }
  return keys;
}

async function createJob(base, teamId, key, jobType = "bench") {
  const res = await json("POST", `${base}/api/jobs/create`, { headers: teamHeaders(key), body: { team_id: teamId, job_type: jobType } });
  return res.json.job_id;
}

async function completeJob(base, key, jobId, status = "completed") {
  return json("POST", `${base}/api/jobs/${jobId}/complete`, { headers: teamHeaders(key), body: { status } });
}

const gatewayCallBody = (group = "bench") => ({ model_group: group, messages: MESSAGES });
const upstreamBody = (model = PLAIN_MODEL, extra = {}) => ({ model, messages: MESSAGES, ...extra });

async function llmCall(base, key, jobId) {
  return json("POST", `${base}/api/jobs/${jobId}/llm-call`, { headers: teamHeaders(key), body: gatewayCallBody() });
}

// ---------------------------------------------------------------------------------------------
// Streaming client: time of each content-bearing SSE event
// ---------------------------------------------------------------------------------------------

async function streamOnce(url, headers, body) {
  let buffer = "";
  let firstByte = null;
  const contentTimes = [];
  const res = await request("POST", url, {
    headers,
    body,
    onChunk: (chunk, t) => {
      firstByte ??= t;
      buffer += chunk.toString("utf8");
      const [events, rest] = takeSseEvents(buffer);
      buffer = rest;
      for (const event of events) {
        const data = event
          .split("\n")
          .filter((line) => line.startsWith("data:"))
          .map((line) => line.slice(5).trim())
          .join("\n");
        if (!data || data === "[DONE]") continue;
        try {
          const content = JSON.parse(data).choices?.[0]?.delta?.content;
          if (typeof content === "string" && content.length > 0) contentTimes.push(t);
        } catch {
          // not a chunk
        }
      }
    },
  });
  return {
    status: res.status,
    text: res.status === 200 ? "" : res.text.slice(0, 300),
    headersMs: res.tHeaders - res.t0,
    firstByteMs: firstByte === null ? null : firstByte - res.t0,
    firstTokenMs: contentTimes.length ? contentTimes[0] - res.t0 : null,
    offsets: contentTimes.map((t) => t - contentTimes[0]),
    lastTokenMs: contentTimes.length ? contentTimes.at(-1) - res.t0 : null,
    totalMs: res.ms,
    serverTiming: parseServerTiming(res.headers["server-timing"]),
  };
}

/**
 * Per-chunk delay = how much later than the upstream's pacing each chunk arrives after the one
 * before it (gap − pacing), over every chunk after the first. A proxy that holds, batches or
 * slows chunks widens its upper tail; a constant transit time does not show here (it is in the
 * first-token time).
 */
function streamStats(samples, delayMs) {
  const ok = samples.filter((s) => s.status === 200 && s.firstTokenMs !== null);
  const delays = [];
  for (const s of ok) for (let k = 1; k < s.offsets.length; k++) delays.push(s.offsets[k] - s.offsets[k - 1] - delayMs);
  const timing = {};
  for (const s of ok) for (const [name, ms] of s.serverTiming) (timing[name] ??= []).push(ms);
  return {
    streams: ok.length,
    failed: samples.length - ok.length,
    chunks_per_stream: median(ok.map((s) => s.offsets.length)),
    headers: summarize(ok.map((s) => s.headersMs)),
    first_token: summarize(ok.map((s) => s.firstTokenMs)),
    last_token: summarize(ok.map((s) => s.lastTokenMs)),
    chunk_delay: summarize(delays),
    ...(Object.keys(timing).length ? { server_timing_mean: Object.fromEntries(Object.entries(timing).map(([k, v]) => [k, mean(v)])) } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Measurements
// ---------------------------------------------------------------------------------------------

function rotate(list, r) {
  const n = list.length;
  return list.map((_, i) => list[(i + r) % n]);
}

/** The three load targets. The gateway's target opens a job per run and completes it after. */
function loadTargets(env) {
  const jsonHeaders = { "content-type": "application/json" };
  return {
    mock: {
      prepare: async () => ({
        url: `${env.mock.url}/chat/completions`,
        headers: { ...jsonHeaders, authorization: `Bearer ${MOCK_KEY}` },
        body: JSON.stringify(upstreamBody()),
        after: async () => {},
      }),
    },
    bare: {
      prepare: async () => ({
        url: `${env.bare.url}/chat/completions`,
        headers: jsonHeaders,
        body: JSON.stringify(upstreamBody()),
        after: async () => {},
      }),
    },
    gateway: {
      prepare: async () => {
        const key = env.gwKeys["bench-main"];
        const jobId = await createJob(env.gateway.url, "bench-main", key);
        return {
          url: `${env.gateway.url}/api/jobs/${jobId}/llm-call`,
          headers: { ...jsonHeaders, ...teamHeaders(key) },
          body: JSON.stringify(gatewayCallBody()),
          after: async () => {
            await completeJob(env.gateway.url, key, jobId);
          },
        };
      },
    },
  };
}

/**
 * autocannon against the three targets, in `slices` alternating slices per target (so a change
 * in machine load during the run hits all three alike), merged per target.
 */
async function measureLoad(env, r, connections, seconds, section, slices) {
  const targets = loadTargets(env);
  const names = rotate(["mock", "bare", "gateway"], r);
  const prepared = {};
  for (const name of names) prepared[name] = await targets[name].prepare();
  const merged = Object.fromEntries(
    names.map((n) => [n, { connections, seconds: 0, requests_ok: 0, non2xx: 0, errors: 0, timeouts: 0, latencies: [] }]),
  );
  for (let i = 0; i < slices; i++) {
    for (const name of rotate(names, i)) {
      const one = await cannon(section, { ...prepared[name], connections, duration: seconds / slices });
      const m = merged[name];
      m.seconds += one.seconds;
      m.requests_ok += one.requests_ok;
      m.non2xx += one.non2xx;
      m.errors += one.errors;
      m.timeouts += one.timeouts;
      m.latencies.push(...one.latencies);
    }
  }
  for (const name of names) await prepared[name].after();
  return Object.fromEntries(
    names.map((n) => {
      const { latencies, ...m } = merged[n];
      return [n, { ...m, rps: m.requests_ok / m.seconds, latency: summarize(latencies) }];
    }),
  );
}

async function measureStreaming(env, r) {
  const delay = CFG.streamDelayMs;
  const streamBody = upstreamBody(STREAM_MODEL, { stream: true, stream_options: { include_usage: true } });
  const key = env.gwKeys["bench-main"];
  const targets = {
    mock: { url: `${env.mock.url}/chat/completions`, headers: { authorization: `Bearer ${MOCK_KEY}` }, body: streamBody },
    bare: { url: `${env.bare.url}/chat/completions`, headers: {}, body: streamBody },
  };
  let jobId = null;
  let probeJob = null;
  if (env.streaming.available) {
    jobId = await createJob(env.gateway.url, "bench-main", key);
    targets.gateway = {
      url: `${env.gateway.url}/api/jobs/${jobId}/llm-call-stream`,
      headers: teamHeaders(key),
      body: gatewayCallBody("bench-stream"),
    };
    // The probe (same code, with Server-Timing) says what happens before the first byte.
    probeJob = await createJob(env.probe.url, "probe-main", env.probeKeys["probe-main"]);
    targets.probe = {
      url: `${env.probe.url}/api/jobs/${probeJob}/llm-call-stream`,
      headers: teamHeaders(env.probeKeys["probe-main"]),
      body: gatewayCallBody("bench-stream"),
    };
  }
  const samples = Object.fromEntries(Object.keys(targets).map((k) => [k, []]));
  // Interleave the targets stream by stream, so drift in machine load hits them alike.
  for (let i = 0; i < CFG.streams; i++) {
    for (const name of rotate(Object.keys(targets), r + i)) {
      const t = targets[name];
      try {
        const s = await streamOnce(t.url, t.headers, t.body);
        if (s.status !== 200) noteError("streaming", name, `HTTP ${s.status} ${s.text}`);
        samples[name].push(s);
      } catch (error) {
        noteError("streaming", name, error.message);
      }
    }
  }
  if (jobId) await completeJob(env.gateway.url, key, jobId);
  if (probeJob) await completeJob(env.probe.url, env.probeKeys["probe-main"], probeJob);
  const stats = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, streamStats(v, delay)]));
  const added = (a, b) => ({
    headers_p50: diff(stats[a]?.headers.p50, stats[b].headers.p50),
    first_token_p50: diff(stats[a]?.first_token.p50, stats[b].first_token.p50),
    first_token_p95: diff(stats[a]?.first_token.p95, stats[b].first_token.p95),
    last_token_p50: diff(stats[a]?.last_token.p50, stats[b].last_token.p50),
    chunk_delay_p50: diff(stats[a]?.chunk_delay.p50, stats[b].chunk_delay.p50),
    chunk_delay_p99: diff(stats[a]?.chunk_delay.p99, stats[b].chunk_delay.p99),
  });
  return {
    ...stats,
    bare_over_mock: added("bare", "mock"),
    ...(stats.gateway ? { gateway_over_bare: added("gateway", "bare") } : {}),
  };
}

/** Concurrent job cycles (create, `calls` llm-calls, complete) against one team, for a while. */
async function measureCycles(env, section, teamId, calls, concurrency, seconds) {
  const base = env.gateway.url;
  const key = env.gwKeys[teamId];
  let cycles = 0;
  let failed = 0;
  const latencies = [];
  const elapsed = await forDuration(seconds * 1000, concurrency, async () => {
    const t0 = performance.now();
    try {
      const jobId = await createJob(base, teamId, key);
      for (let i = 0; i < calls; i++) await llmCall(base, key, jobId);
      await completeJob(base, key, jobId);
      cycles++;
      latencies.push(performance.now() - t0);
    } catch (error) {
      failed++;
      noteError(section, `${calls}-call cycle`, error.message);
    }
  });
  return {
    concurrency,
    cycles,
    failed,
    per_s: (cycles / elapsed) * 1000,
    requests_per_s: ((cycles * (calls + 2)) / elapsed) * 1000,
    cycle_latency: summarize(latencies),
  };
}

/** Job create + complete driven straight at one TeamLedger over RPC from inside the probe. */
async function measureLedgerDirect(env, _r) {
  const drive = async (spec) => (await json("POST", `${env.probe.url}/__bench/ledger`, { body: spec })).json;
  const rpc = await drive({ team_id: "probe-admit", jobs: CFG.ledgerDirectJobs, concurrency: CFG.admissionConcurrency });
  if (rpc.failures) noteError("ledger-direct", "cycle", `${rpc.failures} refusals, first: ${rpc.first_failure}`);
  const rpcSerial = await drive({ team_id: "probe-admit", jobs: Math.round(CFG.ledgerDirectJobs / 4), concurrency: 1 });
  const reads = await drive({ team_id: "probe-admit", jobs: CFG.ledgerDirectJobs * 2, concurrency: CFG.admissionConcurrency, op: "read" });
  // In-object cost: the same methods called inside the object, no RPC and one commit per 500 jobs.
  const inObject = (
    await json("POST", `${env.probe.url}/__bench/seed-history`, { body: { team_id: "probe-inobject", jobs: 1000, calls_per_job: 0 } })
  ).json;
  return {
    rpc_concurrent: { jobs_per_s: rpc.jobs_per_s, concurrency: rpc.concurrency, rpc_median_ms: rpc.rpc_median_ms },
    rpc_serial: { jobs_per_s: rpcSerial.jobs_per_s, rpc_median_ms: rpcSerial.rpc_median_ms },
    read_rpc_per_s: reads.jobs_per_s,
    in_object: { jobs_per_s: (inObject.jobs / inObject.ms) * 1000, ms_per_job: inObject.ms / inObject.jobs },
  };
}

/** Completing a job with 1, 100 and 1,000 calls in it (each job filled through llm-call). */
async function measureCompleteGrowth(env) {
  const base = env.gateway.url;
  const key = env.gwKeys["bench-complete"];
  const out = {};
  for (const n of CFG.completeSizes) {
    const jobId = await createJob(base, "bench-complete", key);
    await pool(n, CFG.completeFillConcurrency, async () => {
      try {
        await llmCall(base, key, jobId);
      } catch (error) {
        noteError("complete-growth", `fill ${n}`, error.message);
      }
    });
    const res = await request("POST", `${base}/api/jobs/${jobId}/complete`, { headers: teamHeaders(key), body: { status: "completed" } });
    if (res.status !== 200) noteError("complete-growth", `complete ${n}`, `HTTP ${res.status}`);
    out[`calls_${n}`] = { ms: res.ms, response_bytes: Buffer.byteLength(res.text) };
  }
  const sizes = CFG.completeSizes;
  const first = out[`calls_${sizes[0]}`].ms;
  const last = out[`calls_${sizes.at(-1)}`].ms;
  out.ms_per_extra_call = (last - first) / (sizes.at(-1) - sizes[0]);
  return out;
}

function doMs(timings) {
  return timings.filter(([name]) => name.startsWith("do.")).reduce((a, [, ms]) => a + ms, 0);
}

/** Reads (balance, usage, transactions, jobs) and a 1-call job's completion, small vs large history. */
async function measureHistory(env, r) {
  const base = env.probe.url;
  const teams = { small: `probe-hist-small-${r}`, large: "probe-hist-large" };
  const period = new Date().toISOString().slice(0, 7);
  const reads = {
    balance: (t) => `/api/credits/teams/${t}/balance`,
    usage: (t) => `/api/teams/${t}/usage?period=${period}`,
    // Pages of 5, so the 10-job team fills a page too and both sides return as many rows.
    transactions: (t) => `/api/credits/teams/${t}/transactions?limit=5`,
    jobs: (t) => `/api/teams/${t}/jobs?limit=5`,
  };
  const out = {};
  for (const [read, path] of Object.entries(reads)) {
    const e2e = { small: [], large: [] };
    const dob = { small: [], large: [] };
    for (let i = 0; i < CFG.readSamples; i++) {
      for (const size of rotate(["small", "large"], r + i)) {
        const teamId = teams[size];
        const res = await request("GET", `${base}${path(teamId)}`, { headers: teamHeaders(env.probeKeys[teamId]) });
        if (res.status !== 200) {
          noteError("history", `${read} ${size}`, `HTTP ${res.status} ${res.text.slice(0, 200)}`);
          continue;
        }
        e2e[size].push(res.ms);
        dob[size].push(doMs(parseServerTiming(res.headers["server-timing"])));
      }
    }
    out[read] = {
      small: { e2e: summarize(e2e.small), do_mean: mean(dob.small) },
      large: { e2e: summarize(e2e.large), do_mean: mean(dob.large) },
      large_over_small_p50: ratio(summarize(e2e.large).p50, summarize(e2e.small).p50),
    };
  }
  // Completing a fresh 1-call job in each team.
  const complete = { small: [], large: [] };
  const completeDo = { small: [], large: [] };
  for (let i = 0; i < CFG.completeWithHistorySamples; i++) {
    for (const size of rotate(["small", "large"], r + i)) {
      const teamId = teams[size];
      const key = env.probeKeys[teamId];
      try {
        const jobId = await createJob(base, teamId, key, "bench-history");
        await llmCall(base, key, jobId);
        const res = await request("POST", `${base}/api/jobs/${jobId}/complete`, {
          headers: teamHeaders(key),
          body: { status: "completed" },
        });
        if (res.status !== 200) throw new Error(`complete HTTP ${res.status}`);
        complete[size].push(res.ms);
        completeDo[size].push(doMs(parseServerTiming(res.headers["server-timing"])));
      } catch (error) {
        noteError("history", `complete ${size}`, error.message);
      }
    }
  }
  out.complete_1_call = {
    small: { e2e: summarize(complete.small), do_mean: mean(completeDo.small) },
    large: { e2e: summarize(complete.large), do_mean: mean(completeDo.large) },
    large_over_small_p50: ratio(summarize(complete.large).p50, summarize(complete.small).p50),
  };
  // In-object cost of the same operations (no RPC, no HTTP): where history could cost, precisely.
  const profile = async (teamId) =>
    (
      await json(
        "POST",
        `${base}/__bench/profile`,
        { body: { team_id: teamId, reps: CFG.profileReps, read_reps: CFG.profileReadReps, period } },
        "profile",
      )
    ).json.value;
  const inSmall = await profile(teams.small);
  const inLarge = await profile(teams.large);
  for (const [op, key] of [
    ["balance", "balance"],
    ["usage", "usage"],
    ["transactions", "transactions"],
    ["jobs", "jobs"],
    ["complete", "complete_1_call"],
  ]) {
    out[key].small.in_object_ms = inSmall[op];
    out[key].large.in_object_ms = inLarge[op];
  }
  out.create_in_object = { small: inSmall.create, large: inLarge.create };
  out.call_in_object = { small: inSmall.call, large: inLarge.call };
  return out;
}

/**
 * Where one call's time goes. The same sequential client hits, in turn, the mock, the bare
 * Worker, the gateway and the probe (gateway code + Server-Timing), so the four are measured
 * under the same conditions; then the probe's single-purpose routes (no I/O, one D1 query,
 * one DO read).
 */
async function measureBreakdown(env, r, samples = CFG.breakdownSamples) {
  const jsonHeaders = { "content-type": "application/json" };
  const gwKey = env.gwKeys["bench-main"];
  const prKey = env.probeKeys["probe-main"];
  const gwJob = await createJob(env.gateway.url, "bench-main", gwKey);
  const prJob = await createJob(env.probe.url, "probe-main", prKey);
  const calls = {
    mock: () =>
      request("POST", `${env.mock.url}/chat/completions`, {
        headers: { ...jsonHeaders, authorization: `Bearer ${MOCK_KEY}` },
        body: upstreamBody(),
      }),
    bare: () => request("POST", `${env.bare.url}/chat/completions`, { headers: jsonHeaders, body: upstreamBody() }),
    gateway: () =>
      request("POST", `${env.gateway.url}/api/jobs/${gwJob}/llm-call`, { headers: teamHeaders(gwKey), body: gatewayCallBody() }),
    probe: () => request("POST", `${env.probe.url}/api/jobs/${prJob}/llm-call`, { headers: teamHeaders(prKey), body: gatewayCallBody() }),
    probe_health: () => request("GET", `${env.probe.url}/health`),
    probe_d1_read: () => request("GET", `${env.probe.url}/api/pricing`, { headers: adminHeaders }),
    probe_do_read: () => request("GET", `${env.probe.url}/api/credits/teams/probe-main/balance`, { headers: adminHeaders }),
    probe_d1_do_read: () => request("GET", `${env.probe.url}/api/credits/teams/probe-main/balance`, { headers: teamHeaders(prKey) }),
  };
  const e2e = Object.fromEntries(Object.keys(calls).map((k) => [k, []]));
  const timing = Object.fromEntries(Object.keys(calls).map((k) => [k, []]));
  for (let i = 0; i < samples; i++) {
    for (const name of rotate(Object.keys(calls), r + i)) {
      const res = await calls[name]();
      if (res.status !== 200) {
        noteError("breakdown", name, `HTTP ${res.status} ${res.text.slice(0, 200)}`);
        continue;
      }
      e2e[name].push(res.ms);
      if (res.headers["server-timing"]) timing[name].push(parseServerTiming(res.headers["server-timing"]));
    }
  }
  await completeJob(env.gateway.url, gwKey, gwJob);
  await completeJob(env.probe.url, prKey, prJob);

  /** Mean per component over the requests (a component missing from a request counts 0). */
  const components = (list) => {
    const names = new Set(list.flat().map(([n]) => n));
    const out = {};
    for (const n of names) out[n] = mean(list.map((t) => t.filter(([k]) => k === n).reduce((a, [, ms]) => a + ms, 0)));
    return out;
  };
  const result = {
    e2e: Object.fromEntries(Object.entries(e2e).map(([k, v]) => [k, summarize(v)])),
    server_timing_mean: Object.fromEntries(
      Object.entries(timing)
        .filter(([, v]) => v.length)
        .map(([k, v]) => [k, components(v)]),
    ),
  };
  // The call, component by component (means; the runtime's clock ticks in whole ms, so only
  // means over many requests are meaningful).
  const c = result.server_timing_mean.probe ?? {};
  const sum = (prefix) =>
    Object.entries(c)
      .filter(([k]) => k.startsWith(prefix))
      .reduce((a, [, v]) => a + v, 0);
  const d1 = sum("d1.");
  const beginCall = c["do.beginCall"] ?? 0;
  const recordCall = c["do.recordCall"] ?? 0;
  const upstream = c.upstream ?? 0;
  const upstreamBodyMs = c["upstream.body"] ?? 0;
  const logLines = c.log ?? 0;
  const crypto = sum("crypto.");
  const app = c.app ?? 0;
  result.call = {
    e2e_mean: result.e2e.probe.mean,
    outside_isolate: result.e2e.probe.mean - app, // client + wrangler dev proxy + HTTP
    in_isolate: app,
    key_and_group_lookup_d1: d1,
    d1_queries: Object.fromEntries(Object.entries(c).filter(([k]) => k.startsWith("d1."))),
    admission_do: beginCall,
    upstream,
    upstream_body: upstreamBodyMs,
    settlement_do: recordCall,
    crypto,
    log: logLines,
    app_js: app - d1 - beginCall - recordCall - upstream - upstreamBodyMs - crypto - logLines, // Hono routing, zod, JSON
  };
  const bareMean = result.e2e.bare.mean;
  result.call.gateway_added_mean = result.e2e.gateway.mean - bareMean;
  result.call.probe_added_mean = result.e2e.probe.mean - bareMean;
  result.call.bare_added_over_mock_mean = bareMean - result.e2e.mock.mean;
  // The same I/O alone and right after a Durable Object RPC (inside the probe's isolate).
  result.after_do = (
    await json(
      "POST",
      `${env.probe.url}/__bench/after-do`,
      { body: { n: Math.max(10, Math.round(samples / 3)), team_id: "probe-main" } },
      "after-do",
    )
  ).json;
  result.after_do.penalty_timer = result.after_do.timer_0_after_do - result.after_do.timer_0_alone;
  result.after_do.penalty_fetch = result.after_do.fetch_after_do - result.after_do.fetch_alone;
  // The current admission RPC against the proposed read-only one, same object, interleaved.
  result.admission_variants = (
    await json(
      "POST",
      `${env.probe.url}/__bench/admit`,
      { body: { n: Math.max(20, Math.round(samples / 2)), team_id: "probe-admit" } },
      "admit",
    )
  ).json;
  result.route_floor = {
    health_e2e_mean: result.e2e.probe_health.mean,
    one_d1_query_e2e_mean_over_health: result.e2e.probe_d1_read.mean - result.e2e.probe_health.mean,
    one_do_read_e2e_mean_over_health: result.e2e.probe_do_read.mean - result.e2e.probe_health.mean,
    key_lookup_plus_do_read_e2e_mean_over_health: result.e2e.probe_d1_do_read.mean - result.e2e.probe_health.mean,
  };
  return result;
}

// ---------------------------------------------------------------------------------------------
// LiteLLM (when the venv of scripts/litellm-env.mjs is present and current)
// ---------------------------------------------------------------------------------------------

async function litellmModule() {
  const modulePath = join(REPO_ROOT, "scripts", "litellm-env.mjs");
  const venv = join(REPO_ROOT, ".venv-litellm");
  if (!existsSync(modulePath)) return { available: false, reason: "scripts/litellm-env.mjs is not in the repository" };
  if (!existsSync(join(venv, "bin", "litellm")))
    return {
      available: false,
      reason: ".venv-litellm/ is not installed (node -e \"import('./scripts/litellm-env.mjs').then(m => m.ensureLiteLLMVenv())\")",
    };
  const mod = await import(pathToFileURL(modulePath).href);
  if (typeof mod.startLiteLLM !== "function" || typeof mod.ensureLiteLLMVenv !== "function") {
    return { available: false, reason: "scripts/litellm-env.mjs does not export startLiteLLM and ensureLiteLLMVenv" };
  }
  // Never let the bench trigger a (networked, minutes-long) venv rebuild: only use a current venv.
  const reqFile = join(REPO_ROOT, "litellm", "requirements.txt");
  const stampFile = join(venv, ".requirements.sha256");
  const want = createHash("sha256").update(readFileSync(reqFile)).digest("hex");
  const have = existsSync(stampFile) ? readFileSync(stampFile, "utf8").trim() : null;
  if (want !== have)
    return { available: false, reason: ".venv-litellm/ is stale (litellm/requirements.txt changed); rebuild it with ensureLiteLLMVenv()" };
  return { available: true, mod };
}

async function measureLiteLLM(env, logDir) {
  const found = await litellmModule();
  if (!found.available) return { available: false, reason: found.reason };
  const upstream = await startMock(logDir, "mock-upstream", ["--mode", "upstream"]);
  let proxy;
  try {
    proxy = await found.mod.startLiteLLM({ upstreamUrl: upstream.url, port: 0, quiet: true });
  } catch (error) {
    await upstream.proc.stop();
    return { available: false, reason: `LiteLLM did not start: ${error.message.split("\n")[0]}` };
  }
  try {
    const jsonHeaders = { "content-type": "application/json" };
    const _key = env.gwKeys["bench-main"];
    const targets = {
      upstream_direct: async () => ({
        url: `${upstream.url}/v1/chat/completions`,
        headers: { ...jsonHeaders, authorization: "Bearer fake" },
        body: JSON.stringify(upstreamBody()),
        after: async () => {},
      }),
      litellm: async () => ({
        url: `${proxy.url}/chat/completions`,
        headers: { ...jsonHeaders, authorization: `Bearer ${proxy.masterKey}` },
        body: JSON.stringify(upstreamBody()),
        after: async () => {},
      }),
      mock_direct: async () => ({
        url: `${env.mock.url}/chat/completions`,
        headers: { ...jsonHeaders, authorization: `Bearer ${MOCK_KEY}` },
        body: JSON.stringify(upstreamBody()),
        after: async () => {},
      }),
      gateway: loadTargets(env).gateway.prepare,
    };
    // Warm LiteLLM up (its first requests import and cache a lot).
    const warm = await targets.litellm();
    await cannon("litellm-warmup", { ...warm, connections: 1, amount: 50 });
    const rounds = [];
    for (let r = 0; r < CFG.litellmRounds; r++) {
      if (overBudget()) break;
      const round = { c1: {}, c10: {} };
      for (const name of rotate(Object.keys(targets), r)) {
        const t = await targets[name]();
        round.c1[name] = withoutSamples(await cannon("litellm", { ...t, connections: 1, duration: CFG.litellmSeconds }));
        await t.after();
      }
      for (const name of rotate(["litellm", "gateway"], r)) {
        const t = await targets[name]();
        round.c10[name] = withoutSamples(await cannon("litellm", { ...t, connections: 10, duration: CFG.litellmSeconds }));
        await t.after();
      }
      const c1 = round.c1;
      round.added = {
        litellm_p50: diff(c1.litellm.latency.p50, c1.upstream_direct.latency.p50),
        litellm_p99: diff(c1.litellm.latency.p99, c1.upstream_direct.latency.p99),
        gateway_p50: diff(c1.gateway.latency.p50, c1.mock_direct.latency.p50),
        gateway_p99: diff(c1.gateway.latency.p99, c1.mock_direct.latency.p99),
      };
      rounds.push(round);
    }
    return {
      available: true,
      version: proxy.version ?? null,
      startup_seconds: proxy.startupSeconds ?? null,
      rounds: rounds.length,
      median: medianTree(rounds),
    };
  } finally {
    await proxy.stop().catch(() => {});
    await upstream.proc.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Setup
// ---------------------------------------------------------------------------------------------

function rootWranglerSettings() {
  const toml = readFileSync(join(REPO_ROOT, "wrangler.toml"), "utf8");
  const date = toml.match(/^compatibility_date\s*=\s*"([^"]+)"/m)?.[1];
  const flags = [...(toml.match(/^compatibility_flags\s*=\s*\[([^\]]*)\]/m)?.[1] ?? "").matchAll(/"([^"]+)"/g)].map((m) => m[1]);
  if (!date) throw new Error("no compatibility_date in wrangler.toml");
  return { date, flags };
}

async function startMock(logDir, name, extra = []) {
  const proc = startGroup(process.execPath, [join(REPO_ROOT, "mock-litellm", "server.mjs"), "--port", "0", "--quiet", ...extra], {
    logFile: join(logDir, `${name}.log`),
  });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start`)), 15_000);
    proc.onLine((line) => {
      const m = line.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.exited.then((e) => reject(new Error(`${name} exited: ${JSON.stringify(e)}`)));
  });
  return { proc, url };
}

async function waitReady(name, proc, probe, timeoutMs = 180_000) {
  const deadline = Date.now() + timeoutMs;
  let exited = null;
  proc.exited.then((e) => {
    exited = e;
  });
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${name} exited during startup (${JSON.stringify(exited)}):\n${tail(proc.logFile)}`);
    try {
      if (await probe()) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${name} was not ready within ${timeoutMs / 1000} s:\n${tail(proc.logFile)}`);
}

async function bundleSize(tmp, logDir) {
  const outdir = join(tmp, "bundle");
  const run = await runWrangler(["deploy", "--dry-run", "--outdir", outdir], { logFile: join(logDir, "deploy-dry-run.log") });
  if (run.code !== 0) return { ok: false, reason: `wrangler deploy --dry-run exited ${run.code}: ${run.output.slice(-500)}` };
  const m = run.output.match(/Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/);
  let raw = 0;
  let gz = 0;
  const files = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir)) {
      const p = join(dir, entry);
      if (statSync(p).isDirectory()) walk(p);
      else if (!entry.endsWith(".map") && !entry.endsWith("README.md")) {
        const buf = readFileSync(p);
        raw += buf.length;
        const g = gzipSync(buf).length;
        gz += g;
        files.push({ file: p.slice(outdir.length + 1), bytes: buf.length, gzip_bytes: g });
      }
    }
  };
  walk(outdir);
  return {
    ok: true,
    wrangler_total_kib: m ? Number(m[1]) : null,
    wrangler_gzip_kib: m ? Number(m[2]) : null,
    raw_bytes: raw,
    gzip_bytes: gz,
    gzip_kib: gz / 1024,
    files,
  };
}

function machine() {
  const cpus = os.cpus();
  const version = (pkg) => {
    try {
      return JSON.parse(readFileSync(join(REPO_ROOT, "node_modules", pkg, "package.json"), "utf8")).version;
    } catch {
      return null;
    }
  };
  let git = null;
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: REPO_ROOT }).toString().trim();
    const dirty = execFileSync(
      "git",
      ["status", "--porcelain", "--", "src", "wrangler.toml", "migrations", "mock-litellm", "package.json"],
      { cwd: REPO_ROOT },
    )
      .toString()
      .trim();
    git = { head, src_dirty: dirty.length > 0, dirty_files: dirty ? dirty.split("\n").map((l) => l.trim()) : [] };
  } catch {
    // not a git checkout
  }
  return {
    cpu: cpus[0]?.model ?? "unknown",
    cores: cpus.length,
    memory_gib: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    wrangler: version("wrangler"),
    workerd: version("@cloudflare/workerd-linux-64") ?? version("workerd"),
    autocannon: version("autocannon"),
    git,
  };
}

const loadavg = () => os.loadavg().map((x) => Number(x.toFixed(2)));

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

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
    const compat = rootWranglerSettings();

    // 1. Bundle size (before anything else loads the machine).
    say("bundle: wrangler deploy --dry-run ...");
    results.bundle = await section("bundle", () => bundleSize(tmp, logDir));

    // 2. Processes.
    say("starting the mock LiteLLM, the bare Worker, the gateway and the probe ...");
    const mock = await startMock(logDir, "mock", ["--master-key", MOCK_KEY]);
    const gwState = join(tmp, "gateway-state");
    const probeState = join(tmp, "probe-state");
    const bareState = join(tmp, "bare-state");
    const probeConfig = join(REPO_ROOT, "bench", "probe-worker", "wrangler.toml");
    const bareConfig = join(REPO_ROOT, "bench", "bare-worker", "wrangler.toml");
    await section("startup", async () => {
      const migrations = await Promise.all([
        runWrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", gwState], {
          logFile: join(logDir, "migrate-gateway.log"),
        }),
        runWrangler(["d1", "migrations", "apply", "DB", "--local", "-c", probeConfig, "--persist-to", probeState], {
          logFile: join(logDir, "migrate-probe.log"),
        }),
      ]);
      for (const m of migrations) if (m.code !== 0) throw new Error(`d1 migrations apply failed:\n${m.output.slice(-1500)}`);
    });
    const [barePort, gwPort, probePort, i1, i2, i3] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const compatArgs = ["--compatibility-date", compat.date, ...compat.flags.flatMap((f) => ["--compatibility-flags", f])];
    const gatewayVars = [
      "--var",
      `LITELLM_BASE_URL:${mock.url}`,
      "--var",
      `LITELLM_API_KEY:${MOCK_KEY}`,
      "--var",
      `ADMIN_API_KEY:${ADMIN_KEY}`,
      "--var",
      `KEY_PEPPER:${KEY_PEPPER}`,
    ];
    const common = (port, inspector) => [
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspector),
      "--show-interactive-dev-session=false",
    ];
    const bareProc = startWranglerDev(
      [
        "-c",
        bareConfig,
        ...common(barePort, i1),
        "--persist-to",
        bareState,
        ...compatArgs,
        "--var",
        `UPSTREAM_URL:${mock.url}`,
        "--var",
        `UPSTREAM_KEY:${MOCK_KEY}`,
      ],
      { logFile: join(logDir, "bare.log") },
    );
    const gwProc = startWranglerDev([...common(gwPort, i2), "--persist-to", gwState, ...gatewayVars], {
      logFile: join(logDir, "gateway.log"),
    });
    const probeProc = startWranglerDev(
      ["-c", probeConfig, ...common(probePort, i3), "--persist-to", probeState, ...compatArgs, ...gatewayVars],
      { logFile: join(logDir, "probe.log") },
    );
    const env = {
      mock,
      bare: { url: `http://127.0.0.1:${barePort}`, proc: bareProc },
      gateway: { url: `http://127.0.0.1:${gwPort}`, proc: gwProc },
      probe: { url: `http://127.0.0.1:${probePort}`, proc: probeProc },
    };
    await section("startup", () =>
      Promise.all([
        waitReady(
          "bare worker",
          bareProc,
          async () => (await request("POST", `${env.bare.url}/chat/completions`, { body: upstreamBody() })).status === 200,
        ),
        waitReady("gateway", gwProc, async () => (await request("GET", `${env.gateway.url}/health`)).status === 200),
        waitReady("probe", probeProc, async () => (await request("GET", `${env.probe.url}/health`)).status === 200),
      ]),
    );
    say(`up: mock ${mock.url}, bare ${env.bare.url}, gateway ${env.gateway.url}, probe ${env.probe.url}`);

    // 3. Tenancy, history, streaming probe.
    await section("setup", async () => {
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
      // Is the streaming route there?
      const key = env.gwKeys["bench-main"];
      const jobId = await createJob(env.gateway.url, "bench-main", key);
      const probe = await streamOnce(
        `${env.gateway.url}/api/jobs/${jobId}/llm-call-stream`,
        teamHeaders(key),
        gatewayCallBody("bench-stream"),
      );
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
    });

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
      const run = { load_at_start: loadavg() };
      say(`repeat ${r + 1}/${CFG.repeats} (load ${run.load_at_start.join(" ")}): latency at 1 connection ...`);
      run.latency = await section("latency", () => measureLoad(env, r, 1, CFG.latencySeconds, "latency", CFG.latencySlices));
      run.latency_ratio = {
        p50: ratio(run.latency.gateway.latency.p50, run.latency.bare.latency.p50),
        p95: ratio(run.latency.gateway.latency.p95, run.latency.bare.latency.p95),
        p99: ratio(run.latency.gateway.latency.p99, run.latency.bare.latency.p99),
      };
      run.latency_added = {
        gateway_over_bare_p50: diff(run.latency.gateway.latency.p50, run.latency.bare.latency.p50),
        gateway_over_bare_p99: diff(run.latency.gateway.latency.p99, run.latency.bare.latency.p99),
        bare_over_mock_p50: diff(run.latency.bare.latency.p50, run.latency.mock.latency.p50),
      };
      say(
        `  p50 mock ${run.latency.mock.latency.p50.toFixed(2)} / bare ${run.latency.bare.latency.p50.toFixed(2)} / gateway ${run.latency.gateway.latency.p50.toFixed(2)} ms; throughput at 10 and 32 connections ...`,
      );
      run.throughput = {};
      for (const c of [10, 32])
        run.throughput[`c${c}`] = await section("throughput", () =>
          measureLoad(env, r, c, CFG.loadSeconds, `throughput c=${c}`, CFG.loadSlices),
        );
      run.throughput_ratio = Object.fromEntries(
        Object.entries(run.throughput).map(([k, v]) => [
          k,
          {
            rps_gateway_over_bare: ratio(v.gateway.rps, v.bare.rps),
            p50_gateway_over_bare: ratio(v.gateway.latency.p50, v.bare.latency.p50),
          },
        ]),
      );
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
      runs.push(run);
      if (overBudget()) {
        say("time budget reached: no further repeats");
        break;
      }
    }
    results.runs = runs.length;
    results.per_run = runs;
    results.median = medianTree(runs);

    // 6. LiteLLM.
    if (SKIP_LITELLM) results.litellm = { available: false, reason: "skipped (--no-litellm)" };
    else if (overBudget()) results.litellm = { available: false, reason: "skipped: the time budget was used up" };
    else {
      say("LiteLLM comparison ...");
      results.litellm = await section("litellm", () => measureLiteLLM(env, logDir));
      if (!results.litellm.available) say(`LiteLLM: not available (${results.litellm.reason})`);
    }

    results.load.end = loadavg();
    results.errors = { count: errors.length, list: errors.slice(0, 50) };
    results.total_seconds = (Date.now() - started) / 1000;
    const rounded = roundTree(results);
    mkdirSync(join(REPO_ROOT, "bench", "results"), { recursive: true });
    writeFileSync(OUT_JSON, `${JSON.stringify(rounded, null, 2)}\n`);
    say(`wrote ${OUT_JSON.replace(`${REPO_ROOT}/`, "")}`);
    if (WRITE_MD) {
      const file = writeReport(rounded, join(REPO_ROOT, "BENCHMARKS.md"));
      say(`wrote ${file.replace(`${REPO_ROOT}/`, "")}`);
    }
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
