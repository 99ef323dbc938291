// Peers in the same run: the Portkey AI gateway (Node) in front of the same mock as the gateway,
// and, when .venv-litellm/ is installed, a real LiteLLM proxy in front of its own mock in
// upstream mode. Each peer's added latency over its upstream measured directly (c=1 p50/p99,
// streaming time to first token) is set beside ours over the same mock (gateway − direct), the
// runtime's own hop (bare Worker − direct) and the gateway's own work (gateway − bare Worker).
// All targets are measured round by round, interleaved, order rotated.
import { completeJob, createJob, gatewayCallBody, streamBody, teamHeaders, upstreamBody } from "../api.mjs";
import { CFG, MOCK_KEY, overBudget, PLAIN_MODEL, rotate, say } from "../config.mjs";
import { diff, medianTree } from "../lib/stats.mjs";
import { cannon, loadTargets, withoutSamples } from "../load.mjs";
import { startLiteLLMPeer } from "../peers/litellm.mjs";
import { portkeyHeaders, startPortkeyPeer } from "../peers/portkey.mjs";
import { streamInterleaved } from "./streaming.mjs";

const jsonHeaders = { "content-type": "application/json" };
const fixed = (url, headers, body) => async () => ({
  url,
  headers: { ...jsonHeaders, ...headers },
  body: JSON.stringify(body),
  after: async () => {},
});

/** Starts the peers (or says why not), measures, stops them. */
export async function measurePeers(env, logDir, { skipPortkey = false, skipLiteLLM = false } = {}) {
  const portkey = skipPortkey ? { available: false, reason: "skipped (--no-portkey)" } : await startPortkeyPeer(logDir, env.mock.url);
  say(portkey.available ? `Portkey ${portkey.version} up at ${portkey.url}` : `Portkey: SKIPPED (${portkey.reason})`);
  const litellm = skipLiteLLM ? { available: false, reason: "skipped (--no-litellm)" } : await startLiteLLMPeer(logDir);
  say(litellm.available ? `LiteLLM ${litellm.version ?? ""} up at ${litellm.url}` : `LiteLLM: SKIPPED (${litellm.reason})`);
  const about = (p) =>
    p.available ? { available: true, version: p.version, startup_seconds: p.startup_seconds } : { available: false, reason: p.reason };
  try {
    const rounds = await measureRounds(env, portkey, litellm);
    return { portkey: about(portkey), litellm: about(litellm), rounds: rounds.length, median: medianTree(rounds) };
  } finally {
    if (portkey.available) await portkey.stop();
    if (litellm.available) await litellm.stop();
  }
}

async function measureRounds(env, portkey, litellm) {
  const c1 = {
    mock_direct: fixed(`${env.mock.url}/chat/completions`, { authorization: `Bearer ${MOCK_KEY}` }, upstreamBody()),
    bare: loadTargets(env).bare.prepare,
    gateway: loadTargets(env).gateway.prepare,
  };
  const streams = {
    mock_direct: { url: `${env.mock.url}/chat/completions`, headers: { authorization: `Bearer ${MOCK_KEY}` }, body: streamBody() },
    bare: { url: `${env.bare.url}/chat/completions`, headers: {}, body: streamBody() },
  };
  if (portkey.available) {
    c1.portkey = fixed(`${portkey.url}/v1/chat/completions`, portkeyHeaders(env.mock.url), upstreamBody());
    streams.portkey = { url: `${portkey.url}/v1/chat/completions`, headers: portkeyHeaders(env.mock.url), body: streamBody() };
  }
  if (litellm.available) {
    // LiteLLM's config only knows the plain model names, so its streams are unpaced (delayMs 0).
    c1.upstream_direct = fixed(`${litellm.upstreamUrl}/v1/chat/completions`, { authorization: "Bearer fake" }, upstreamBody());
    c1.litellm = fixed(`${litellm.url}/chat/completions`, { authorization: `Bearer ${litellm.key}` }, upstreamBody());
    const plain = streamBody(PLAIN_MODEL);
    streams.upstream_direct = {
      url: `${litellm.upstreamUrl}/v1/chat/completions`,
      headers: { authorization: "Bearer fake" },
      body: plain,
      delayMs: 0,
    };
    streams.litellm = {
      url: `${litellm.url}/chat/completions`,
      headers: { authorization: `Bearer ${litellm.key}` },
      body: plain,
      delayMs: 0,
    };
  }
  // Warm the peers up (LiteLLM's first requests import and cache a lot; Portkey's JIT).
  for (const name of ["portkey", "litellm"].filter((n) => c1[n])) {
    const t = await c1[name]();
    await cannon("peers-warmup", { ...t, connections: 1, amount: 50 });
  }
  const rounds = [];
  for (let r = 0; r < CFG.litellmRounds; r++) {
    if (overBudget()) break;
    const round = { c1: {}, c10: {} };
    for (const name of rotate(Object.keys(c1), r)) {
      const t = await c1[name]();
      round.c1[name] = withoutSamples(await cannon("peers", { ...t, connections: 1, duration: CFG.litellmSeconds }));
      await t.after();
    }
    for (const name of rotate(
      ["gateway", "portkey", "litellm"].filter((n) => c1[n]),
      r,
    )) {
      const t = await c1[name]();
      round.c10[name] = withoutSamples(await cannon("peers", { ...t, connections: 10, duration: CFG.litellmSeconds }));
      await t.after();
    }
    round.streaming = await streamRound(env, streams, r);
    round.added = added(round);
    rounds.push(round);
  }
  return rounds;
}

/** One round of streams through every target (the gateway's through a job of its own). */
async function streamRound(env, streams, r) {
  const targets = { ...streams };
  const key = env.gwKeys["bench-main"];
  let jobId = null;
  if (env.streaming.available) {
    jobId = await createJob(env.gateway.url, "bench-main", key);
    targets.gateway = {
      url: `${env.gateway.url}/api/jobs/${jobId}/llm-call-stream`,
      headers: teamHeaders(key),
      body: gatewayCallBody("bench-stream"),
    };
  }
  try {
    return await streamInterleaved("peers-streaming", targets, CFG.peerStreams, r);
  } finally {
    if (jobId) await completeJob(env.gateway.url, key, jobId);
  }
}

/** ms each proxy adds over what it proxies: latency at c=1 (p50, p99) and streaming first token (p50). */
function added({ c1, streaming }) {
  const over = (a, b) =>
    c1[a] && c1[b]
      ? {
          p50: diff(c1[a].latency.p50, c1[b].latency.p50),
          p99: diff(c1[a].latency.p99, c1[b].latency.p99),
          first_token_p50: diff(streaming[a]?.first_token.p50, streaming[b]?.first_token.p50),
        }
      : null;
  return {
    gateway_over_direct: over("gateway", "mock_direct"),
    bare_over_direct: over("bare", "mock_direct"), // the runtime's own hop (wrangler dev + workerd)
    gateway_over_bare: over("gateway", "bare"), // the gateway's own work
    portkey_over_direct: over("portkey", "mock_direct"),
    litellm_over_direct: over("litellm", "upstream_direct"),
  };
}
