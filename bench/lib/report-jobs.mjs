// Report sections about jobs: cycles and admissions, how cost grows, and the bundle.
import { context, get, int, num } from "./report-format.mjs";

export function jobsSection(res, p) {
  const { m, adm } = context(res);
  p("## Job cycles and admissions (one team)");
  p();
  const jc = m.job_cycle ?? {};
  const ah = m.admissions_http ?? {};
  p("| What | Rate | Detail |");
  p("|---|---|---|");
  p(
    `| job cycle: create + 3 llm-calls + complete, ${jc.concurrency} concurrent, HTTP | **${num(jc.per_s, 1)} cycles/s** | ${num(jc.requests_per_s, 0)} requests/s; cycle p50 ${num(jc.cycle_latency?.p50)} ms, p99 ${num(jc.cycle_latency?.p99)} ms |`,
  );
  p(
    `| admissions: create + complete (no calls), ${ah.concurrency} concurrent, HTTP | **${num(ah.per_s, 1)}/s** | ${num(ah.requests_per_s, 0)} requests/s; cycle p50 ${num(ah.cycle_latency?.p50)} ms |`,
  );
  p(
    `| admissions: create + complete over RPC straight to one TeamLedger, ${adm.rpc_concurrent?.concurrency} concurrent (probe) | **${num(adm.rpc_concurrent?.jobs_per_s, 1)}/s** | RPC medians: createJob ${num(adm.rpc_concurrent?.rpc_median_ms?.createJob, 1)} ms, completeJob ${num(adm.rpc_concurrent?.rpc_median_ms?.completeJob, 1)} ms |`,
  );
  p(
    `| the same, one at a time | ${num(adm.rpc_serial?.jobs_per_s, 1)}/s | createJob ${num(adm.rpc_serial?.rpc_median_ms?.createJob, 1)} ms, completeJob ${num(adm.rpc_serial?.rpc_median_ms?.completeJob, 1)} ms |`,
  );
  p(
    `| read-only RPC (\`getBalance\`) to the same object, 32 concurrent | ${int(adm.read_rpc_per_s)}/s | the RPC floor: no storage write |`,
  );
  p(
    `| in-object work of create + complete (methods called inside the object, one commit per 500 jobs) | ${int(adm.in_object?.jobs_per_s)}/s | ${num(adm.in_object?.ms_per_job, 3)} ms per job |`,
  );
  p();
}

export function growthSection(res, p) {
  const { m, hist } = context(res);
  p("## How cost grows");
  p();
  p("Completing a job, by the number of calls in it (filled through `llm-call` on the gateway; one completion per size per run):");
  p();
  p("| Calls in the job | complete (ms) | response bytes |");
  p("|---|---|---|");
  for (const n of res.config?.completeSizes ?? []) {
    const c = get(m, `complete_growth.calls_${n}`);
    p(`| ${int(n)} | ${num(c?.ms)} | ${int(c?.response_bytes)} |`);
  }
  p(`| per extra call | ${num(get(m, "complete_growth.ms_per_extra_call"), 4)} | |`);
  p();
  const S = int(res.history_seed?.small_jobs);
  const L = int(res.history_seed?.large_jobs);
  p(
    `Reads and completion against a team with ${S} versus ${L} past jobs (each with one call), on the probe (a fresh ${S}-job team per run). ` +
      `End to end: ${res.config?.readSamples} reads each per run, interleaved, and ${res.config?.completeWithHistorySamples} completions of a fresh 1-call job; "DO call" is the Durable Object RPC as the Worker sees it (Server-Timing mean); ` +
      `"in the object" is the method itself run inside the object (mean of ${res.config?.profileReadReps} reads or ${res.config?.profileReps} creates/completions), which is where history could cost.`,
  );
  p();
  p(`| Request | e2e p50, ${S} | e2e p50, ${L} | DO call, ${S} | DO call, ${L} | in the object, ${S} | in the object, ${L} |`);
  p("|---|---|---|---|---|---|---|");
  for (const [key, label] of [
    ["balance", "GET balance"],
    ["usage", "GET usage (month)"],
    ["transactions", "GET transactions (limit 5)"],
    ["jobs", "GET jobs (limit 5)"],
    ["complete_1_call", "complete a 1-call job"],
  ]) {
    const h = hist[key];
    p(
      `| ${label} | ${num(h?.small?.e2e?.p50)} | ${num(h?.large?.e2e?.p50)} | ${num(h?.small?.do_mean)} | ${num(h?.large?.do_mean)} | ${num(h?.small?.in_object_ms, 3)} | ${num(h?.large?.in_object_ms, 3)} |`,
    );
  }
  p(`| create a job (in the object) | | | | | ${num(hist.create_in_object?.small, 3)} | ${num(hist.create_in_object?.large, 3)} |`);
  p(`| admit + record one call (in the object) | | | | | ${num(hist.call_in_object?.small, 3)} | ${num(hist.call_in_object?.large, 3)} |`);
  p();
}

export function bundleSection(res, p) {
  p("## Bundle");
  p();
  if (res.bundle?.ok) {
    p(
      `\`wrangler deploy --dry-run --outdir <tmp>\`: ${(res.bundle.files ?? []).map((f) => `\`${f.file}\` ${int(f.bytes)} bytes, ${int(f.gzip_bytes)} gzip`).join("; ")}. ` +
        `Total ${num(res.bundle.gzip_kib, 1)} KiB gzip (wrangler prints ${num(res.bundle.wrangler_total_kib)} KiB / gzip ${num(res.bundle.wrangler_gzip_kib)} KiB).`,
    );
  } else {
    p(`Not measured: ${res.bundle?.reason ?? "unknown"}`);
  }
  p();
}

/** SQLite statements and rows written inside the team's object, per step (probe benchSqlCost). */
export function sqlSection(res, p) {
  const q = res.sql_cost;
  if (!q) return;
  p("## SQLite statements inside the team's object");
  p();
  p(
    "Counted by the probe (every `sql.exec` of the object, with each cursor's rows written) over a run of job cycles, after one to warm the object; deterministic, so measured once. An admission is job create + complete; a call's admission is `beginCall`, its record `recordCall`.",
  );
  p();
  p("| Step | job_based: statements | rows written | consumption_tokens (held): statements | rows written |");
  p("|---|---|---|---|---|");
  const jb = q.job_based_1_call ?? {};
  const ct = q.consumption_tokens_1_call ?? {};
  for (const [label, key] of [
    ["job create", "create"],
    ["a call's admission", "call_admission"],
    ["a call's record", "call_record"],
    ["job complete", "complete"],
  ]) {
    p(
      `| ${label} | ${num(jb[`${key}_statements`], 1)} | ${num(jb[`${key}_rows_written`], 1)} | ${num(ct[`${key}_statements`], 1)} | ${num(ct[`${key}_rows_written`], 1)} |`,
    );
  }
  p(`| **admission (create + complete)** | **${num(q.job_cycle?.statements, 1)}** | ${num(q.job_cycle?.rows_written, 1)} | | |`);
  p(
    `| **job with one call** | **${num(jb.statements, 1)}** | ${num(jb.rows_written, 1)} | **${num(ct.statements, 1)}** | ${num(ct.rows_written, 1)} |`,
  );
  p();
}
