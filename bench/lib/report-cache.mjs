// The report's response cache section: a hit beside a miss (same run, interleaved), with the
// upstream's request count, and one hit read from each storage a Worker could keep answers in.
import { int, num, x } from "./report-format.mjs";

const UPSTREAM_NAMES = { instant: "mock answering at once", llm_300ms: "upstream taking 300 ms (an LLM's order)" };

export function cacheSection(res, p) {
  p("## Response cache");
  p();
  const cache = res.cache;
  if (!cache) {
    p("Not measured (no `cache` section in these results).");
    p();
    return;
  }
  p("| Upstream | hit p50 ms | miss p50 ms | hit / miss | hit p95 ms | miss p95 ms | requests | reached upstream |");
  p("|---|---|---|---|---|---|---|---|");
  for (const [name, u] of Object.entries(cache.upstreams ?? {})) {
    p(
      `| ${UPSTREAM_NAMES[name] ?? name} | ${num(u.hit.p50)} | ${num(u.miss.p50)} | ${x(u.hit_over_miss_p50)} | ${num(u.hit.p95)} | ${num(u.miss.p95)} | ${int(u.requests)} | ${int(u.upstream_requests)} |`,
    );
  }
  p();
  const s = cache.stores ?? {};
  const names = { durable_object: "AnswerCache object (used)", cache_api: "Cache API", kv: "Workers KV" };
  p(
    `One hit read in the Worker: ${int(s.reads)} reads each of a ${int(s.bytes)}-byte answer, in interleaved batches of ${int(s.batch)} (a sample is a batch's mean: the runtime's clock moves in whole milliseconds); local simulations under wrangler dev:`,
  );
  p();
  p("| Storage | p50 ms per read | p95 ms per read |");
  p("|---|---|---|");
  for (const [k, v] of Object.entries(s.p50_ms ?? {})) p(`| ${names[k] ?? k} | ${num(v, 3)} | ${num(s.p95_ms?.[k], 3)} |`);
  p();
  p(
    "Hits and misses alternate on one connection (`llm-call` in one job, cache scope team, hit_price_percent 0); a miss asks a question never asked before, a hit repeats one already stored. " +
      "`reached upstream` is the mock LiteLLM's request count for the team over the same requests: only the misses.",
  );
  p();
}
