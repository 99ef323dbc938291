// Job cycles and admissions on one team: concurrent HTTP cycles against the gateway, the same
// straight against one TeamLedger over RPC (inside the probe), and completion cost by job size.
import { completeJob, createJob, llmCall, teamHeaders } from "../api.mjs";
import { CFG, noteError } from "../config.mjs";
import { forDuration, json, pool, request } from "../lib/http.mjs";
import { summarize } from "../lib/stats.mjs";

/** Concurrent job cycles (create, `calls` llm-calls, complete) against one team, for a while. */
export async function measureCycles(env, section, teamId, calls, concurrency, seconds) {
  const base = env.gateway.url;
  const key = env.gwKeys[teamId];
  let cycles = 0;
  let failed = 0;
  const latencies = [];
  const elapsed = await forDuration(seconds * 1000, concurrency, async () => {
    const t0 = performance.now();
    try {
      const jobId = await createJob(base, teamId, key);
      for (let i = 0; i < calls; i++) await llmCall(base, key, jobId);
      await completeJob(base, key, jobId);
      cycles++;
      latencies.push(performance.now() - t0);
    } catch (error) {
      failed++;
      noteError(section, `${calls}-call cycle`, error.message);
    }
  });
  return {
    concurrency,
    cycles,
    failed,
    per_s: (cycles / elapsed) * 1000,
    requests_per_s: ((cycles * (calls + 2)) / elapsed) * 1000,
    cycle_latency: summarize(latencies),
  };
}

/** Job create + complete driven straight at one TeamLedger over RPC from inside the probe. */
export async function measureLedgerDirect(env, _r) {
  const drive = async (spec) => (await json("POST", `${env.probe.url}/__bench/ledger`, { body: spec })).json;
  const rpc = await drive({ team_id: "probe-admit", jobs: CFG.ledgerDirectJobs, concurrency: CFG.admissionConcurrency });
  if (rpc.failures) noteError("ledger-direct", "cycle", `${rpc.failures} refusals, first: ${rpc.first_failure}`);
  const rpcSerial = await drive({ team_id: "probe-admit", jobs: Math.round(CFG.ledgerDirectJobs / 4), concurrency: 1 });
  const reads = await drive({ team_id: "probe-admit", jobs: CFG.ledgerDirectJobs * 2, concurrency: CFG.admissionConcurrency, op: "read" });
  // In-object cost: the same methods called inside the object, no RPC and one commit per 500 jobs.
  const inObject = (
    await json("POST", `${env.probe.url}/__bench/seed-history`, { body: { team_id: "probe-inobject", jobs: 1000, calls_per_job: 0 } })
  ).json;
  return {
    rpc_concurrent: { jobs_per_s: rpc.jobs_per_s, concurrency: rpc.concurrency, rpc_median_ms: rpc.rpc_median_ms },
    rpc_serial: { jobs_per_s: rpcSerial.jobs_per_s, rpc_median_ms: rpcSerial.rpc_median_ms },
    read_rpc_per_s: reads.jobs_per_s,
    in_object: { jobs_per_s: (inObject.jobs / inObject.ms) * 1000, ms_per_job: inObject.ms / inObject.jobs },
  };
}

/**
 * What the team's object's SQLite does per step (probe benchSqlCost; deterministic, so once):
 * statements and rows written by an admission (job create + complete), a call's admission and
 * record, in job_based and in consumption_tokens (where the call holds credit).
 */
export async function measureSqlCost(env) {
  const cost = async (team, calls, budget) => {
    const res = await json("POST", `${env.probe.url}/__bench/sql-cost`, {
      body: { team_id: team, jobs: CFG.sqlJobs, calls_per_job: calls, budget },
    });
    return res.json.value;
  };
  return {
    job_cycle: await cost("probe-sql", 0, false),
    job_based_1_call: await cost("probe-sql", 1, true),
    consumption_tokens_1_call: await cost("probe-sql-tokens", 1, true),
  };
}

/** Completing a job with 1, 100 and 1,000 calls in it (each job filled through llm-call). */
export async function measureCompleteGrowth(env) {
  const base = env.gateway.url;
  const key = env.gwKeys["bench-complete"];
  const out = {};
  for (const n of CFG.completeSizes) {
    const jobId = await createJob(base, "bench-complete", key);
    await pool(n, CFG.completeFillConcurrency, async () => {
      try {
        await llmCall(base, key, jobId);
      } catch (error) {
        noteError("complete-growth", `fill ${n}`, error.message);
      }
    });
    const res = await request("POST", `${base}/api/jobs/${jobId}/complete`, { headers: teamHeaders(key), body: { status: "completed" } });
    if (res.status !== 200) noteError("complete-growth", `complete ${n}`, `HTTP ${res.status}`);
    out[`calls_${n}`] = { ms: res.ms, response_bytes: Buffer.byteLength(res.text) };
  }
  const sizes = CFG.completeSizes;
  const first = out[`calls_${sizes[0]}`].ms;
  const last = out[`calls_${sizes.at(-1)}`].ms;
  out.ms_per_extra_call = (last - first) / (sizes.at(-1) - sizes[0]);
  return out;
}
