// Streaming: paced SSE streams through the mock, the bare Worker, the gateway and the probe,
// interleaved stream by stream.
import { completeJob, createJob, gatewayCallBody, streamBody, teamHeaders } from "../api.mjs";
import { CFG, MOCK_KEY, noteError, rotate } from "../config.mjs";
import { streamAdded, streamOnce, streamStats } from "../stream.mjs";

export async function measureStreaming(env, r) {
  const body = streamBody();
  const key = env.gwKeys["bench-main"];
  const targets = {
    mock: { url: `${env.mock.url}/chat/completions`, headers: { authorization: `Bearer ${MOCK_KEY}` }, body },
    bare: { url: `${env.bare.url}/chat/completions`, headers: {}, body },
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
  const stats = await streamInterleaved("streaming", targets, CFG.streams, r);
  if (jobId) await completeJob(env.gateway.url, key, jobId);
  if (probeJob) await completeJob(env.probe.url, env.probeKeys["probe-main"], probeJob);
  return {
    ...stats,
    bare_over_mock: streamAdded(stats, "bare", "mock"),
    ...(stats.gateway ? { gateway_over_bare: streamAdded(stats, "gateway", "bare") } : {}),
  };
}

/**
 * `streams` streams per target, interleaved stream by stream (so drift in machine load hits the
 * targets alike); resolves { target: streamStats }.
 */
export async function streamInterleaved(section, targets, streams, r, delayMs = CFG.streamDelayMs) {
  const samples = Object.fromEntries(Object.keys(targets).map((k) => [k, []]));
  for (let i = 0; i < streams; i++) {
    for (const name of rotate(Object.keys(targets), r + i)) {
      const t = targets[name];
      try {
        const s = await streamOnce(t.url, t.headers, t.body);
        if (s.status !== 200) noteError(section, name, `HTTP ${s.status} ${s.text}`);
        samples[name].push(s);
      } catch (error) {
        noteError(section, name, error.message);
      }
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, streamStats(v, targets[k].delayMs ?? delayMs)]));
}
