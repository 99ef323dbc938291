// Reads (balance, usage, transactions, jobs) and a 1-call job's completion against a team with a
// small and a large history, on the probe: end to end, as the Worker sees the DO call, and in
// the object itself.
import { createJob, llmCall, teamHeaders } from "../api.mjs";
import { CFG, noteError, rotate } from "../config.mjs";
import { json, parseServerTiming, request } from "../lib/http.mjs";
import { mean, ratio, summarize } from "../lib/stats.mjs";

function doMs(timings) {
  return timings.filter(([name]) => name.startsWith("do.")).reduce((a, [, ms]) => a + ms, 0);
}

/** Reads (balance, usage, transactions, jobs) and a 1-call job's completion, small vs large history. */
export async function measureHistory(env, r) {
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
