// Report sections about one call: where its time goes, latency, throughput, streaming.
import { context, get, int, num, signed, x } from "./report-format.mjs";

export function breakdownSection(res, p) {
  const { br, call } = context(res);
  p("## Where one llm-call's time goes");
  p();
  p(
    `Means over ${res.config?.breakdownSamples} sequential calls per run, taken by one client that hits the mock, the bare Worker, the gateway and the probe in turn ` +
      "(the probe is the gateway's unchanged code with timing wrappers around D1, the Durable Object stub and `fetch`, reported in a `Server-Timing` header; see bench/probe-worker). " +
      "The runtime's clock ticks in whole milliseconds, so only means over many calls are meaningful here.",
  );
  p();
  p("| Component | ms (mean) |");
  p("|---|---|");
  p(`| client → wrangler dev → isolate and back (outside the handler) | ${num(call.outside_isolate)} |`);
  p(`| auth: HMAC of the key (WebCrypto) | ${num(call.crypto)} |`);
  p(
    `| D1 (warm: none; the key's team is known to the isolate, the object checks the key and group) (${
      Object.keys(call.d1_queries ?? {})
        .map((k) => `\`${k}\``)
        .join(", ") || "—"
    }) | ${num(call.key_and_group_lookup_d1)} |`,
  );
  p(`| Durable Object: admission (\`beginCall\`) | ${num(call.admission_do)} |`);
  p(`| upstream: fetch to the mock, to response headers | ${num(call.upstream)} |`);
  p(`| upstream: reading and parsing its JSON body | ${num(call.upstream_body)} |`);
  p(`| Durable Object: settlement (\`recordCall\`) | ${num(call.settlement_do)} |`);
  p(`| the request's log line (\`console.log\`) | ${num(call.log)} |`);
  p(`| the rest of the handler: Hono routing, zod validation, building the upstream body and the answer | ${num(call.app_js)} |`);
  p(`| **total, end to end (probe)** | **${num(call.e2e_mean)}** |`);
  p();
  p(
    `Same client, same moments (mean / p50): mock direct ${num(br.e2e?.mock?.mean)} / ${num(br.e2e?.mock?.p50)} ms, bare Worker ${num(br.e2e?.bare?.mean)} / ${num(br.e2e?.bare?.p50)} ms, ` +
      `gateway ${num(br.e2e?.gateway?.mean)} / ${num(br.e2e?.gateway?.p50)} ms, probe ${num(br.e2e?.probe?.mean)} / ${num(br.e2e?.probe?.p50)} ms. ` +
      `The gateway adds **${num(call.gateway_added_mean)} ms** (mean) to the bare Worker; the Worker hop itself adds ${num(call.bare_added_over_mock_mean)} ms to the mock.`,
  );
  p();
  const stm = br.server_timing_mean ?? {};
  p(
    `Durable Object calls compared (in-isolate means): \`beginCall\` ${num(call.admission_do)} ms and \`recordCall\` ${num(call.settlement_do)} ms, both of which write; ` +
      `a read-only \`getBalance\` ${num(stm.probe_do_read?.["do.getBalance"])} ms. D1 on a warm call: ${num(call.key_and_group_lookup_d1)} ms; a one-table read (\`listPricing\`) ${num(stm.probe_d1_read?.["d1.listPricing"])} ms.`,
  );
  p();
  const ad = br.after_do ?? {};
  p(
    `**The first I/O after a Durable Object call waits.** Timed inside the isolate, alone and right after a \`getBalance\` RPC: a zero-delay timer ${num(ad.timer_0_alone)} → ${num(ad.timer_0_after_do)} ms, ` +
      `the upstream fetch ${num(ad.fetch_alone)} → ${num(ad.fetch_after_do)} ms (through the gateway's \`attemptModel\`: ${num(ad.attempt_model_alone)} → ${num(ad.attempt_model_after_do)} ms), a D1 read ${num(ad.d1_read_alone)} → ${num(ad.d1_read_after_do)} ms. ` +
      `Under \`wrangler dev\` the object runs in the same workerd process as the Worker, and whatever the runtime does once the RPC has returned (not traced here) holds the Worker's next step for about ${num(ad.penalty_timer)} ms: ` +
      'the `upstream` line above is mostly that (the fetch alone takes the "alone" figure), and the same wait after `recordCall` lands in the response path. An llm-call pays it twice.',
  );
  p();
  const av = br.admission_variants ?? {};
  p(
    `**Admission without a write.** Over RPC to one object, a call in a job already in progress: \`beginCall\` (key, group and job checks; writes only for a pending job or a new group) ${num(av.begin_call_rpc)} ms, ` +
      `${num(av.begin_call_rpc_and_wait)} ms with the wait above; the same checks read-only (bench/probe-worker \`benchAdmitReadOnly\`) ${num(av.read_only_rpc)} ms, ${num(av.read_only_rpc_and_wait)} ms with the wait.`,
  );
  p();
  const rf = br.route_floor ?? {};
  p(
    `Single-purpose routes on the probe (end to end, means): \`GET /health\` (no I/O) ${num(rf.health_e2e_mean)} ms; one D1 query (\`GET /api/pricing\`, admin) ${signed(rf.one_d1_query_e2e_mean_over_health)} ms over it; ` +
      `one Durable Object read (\`GET …/balance\`, admin) ${signed(rf.one_do_read_e2e_mean_over_health)} ms; the same read with a team key (the object checks it; no D1 once the isolate knows the key) ${signed(rf.key_lookup_plus_do_read_e2e_mean_over_health)} ms.`,
  );
  p();
}

export function latencySection(res, p) {
  const { m, lat } = context(res);
  p("## Latency at one connection (ms)");
  p();
  p(
    `autocannon, 1 connection, ${res.config?.latencySeconds} s per target per run; latencies of 2xx answers, float precision. The gateway's target is \`POST /api/jobs/{id}/llm-call\` (auth + admission + upstream + settlement), all calls of a run in one open job.`,
  );
  p();
  p("| Target | p50 | p95 | p99 | mean | req/s |");
  p("|---|---|---|---|---|---|");
  for (const [name, label] of [
    ["mock", "mock LiteLLM, direct"],
    ["bare", "bare Worker → mock"],
    ["gateway", "gateway llm-call → mock"],
  ]) {
    const l = lat[name];
    p(
      `| ${label} | ${num(l?.latency?.p50)} | ${num(l?.latency?.p95)} | ${num(l?.latency?.p99)} | ${num(l?.latency?.mean)} | ${int(l?.rps)} |`,
    );
  }
  p(
    `| **gateway / bare** | **${x(get(m, "latency_ratio.p50"))}** | ${x(get(m, "latency_ratio.p95"))} | **${x(get(m, "latency_ratio.p99"))}** | | |`,
  );
  p(
    `| gateway − bare (ms) | ${signed(get(m, "latency_added.gateway_over_bare_p50"))} | | ${signed(get(m, "latency_added.gateway_over_bare_p99"))} | | |`,
  );
  p();
}

export function throughputSection(res, p) {
  const { m } = context(res);
  p("## Throughput (requests/s) and latency under load");
  p();
  p(`autocannon, ${res.config?.loadSeconds} s per target per run.`);
  p();
  p("| Target | 10 conn: req/s | p50 | p99 | 32 conn: req/s | p50 | p99 | non-2xx + errors |");
  p("|---|---|---|---|---|---|---|---|");
  for (const name of ["mock", "bare", "gateway"]) {
    const a = get(m, `throughput.c10.${name}`);
    const b = get(m, `throughput.c32.${name}`);
    const bad = [a, b].reduce((s, t) => s + (t ? t.non2xx + t.errors + t.timeouts : 0), 0);
    p(
      `| ${name} | ${int(a?.rps)} | ${num(a?.latency?.p50)} | ${num(a?.latency?.p99)} | ${int(b?.rps)} | ${num(b?.latency?.p50)} | ${num(b?.latency?.p99)} | ${bad} |`,
    );
  }
  p(
    `| gateway / bare | ${x(get(m, "throughput_ratio.c10.rps_gateway_over_bare"))} | ${x(get(m, "throughput_ratio.c10.p50_gateway_over_bare"))} | | ${x(get(m, "throughput_ratio.c32.rps_gateway_over_bare"))} | ${x(get(m, "throughput_ratio.c32.p50_gateway_over_bare"))} | | |`,
  );
  p();
}

export function streamingSection(res, p) {
  const { st } = context(res);
  const streamingOk = res.streaming_route?.available;
  p("## Streaming");
  p();
  if (!streamingOk) {
    p(`Not available: ${res.streaming_route?.reason ?? "not probed"}. Bare Worker figures only.`);
    p();
  }
  p(
    `${res.config?.streams} streams per target per run, interleaved; the mock sends ${res.config?.streamChunks} content chunks ${res.config?.streamDelayMs} ms apart (\`${`gpt-4o-mini+delay=${res.config?.streamDelayMs}+chunks=${res.config?.streamChunks}`}\`). ` +
      "First token = request start → first content-bearing SSE event. Per-chunk delay = the gap between a chunk and the one before it, minus the pacing, over every chunk after the first: " +
      "what a proxy that holds, batches or slows chunks adds to each (a constant transit time is in the first-token time instead).",
  );
  p();
  const cols = ["mock", "bare", ...(st.gateway ? ["gateway"] : [])];
  p(`| ms | ${cols.join(" | ")} |${st.gateway ? " gateway − bare |" : ""}`);
  p(`|---|${cols.map(() => "---").join("|")}|${st.gateway ? "---|" : ""}`);
  const row = (label, path, addKey) =>
    p(
      `| ${label} | ${cols.map((c) => num(get(st, `${c}.${path}`))).join(" | ")} |${st.gateway ? ` ${signed(get(st, `gateway_over_bare.${addKey}`))} |` : ""}`,
    );
  row("response headers p50", "headers.p50", "headers_p50");
  row("first token p50", "first_token.p50", "first_token_p50");
  row("first token p95", "first_token.p95", "first_token_p95");
  row("last token p50", "last_token.p50", "last_token_p50");
  row("per-chunk delay p50", "chunk_delay.p50", "chunk_delay_p50");
  row("per-chunk delay p99", "chunk_delay.p99", "chunk_delay_p99");
  p(`| content chunks per stream | ${cols.map((c) => num(get(st, `${c}.chunks_per_stream`), 0)).join(" | ")} |${st.gateway ? " |" : ""}`);
  p();
  const sp = st.probe?.server_timing_mean;
  if (sp) {
    const pre = Object.entries(sp).filter(([k]) => k !== "app");
    p(
      `Before the first byte, inside the gateway (probe, Server-Timing means; the handler returns once the upstream's first chunk is in): ` +
        `${pre.map(([k, v]) => `\`${k}\` ${num(v)} ms`).join(", ")}; whole handler \`app\` ${num(sp.app)} ms ` +
        `(first token through the probe p50 ${num(st.probe?.first_token?.p50)} ms).`,
    );
    p();
  }
}

/** A distant team object, simulated (scenarios/distant.mjs). */
export function distantSection(res, p) {
  const d = res.median?.distant;
  if (!d) return;
  p("## A distant team object");
  p();
  p(
    `The probe adds ${d.object_delay_ms} ms to every call to the team's object (as if it were far from the Worker) and the upstream's first byte comes after 200 ms (the mock's \`ttfb\`); the bare Worker forwards to the same upstream. One sequential client hits the three in turn: ${int(d.calls?.bare?.n)} plain calls and ${int(d.streams?.bare?.streams)} streams per target per run. "Speculative": the team's calls go upstream while their admission is on its way (the default); "admitted first": the team has \`speculative_admission: false\`.`,
  );
  p();
  p("| ms | bare Worker | speculative | admitted first |");
  p("|---|---|---|---|");
  const row = (label, pick) => p(`| ${label} | ${num(pick("bare"))} | ${num(pick("speculative"))} | ${num(pick("admitted_first"))} |`);
  row("llm-call p50", (k) => d.calls?.[k]?.p50);
  row("llm-call p95", (k) => d.calls?.[k]?.p95);
  row("first token p50", (k) => d.streams?.[k]?.first_token?.p50);
  row("first token p95", (k) => d.streams?.[k]?.first_token?.p95);
  p(
    `| **over the bare Worker, p50** | | llm-call ${signed(d.added?.call_p50_speculative)}, first token ${signed(d.added?.first_token_p50_speculative)} | llm-call ${signed(d.added?.call_p50_admitted_first)}, first token ${signed(d.added?.first_token_p50_admitted_first)} |`,
  );
  p();
}
