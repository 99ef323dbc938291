// The response cache: a hit beside a miss, interleaved at one connection in the same run, with
// how many requests reached the upstream; and one hit read from each storage a Worker could use.
import { randomUUID } from "node:crypto";
import { adminHeaders, createJob, teamHeaders } from "../api.mjs";
import { CFG, PLAIN_MODEL } from "../config.mjs";
import { json, request } from "../lib/http.mjs";
import { summarize } from "../lib/stats.mjs";

/** The upstreams the cache is measured in front of: the mock answering at once, and one that takes 300 ms like an LLM. */
const UPSTREAMS = {
  instant: PLAIN_MODEL,
  llm_300ms: `${PLAIN_MODEL}+ttfb=300`,
};
const TEAM = "bench-cache";

async function setupCacheTenancy(base) {
  for (const [name, model] of Object.entries(UPSTREAMS)) {
    await json("POST", `${base}/api/model-groups/create`, {
      headers: adminHeaders,
      body: {
        group_name: `bench-cached-${name}`,
        models: [{ model_name: model, priority: 0 }],
        cache: { ttl_seconds: 3600, scope: "team", hit_price_percent: 0 },
      },
    });
  }
  const created = await json("POST", `${base}/api/teams/create`, {
    headers: adminHeaders,
    body: {
      organization_id: "bench-org",
      team_id: TEAM,
      model_groups: Object.keys(UPSTREAMS).map((n) => `bench-cached-${n}`),
      credits_allocated: 100_000_000,
    },
  });
  return created.json.virtual_key;
}

async function upstreamRequests(mockUrl) {
  const res = await request("GET", `${mockUrl}/__mock/requests?user=${TEAM}`);
  return JSON.parse(res.text).requests.length;
}

/** Misses (each a question never asked before) and hits (one question, stored first), alternating. */
async function hitsBesideMisses(env, key, jobId, group, samples) {
  const call = (content) =>
    request("POST", `${env.gateway.url}/api/jobs/${jobId}/llm-call`, {
      headers: teamHeaders(key),
      body: { model_group: group, messages: [{ role: "user", content }] },
    });
  const repeated = `The question asked again: ${randomUUID()}`;
  // Store the repeated question's answer (kept in the background: ask until it is a hit).
  for (let i = 0; i < 50; i++) {
    const res = await call(repeated);
    if (res.headers["x-gateway-cache"] === "HIT") break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const before = await upstreamRequests(env.mock.url);
  const ms = { hit: [], miss: [] };
  const seen = { HIT: 0, MISS: 0, other: 0 };
  for (let i = 0; i < samples; i++) {
    for (const kind of i % 2 === 0 ? ["miss", "hit"] : ["hit", "miss"]) {
      const res = await call(kind === "hit" ? repeated : `A new question ${randomUUID()}`);
      if (res.status !== 200) throw new Error(`cache bench: ${kind} answered HTTP ${res.status}: ${res.text.slice(0, 200)}`);
      const status = res.headers["x-gateway-cache"];
      seen[status === "HIT" || status === "MISS" ? status : "other"] += 1;
      ms[kind].push(res.ms);
    }
  }
  const upstream = (await upstreamRequests(env.mock.url)) - before;
  const hit = summarize(ms.hit);
  const miss = summarize(ms.miss);
  return { samples, hit, miss, hit_over_miss_p50: hit.p50 / miss.p50, answers: seen, upstream_requests: upstream, requests: 2 * samples };
}

/** Fills results.cache: per upstream, hits beside misses; and the storage comparison from the probe. */
export async function measureCache(env) {
  const key = await setupCacheTenancy(env.gateway.url);
  const jobId = await createJob(env.gateway.url, TEAM, key);
  const samples = CFG.cacheSamples;
  const upstreams = {};
  for (const name of Object.keys(UPSTREAMS)) upstreams[name] = await hitsBesideMisses(env, key, jobId, `bench-cached-${name}`, samples);
  const stores = await json("POST", `${env.probe.url}/__bench/answer-stores`, { body: { n: CFG.cacheStoreReads } }, "answer-stores");
  return { upstreams, stores: stores.json };
}
