// Latency at one connection: mock direct, bare Worker, gateway llm-call (autocannon, c=1).
import { CFG } from "../config.mjs";
import { diff, ratio } from "../lib/stats.mjs";
import { measureLoad } from "../load.mjs";

/** Fills run.latency, run.latency_ratio (gateway / bare) and run.latency_added (ms). */
export async function measureLatency(env, r) {
  const latency = await measureLoad(env, r, 1, CFG.latencySeconds, "latency", CFG.latencySlices);
  const p = (name, q) => latency[name].latency[q];
  return {
    latency,
    latency_ratio: {
      p50: ratio(p("gateway", "p50"), p("bare", "p50")),
      p95: ratio(p("gateway", "p95"), p("bare", "p95")),
      p99: ratio(p("gateway", "p99"), p("bare", "p99")),
    },
    latency_added: {
      gateway_over_bare_p50: diff(p("gateway", "p50"), p("bare", "p50")),
      gateway_over_bare_p99: diff(p("gateway", "p99"), p("bare", "p99")),
      bare_over_mock_p50: diff(p("bare", "p50"), p("mock", "p50")),
    },
  };
}
