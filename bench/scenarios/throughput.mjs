// Throughput and latency under load: the three targets at 10 and 32 connections.
import { CFG } from "../config.mjs";
import { ratio } from "../lib/stats.mjs";
import { measureLoad } from "../load.mjs";

/** Resolves { throughput: { c10, c32 }, throughput_ratio }. `section` wraps each step for timing. */
export async function measureThroughput(env, r, section = (_name, fn) => fn()) {
  const throughput = {};
  for (const c of [10, 32])
    throughput[`c${c}`] = await section("throughput", () => measureLoad(env, r, c, CFG.loadSeconds, `throughput c=${c}`, CFG.loadSlices));
  const throughput_ratio = Object.fromEntries(
    Object.entries(throughput).map(([k, v]) => [
      k,
      {
        rps_gateway_over_bare: ratio(v.gateway.rps, v.bare.rps),
        p50_gateway_over_bare: ratio(v.gateway.latency.p50, v.bare.latency.p50),
      },
    ]),
  );
  return { throughput, throughput_ratio };
}
