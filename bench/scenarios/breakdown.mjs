// Where one llm-call's time goes: mock, bare Worker, gateway and probe hit in turn by one
// sequential client, the probe's Server-Timing components, its D1 statement count, and the
// probe's single-purpose routes.
import { adminHeaders, completeJob, createJob, gatewayCallBody, teamHeaders, upstreamBody } from "../api.mjs";
import { CFG, MOCK_KEY, noteError, rotate } from "../config.mjs";
import { json, parseServerTiming, request } from "../lib/http.mjs";
import { mean, summarize } from "../lib/stats.mjs";

/**
 * Where one call's time goes. The same sequential client hits, in turn, the mock, the bare
 * Worker, the gateway and the probe (gateway code + Server-Timing), so the four are measured
 * under the same conditions; then the probe's single-purpose routes (no I/O, one D1 query,
 * one DO read).
 */
export async function measureBreakdown(env, r, samples = CFG.breakdownSamples) {
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
  const statements = []; // D1 statements per llm-call on the probe (x-bench-d1-statements)
  for (let i = 0; i < samples; i++) {
    for (const name of rotate(Object.keys(calls), r + i)) {
      const res = await calls[name]();
      if (res.status !== 200) {
        noteError("breakdown", name, `HTTP ${res.status} ${res.text.slice(0, 200)}`);
        continue;
      }
      e2e[name].push(res.ms);
      if (res.headers["server-timing"]) timing[name].push(parseServerTiming(res.headers["server-timing"]));
      const counted = res.headers["x-bench-d1-statements"];
      if (name === "probe" && counted !== undefined) statements.push(Number(counted));
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
  // D1 statements per warm llm-call (the probe counts them through env.DB); null: not counted.
  result.call.d1_statements = statements.length
    ? { calls: statements.length, mean: mean(statements), min: Math.min(...statements), max: Math.max(...statements) }
    : null;
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
