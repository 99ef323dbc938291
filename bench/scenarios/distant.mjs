// A distant team object, simulated: the probe adds OBJECT_DELAY_MS to every call to the team's
// object (x-bench-object-delay-ms), and the upstream's first byte comes after UPSTREAM_TTFB_MS
// (the mock's ttfb). One sequential client hits, in turn, the bare Worker (same upstream model),
// the probe for a team whose calls go upstream while their admission is on its way, and the
// probe for a team with that turned off (admitted first): plain llm-calls and streams.
import { completeJob, createJob, teamHeaders, upstreamBody } from "../api.mjs";
import { CFG, DISTANT_MODEL, DISTANT_STREAM_MODEL, MESSAGES, noteError, OBJECT_DELAY_MS, rotate } from "../config.mjs";
import { request } from "../lib/http.mjs";
import { diff, summarize } from "../lib/stats.mjs";
import { streamOnce, streamStats } from "../stream.mjs";

const TEAMS = { on: "probe-distant", off: "probe-distant-off" };
const delayed = { "x-bench-object-delay-ms": String(OBJECT_DELAY_MS) };

export async function measureDistant(env, r) {
  const jobs = {};
  for (const [mode, team] of Object.entries(TEAMS)) jobs[mode] = await createJob(env.probe.url, team, env.probeKeys[team]);
  const probeCall = (mode, group) => ({
    url: `${env.probe.url}/api/jobs/${jobs[mode]}/${group === "bench-distant" ? "llm-call" : "llm-call-stream"}`,
    headers: { ...teamHeaders(env.probeKeys[TEAMS[mode]]), ...delayed },
    body: { model_group: group, messages: MESSAGES },
  });
  const plain = {
    bare: { url: `${env.bare.url}/chat/completions`, headers: {}, body: upstreamBody(DISTANT_MODEL) },
    speculative: probeCall("on", "bench-distant"),
    admitted_first: probeCall("off", "bench-distant"),
  };
  const streamed = {
    bare: {
      url: `${env.bare.url}/chat/completions`,
      headers: {},
      body: upstreamBody(DISTANT_STREAM_MODEL, { stream: true, stream_options: { include_usage: true } }),
    },
    speculative: probeCall("on", "bench-distant-stream"),
    admitted_first: probeCall("off", "bench-distant-stream"),
  };
  // Warm: each key admitted once (the first call of a key in an isolate is always admitted first).
  for (const t of [plain.speculative, plain.admitted_first, streamed.speculative, streamed.admitted_first]) {
    await request("POST", t.url, { headers: t.headers, body: t.body });
  }

  const plainMs = Object.fromEntries(Object.keys(plain).map((k) => [k, []]));
  for (let i = 0; i < CFG.distantCalls; i++) {
    for (const name of rotate(Object.keys(plain), r + i)) {
      const t = plain[name];
      const res = await request("POST", t.url, { headers: t.headers, body: t.body });
      if (res.status !== 200) noteError("distant", name, `HTTP ${res.status} ${res.text.slice(0, 200)}`);
      else plainMs[name].push(res.ms);
    }
  }
  const samples = Object.fromEntries(Object.keys(streamed).map((k) => [k, []]));
  for (let i = 0; i < CFG.distantStreams; i++) {
    for (const name of rotate(Object.keys(streamed), r + i)) {
      const t = streamed[name];
      const s = await streamOnce(t.url, t.headers, t.body);
      if (s.status !== 200) noteError("distant", `${name} stream`, `HTTP ${s.status} ${s.text}`);
      samples[name].push(s);
    }
  }
  for (const [mode, team] of Object.entries(TEAMS)) await completeJob(env.probe.url, env.probeKeys[team], jobs[mode]);

  const calls = Object.fromEntries(Object.entries(plainMs).map(([k, v]) => [k, summarize(v)]));
  const streams = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, streamStats(v, 5)]));
  const p50 = (name) => calls[name].p50;
  const ttft = (name) => streams[name].first_token?.p50;
  return {
    object_delay_ms: OBJECT_DELAY_MS,
    calls,
    streams,
    added: {
      call_p50_speculative: diff(p50("speculative"), p50("bare")),
      call_p50_admitted_first: diff(p50("admitted_first"), p50("bare")),
      first_token_p50_speculative: diff(ttft("speculative"), ttft("bare")),
      first_token_p50_admitted_first: diff(ttft("admitted_first"), ttft("bare")),
    },
  };
}
