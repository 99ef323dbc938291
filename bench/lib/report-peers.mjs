// Report sections: the peers (Portkey, LiteLLM) side by side, errors and runs.
import { get, int, num, signed, x } from "./report-format.mjs";

export function errorsSection(res, p) {
  p("## Errors and runs");
  p();
  if (res.errors?.count) {
    p(`${res.errors.count} non-2xx answers or transport errors:`);
    for (const e of res.errors.list ?? []) p(`- ${e.section} · ${e.what}: ${e.detail}`);
  } else {
    p("No non-2xx answer and no transport error in any measured request.");
  }
  p();
  p("| Run | load at start | gateway p50 | bare p50 | ratio p50 | ratio p99 | streaming TTFB added | admissions RPC/s |");
  p("|---|---|---|---|---|---|---|---|");
  (res.per_run ?? []).forEach((r, i) => {
    p(
      `| ${i + 1} | ${r.load_at_start?.join(" ")} | ${num(r.latency?.gateway?.latency?.p50)} | ${num(r.latency?.bare?.latency?.p50)} | ${x(r.latency_ratio?.p50)} | ${x(r.latency_ratio?.p99)} | ${signed(r.streaming?.gateway_over_bare?.first_token_p50)} | ${int(r.admissions_ledger?.rpc_concurrent?.jobs_per_s)} |`,
    );
  });
  p();
  p(
    `Section times (s): ${Object.entries(res.sections_seconds ?? {})
      .map(([k, v]) => `${k} ${num(v, 0)}`)
      .join(", ")}; total ${num(res.total_seconds, 0)} s. Raw figures: \`bench/results/latest.json\`.`,
  );
  p();
}

/** Portkey and LiteLLM beside the gateway: each one's added latency over what it proxies. */
export function peersSection(res, p) {
  const peers = res.peers;
  p("## Peers: Portkey and LiteLLM, side by side");
  p();
  if (!peers) {
    p("Not measured (no peers section in these results).");
    p();
    return;
  }
  const pm = peers.median ?? {};
  const a = pm.added ?? {};
  const about = (name, label, how) =>
    peers[name]?.available
      ? `${label} ${peers[name].version ?? ""} (${how}; up in ${num(peers[name].startup_seconds, 1)} s)`
      : `${label}: **skipped** (${peers[name]?.reason ?? "not run"})`;
  p(
    `${about("portkey", "Portkey AI gateway", "`@portkey-ai/gateway` Node server, provider `openai` with `x-portkey-custom-host` = the same mock the gateway uses")}; ` +
      `${about("litellm", "LiteLLM proxy", "`.venv-litellm`, `litellm/config.yaml`, 1 worker, no database, in front of the mock in upstream mode")}. ` +
      `autocannon ${res.config?.litellmSeconds} s per target at 1 and at 10 connections, ${res.config?.peerStreams} streams per target, ${peers.rounds ?? 0} round${peers.rounds === 1 ? "" : "s"}, interleaved, medians. ` +
      "“Added” is each proxy minus what it forwards to, measured directly in the same round.",
  );
  p();
  p("| Added (ms) | p50, c=1 | p99, c=1 | streaming first token p50 |");
  p("|---|---|---|---|");
  for (const [key, label] of [
    ["bare_over_direct", "runtime hop: bare Worker − mock direct"],
    ["gateway_over_bare", "**gateway's own work: gateway − bare Worker**"],
    ["gateway_over_direct", "gateway − mock direct (hop + own work)"],
    ["portkey_over_direct", "Portkey − mock direct"],
    ["litellm_over_direct", "LiteLLM − its mock direct"],
  ]) {
    const v = a[key];
    p(`| ${label} | ${v ? signed(v.p50) : "—"} | ${v ? signed(v.p99) : "—"} | ${v ? signed(v.first_token_p50) : "—"} |`);
  }
  p();
  const c1 = pm.c1 ?? {};
  const c10 = pm.c10 ?? {};
  const st = pm.streaming ?? {};
  p("| Target | c=1 p50 | c=1 p99 | c=1 req/s | c=10 req/s | c=10 p50 | c=10 p99 | first token p50 |");
  p("|---|---|---|---|---|---|---|---|");
  for (const [key, label] of [
    ["mock_direct", "mock, direct"],
    ["bare", "bare Worker → mock"],
    ["gateway", "gateway llm-call → mock"],
    ["portkey", "Portkey → mock"],
    ["upstream_direct", "mock (upstream mode), direct"],
    ["litellm", "LiteLLM → mock (upstream mode)"],
  ]) {
    if (!c1[key]) continue;
    p(
      `| ${label} | ${num(get(c1, `${key}.latency.p50`))} | ${num(get(c1, `${key}.latency.p99`))} | ${int(c1[key].rps)} | ${int(c10[key]?.rps)} | ${num(get(c10, `${key}.latency.p50`))} | ${num(get(c10, `${key}.latency.p99`))} | ${num(get(st, `${key}.first_token.p50`))} |`,
    );
  }
  p();
  p(
    "The gateway does more per call than either peer (the key, admission and settlement in the team's ledger) and runs under `wrangler dev`, whose own hop is the first row; " +
      "the peers run as plain processes with no database and no budgets. LiteLLM's streams are unpaced (its config only knows plain model names); the others' are paced like the Streaming section's. " +
      "Portkey runs with one workaround for its Node streaming bug (see bench/peers/portkey-server.mjs); its stream handler also waits 25 ms (a fixed `setTimeout`) before forwarding the first chunk, which is most of its first-token figure.",
  );
  p();
}
