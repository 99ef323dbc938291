// The bench's configuration (command-line flags, durations, sizes), its fixed request bodies and
// secrets, its console output, and the error list every section appends to.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { REPO_ROOT } from "./lib/proc.mjs";

export const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const option = (name, fallback) => {
  const i = argv.indexOf(name);
  return i !== -1 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
export const QUICK = flag("--quick");
export const CFG = {
  repeats: Number(option("--repeats", QUICK ? 1 : 3)),
  latencySeconds: QUICK ? 1.5 : 6, // c=1 latency, per target per run
  latencySlices: QUICK ? 1 : 3, // ... in this many alternating slices
  loadSeconds: QUICK ? 1.5 : 4, // c=10 and c=32 throughput, per target per run
  loadSlices: QUICK ? 1 : 2,
  streams: QUICK ? 6 : 25, // streams per target
  streamDelayMs: 20,
  streamChunks: 10,
  cycleSeconds: QUICK ? 2 : 5,
  cycleConcurrency: 10,
  admissionConcurrency: 32,
  ledgerDirectJobs: QUICK ? 200 : 800,
  completeSizes: QUICK ? [1, 10, 100] : [1, 100, 1000],
  completeFillConcurrency: 8,
  historyJobs: QUICK ? 1000 : 10_000,
  historySmall: 10,
  profileReps: QUICK ? 20 : 50, // in-object creates/completes per team per run
  profileReadReps: QUICK ? 50 : 200, // in-object reads per team per run
  readSamples: QUICK ? 15 : 50,
  completeWithHistorySamples: QUICK ? 2 : 5,
  breakdownSamples: QUICK ? 40 : 150,
  litellmSeconds: QUICK ? 1.5 : 4, // peers: c=1 and c=10, per target per round
  litellmRounds: QUICK ? 1 : 3, // peers: rounds
  peerStreams: QUICK ? 6 : 20, // peers: streams per target per round
  cacheSamples: QUICK ? 20 : 100, // response cache: hits and misses each, per upstream, interleaved
  cacheStoreReads: QUICK ? 50 : 300, // response cache: reads per storage in the probe
  budgetMs: 14 * 60_000, // optional sections are skipped past this
};
export const OUT_JSON = option("--out", join(REPO_ROOT, "bench", "results", "latest.json"));
export const WRITE_MD = !flag("--no-md");
/** The generated report goes here (not BENCHMARKS.md, whose notes are written by hand). */
export const OUT_MD = option("--md", join(REPO_ROOT, "bench", "results", "latest.md"));
export const SKIP_LITELLM = flag("--no-litellm");
export const SKIP_PORTKEY = flag("--no-portkey");

export const ADMIN_KEY = `sk-bench-admin-${randomBytes(12).toString("hex")}`;
export const KEY_PEPPER = `bench-pepper-${randomBytes(12).toString("hex")}`;
export const MOCK_KEY = `sk-bench-mock-${randomBytes(12).toString("hex")}`;
export const MESSAGES = [{ role: "user", content: "Summarise what a benchmark of an LLM gateway should measure." }];
export const PLAIN_MODEL = "gpt-4o-mini";
export const STREAM_MODEL = `gpt-4o-mini+delay=${CFG.streamDelayMs}+chunks=${CFG.streamChunks}`;

export const started = Date.now();
export const say = (msg) => process.stdout.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${msg}\n`);
export const overBudget = () => Date.now() - started > CFG.budgetMs;

/** Every non-2xx answer and transport error seen anywhere, by section. */
export const errors = [];
export function noteError(section, what, detail) {
  errors.push({ section, what, detail: String(detail).slice(0, 300) });
}

/** The list in another order: run r starts at element r (so no target is always first). */
export function rotate(list, r) {
  const n = list.length;
  return list.map((_, i) => list[(i + r) % n]);
}
