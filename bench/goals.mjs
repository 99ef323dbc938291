// The targets, each judged plainly "met", "not met" or "not measured" from a results object
// (bench/results/latest.json). The same list goes into latest.json (`targets`) and the report.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./lib/proc.mjs";

export const LIMITS = {
  p50Ratio: 1.5, // llm-call p50 ≤ 1.5 × the bare Worker's
  p99Ratio: 2, // llm-call p99 ≤ 2 × the bare Worker's
  streamTtftAddedMs: 1, // streaming: first token ≤ 1 ms later than through the bare Worker
  d1StatementsPerWarmCall: 0,
  distantAddedMs: 2, // a distant object: first token and llm-call within 2 ms of the bare Worker's
};

export function readBaseline(file = join(REPO_ROOT, "bench", "baseline.json")) {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return null;
  }
}

const isNum = (v) => typeof v === "number" && Number.isFinite(v);
const get = (obj, path) => path.split(".").reduce((o, k) => (o === null || o === undefined ? undefined : o[k]), obj);
const judge = (value, ok) => (isNum(value) ? (ok(value) ? "met" : "not met") : "not measured");
const f = (v, d = 2) => (isNum(v) ? v.toFixed(d) : "—");
const signed = (v, d = 2) => (isNum(v) ? `${v >= 0 ? "+" : ""}${v.toFixed(d)}` : "—");

/** [{ id, target, value, limit, verdict, detail }] */
export function evaluateTargets(res, baseline = readBaseline()) {
  const m = res.median ?? {};
  const out = [];
  const add = (id, target, value, limit, verdict, detail) => out.push({ id, target, value: value ?? null, limit, verdict, detail });

  const r50 = get(m, "latency_ratio.p50");
  const r99 = get(m, "latency_ratio.p99");
  const lat = (n, q) => get(m, `latency.${n}.latency.${q}`);
  add(
    "llm_call_p50",
    `llm-call p50 ≤ ${LIMITS.p50Ratio}× the bare Worker's`,
    r50,
    LIMITS.p50Ratio,
    judge(r50, (v) => v <= LIMITS.p50Ratio),
    `${f(r50)}× (gateway ${f(lat("gateway", "p50"))} ms, bare Worker ${f(lat("bare", "p50"))} ms, c=1)`,
  );
  add(
    "llm_call_p99",
    `llm-call p99 ≤ ${LIMITS.p99Ratio}× the bare Worker's`,
    r99,
    LIMITS.p99Ratio,
    judge(r99, (v) => v <= LIMITS.p99Ratio),
    `${f(r99)}× (gateway ${f(lat("gateway", "p99"))} ms, bare Worker ${f(lat("bare", "p99"))} ms, c=1)`,
  );

  const ttft = res.streaming_route?.available ? get(m, "streaming.gateway_over_bare.first_token_p50") : undefined;
  add(
    "stream_ttft_added",
    `streaming: added time to first token ≤ ${LIMITS.streamTtftAddedMs} ms over the bare Worker`,
    ttft,
    LIMITS.streamTtftAddedMs,
    judge(ttft, (v) => v <= LIMITS.streamTtftAddedMs),
    res.streaming_route?.available
      ? `${f(ttft)} ms (first token p50: gateway ${f(get(m, "streaming.gateway.first_token.p50"))} ms, bare Worker ${f(get(m, "streaming.bare.first_token.p50"))} ms)`
      : `streaming route not available: ${res.streaming_route?.reason ?? "not probed"}`,
  );

  // A distant team object (scenarios/distant.mjs): the probe, its object calls delayed, beside the bare Worker.
  const far = get(m, "distant");
  for (const [id, what, key] of [
    ["distant_call_p50", "llm-call p50", "call_p50_speculative"],
    ["distant_first_token_p50", "streaming first token p50", "first_token_p50_speculative"],
  ]) {
    const added = far?.added?.[key];
    const without = far?.added?.[key.replace("speculative", "admitted_first")];
    add(
      id,
      `a distant object (+${far?.object_delay_ms ?? "?"} ms a call, upstream first byte after 200 ms): ${what} within ${LIMITS.distantAddedMs} ms of the bare Worker's`,
      added,
      LIMITS.distantAddedMs,
      judge(added, (v) => v <= LIMITS.distantAddedMs),
      far ? `${signed(added)} ms over the bare Worker (admitted first instead: ${signed(without)} ms)` : "not measured",
    );
  }

  // Counted by the probe (bench/probe-worker: a Proxy on env.DB), per warm llm-call; the worst run counts.
  const counts = (res.per_run ?? []).map((r) => r.breakdown?.call?.d1_statements).filter(Boolean);
  const worst = counts.length ? Math.max(...counts.map((c) => c.max)) : null;
  const meanCount = get(m, "breakdown.call.d1_statements.mean");
  add(
    "d1_statements_per_warm_call",
    "zero D1 statements per warm llm-call",
    worst,
    LIMITS.d1StatementsPerWarmCall,
    judge(worst, (v) => v <= LIMITS.d1StatementsPerWarmCall),
    counts.length
      ? `${f(meanCount, 2)} per call on average, at most ${worst} (${counts.reduce((a, c) => a + c.calls, 0)} warm calls through the probe)`
      : "not measured: the probe did not report x-bench-d1-statements",
  );

  const baseMachine = baseline?.source?.machine;
  const sameMachine = !baseMachine || (baseMachine.cpu === res.machine?.cpu && baseMachine.cores === res.machine?.cores);
  const machineNote = sameMachine
    ? ""
    : `; baseline recorded on ${baseMachine.cores} × ${baseMachine.cpu}, this run on ${res.machine?.cores} × ${res.machine?.cpu}: not comparable`;

  const peers = res.peers?.median?.added ?? {};
  const own = peers.gateway_over_bare;
  for (const [peer, label] of [
    ["portkey", "Portkey"],
    ["litellm", "LiteLLM"],
  ]) {
    const theirs = peers[`${peer}_over_direct`];
    const available = res.peers?.[peer]?.available;
    const value = isNum(own?.p50) && isNum(theirs?.p50) ? own.p50 - theirs.p50 : null;
    add(
      `own_work_below_${peer}`,
      `the gateway's own work (gateway − bare Worker) below ${label}'s added latency over direct`,
      value,
      0,
      available ? judge(value, (v) => v < 0) : "not measured",
      available
        ? `p50 at c=1: ours ${f(own?.p50)} ms vs ${label} ${f(theirs?.p50)} ms (p99: ${f(own?.p99)} vs ${f(theirs?.p99)} ms)`
        : `${label} not measured: ${res.peers?.[peer]?.reason ?? "peers section not run"}`,
    );
  }

  for (const [id, label, path, key] of [
    ["job_cycle_per_s", "job cycles/s (create + 3 llm-calls + complete, 10 concurrent, HTTP)", "job_cycle.per_s", "job_cycle_per_s"],
    ["admissions_http_per_s", "admissions/s (create + complete, 32 concurrent, HTTP)", "admissions_http.per_s", "admissions_http_per_s"],
    [
      "admissions_rpc_per_s",
      "admissions/s over RPC to one team object (32 concurrent)",
      "admissions_ledger.rpc_concurrent.jobs_per_s",
      "admissions_rpc_per_s",
    ],
  ]) {
    const value = get(m, path);
    const base = baseline?.[key];
    add(
      id,
      `${label} ≥ baseline`,
      value,
      base ?? null,
      isNum(base) ? judge(value, (v) => v >= base) : "not measured",
      isNum(base)
        ? `${f(value, 1)}/s vs baseline ${f(base, 1)}/s (bench/baseline.json${machineNote})`
        : "no baseline in bench/baseline.json",
    );
  }
  return out;
}
