// Load generation (autocannon, programmatic) with our own float-precision latencies, and the
// three load targets (mock direct, bare Worker, gateway llm-call) measured side by side.
import autocannon from "autocannon";
import { completeJob, createJob, gatewayCallBody, teamHeaders, upstreamBody } from "./api.mjs";
import { MOCK_KEY, noteError, rotate } from "./config.mjs";
import { summarize } from "./lib/stats.mjs";

/**
 * One autocannon run. autocannon's own histogram is in whole milliseconds, so latencies are
 * also collected from its 'response' events (float ms) and summarised here.
 */
export function cannon(section, { url, headers, body, connections, duration, amount }) {
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

export const withoutSamples = ({ latencies, ...rest }) => rest;

const jsonHeaders = { "content-type": "application/json" };

/** The three load targets. The gateway's target opens a job per run and completes it after. */
export function loadTargets(env) {
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
export async function measureLoad(env, r, connections, seconds, section, slices) {
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
