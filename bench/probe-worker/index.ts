// Bench fixture: the gateway (src/index.ts, not modified) with timing probes around its I/O.
//
// Each request gets a Server-Timing header listing, in order, every D1 query the Repository
// made (`d1.<method>`), every TeamLedger RPC (`do.<method>`), the upstream fetch (`upstream`,
// to response headers) and the read of its JSON body (`upstream.body`), the HMAC/SHA digests
// (`crypto.<op>`), the log lines (`log`), and `app` (the whole handler in the isolate). The
// probes are monkey patches applied in this isolate only: prototype methods of Repository, a
// Proxy on env.TEAM_LEDGER, globalThis.fetch, Response.prototype.json, console.*, and
// crypto.subtle.sign/digest. The runtime's clock ticks in whole milliseconds: read means over
// many requests, not single values.
//
// It also counts the D1 statements each request runs (a Proxy on env.DB: every prepared
// statement executed through first/all/run/raw counts 1, a batch counts its statements, exec
// counts 1) and reports the count in an `x-bench-d1-statements` header. For a streamed answer
// the header leaves with the first byte, so it counts what ran before it.
import { AsyncLocalStorage } from "node:async_hooks";
import { attemptModel, upstreamConfig } from "../../src/calls/upstream/litellm-client";
import { AccessRecords } from "../../src/db/access-records";
import { IdempotencyRecords } from "../../src/db/idempotency-records";
import { Repository } from "../../src/db/repository";
import gateway, { TeamLedger as GatewayLedger } from "../../src/index";
import type { CallBudget } from "../../src/ledger/rules/holds";

export { AnswerCache } from "../../src/index";

/** Page size for the list reads compared across history sizes: small enough that a 10-job team fills it too. */
const LIST_LIMIT = 5;

const SAMPLE_CALL = {
  modelGroup: "bench",
  status: "success" as const,
  modelUsed: "gpt-4o-mini",
  attempts: [{ model: "gpt-4o-mini", outcome: "ok" as const, status: 200, latency_ms: 1 }],
  purpose: null,
  promptTokens: 20,
  completionTokens: 40,
  totalTokens: 60,
  providerCostNano: 27_000,
  costSource: "litellm" as const,
  usageEstimated: false,
  latencyMs: 1,
  error: null,
  stream: false,
};

/**
 * The gateway's TeamLedger, unchanged, plus one bench-only method that writes a team's history
 * through the real methods inside one invocation (no RPC per job), so 10,000 past jobs take
 * seconds rather than minutes. Every product route sees the real class's behaviour.
 */
/** The bench drives the object as the gateway does for itself: no key to check. */
const ADMIN = { kind: "admin" } as const;

/** A call's budget as the Worker sends it (every admitted call gets a hold row with its deadline); `maxTokens` null lets the object choose. */
function benchBudget(callId: string, maxTokens: number | null = 100): CallBudget {
  return { callId, promptTokens: 20, maxTokens, choices: 1, limits: { attemptMs: 60_000, answerMs: 0 }, stream: false };
}

/**
 * Counts what the object's SQLite does (statements, rows read and written) while `sqlCount` is
 * set: a wrapper on SqlStorage's exec, installed once on its prototype. Cursors are summed when
 * the count ends, once every statement has run to completion.
 */
let sqlCount: SqlStorageCursor<Record<string, SqlStorageValue>>[] | null = null;
let sqlCountInstalled = false;
function installSqlCount(sql: SqlStorage): void {
  if (sqlCountInstalled) return;
  sqlCountInstalled = true;
  const proto = Object.getPrototypeOf(sql) as { exec: (...args: unknown[]) => SqlStorageCursor<Record<string, SqlStorageValue>> };
  const original = proto.exec;
  proto.exec = function (this: unknown, ...args: unknown[]) {
    const cursor = original.apply(this, args);
    sqlCount?.push(cursor);
    return cursor;
  };
}

export class TeamLedger extends GatewayLedger {
  constructor(ctx: DurableObjectState, env: Env) {
    installSqlCount(ctx.storage.sql);
    super(ctx, env);
  }

  /**
   * Bench only: what `jobs` job cycles (create, `callsPerJob` calls, complete) cost this object's
   * SQLite, per job: statements, rows read, rows written, bytes the database grew. Deterministic,
   * so it compares two commits without the machine's noise. Each call carries a budget (a prompt
   * of 20 tokens; with `budget`, max_tokens 100, else none), as the Worker sends it.
   */
  async benchSqlCost(
    jobs: number,
    callsPerJob: number,
    budget: boolean,
  ): Promise<{ ok: boolean; value?: Record<string, number>; code?: string; detail?: string }> {
    const cycle = async () => {
      const jobId = crypto.randomUUID();
      const created = await this.createJob(ADMIN, {
        jobId,
        jobType: "bench-sql",
        userId: null,
        metadata: {},
        operation: { id: crypto.randomUUID() },
      });
      if (!created.ok) return created;
      for (let k = 0; k < callsPerJob; k++) {
        const callId = crypto.randomUUID();
        const admitted = await this.beginCall(ADMIN, jobId, "bench", "team", benchBudget(callId, budget ? 100 : null));
        if (!admitted.ok) return admitted;
        const recorded = await this.recordCall(jobId, { ...SAMPLE_CALL, callId });
        if (!recorded.ok) return recorded;
      }
      return this.completeJob(ADMIN, {
        jobId,
        status: "completed",
        errorMessage: null,
        metadata: null,
        operation: { id: crypto.randomUUID() },
      });
    };
    const warm = await cycle(); // the first touches caches (access, prices) once
    if (!warm.ok) return warm;
    const bytesBefore = this.ctx.storage.sql.databaseSize;
    const cursors: NonNullable<typeof sqlCount> = [];
    sqlCount = cursors;
    try {
      for (let i = 0; i < jobs; i++) {
        const done = await cycle();
        if (!done.ok) return done;
      }
    } finally {
      sqlCount = null;
    }
    const sum = (pick: (c: (typeof cursors)[number]) => number) => cursors.reduce((n, c) => n + pick(c), 0) / jobs;
    return {
      ok: true,
      value: {
        statements: cursors.length / jobs,
        rows_read: sum((c) => c.rowsRead),
        rows_written: sum((c) => c.rowsWritten),
        bytes_grown: (this.ctx.storage.sql.databaseSize - bytesBefore) / jobs,
      },
    };
  }

  async benchSeedHistory(
    jobs: number,
    callsPerJob: number,
  ): Promise<{ ok: boolean; value?: { jobs: number; ms: number }; code?: string; detail?: string }> {
    const started = performance.now();
    for (let i = 0; i < jobs; i++) {
      const jobId = crypto.randomUUID();
      const created = await this.createJob(ADMIN, {
        jobId,
        jobType: "bench-history",
        userId: null,
        metadata: { i },
        operation: { id: crypto.randomUUID() },
      });
      if (!created.ok) return created;
      for (let k = 0; k < callsPerJob; k++) {
        const callId = crypto.randomUUID();
        const admitted = await this.beginCall(ADMIN, jobId, "bench", "team", benchBudget(callId));
        if (!admitted.ok) return admitted;
        const recorded = await this.recordCall(jobId, { ...SAMPLE_CALL, callId });
        if (!recorded.ok) return recorded;
      }
      const completed = await this.completeJob(ADMIN, {
        jobId,
        status: "completed",
        errorMessage: null,
        metadata: null,
        operation: { id: crypto.randomUUID() },
      });
      if (!completed.ok) return completed;
    }
    return { ok: true, value: { jobs, ms: performance.now() - started } };
  }

  /**
   * Bench only: the admission a job already in progress would need if beginCall did not write
   * (the change proposed in BENCHMARKS.md): the same checks, read-only, job_based mode; anything
   * else falls through to the real beginCall. Used to measure the "after" beside the "before".
   */
  benchAdmitReadOnly(jobId: string, modelGroup: string) {
    const { store } = this as unknown as {
      store: {
        account(): { status: string; budget_mode: string; cost_markup_percentage: number } | null;
        job(id: string): { status: string; model_groups_used: string; job_type: string; user_id: string | null } | null;
      };
    };
    const acct = store.account();
    const job = store.job(jobId);
    if (
      !acct ||
      !job ||
      acct.status !== "active" ||
      acct.budget_mode !== "job_based" ||
      job.status !== "in_progress" ||
      !JSON.parse(job.model_groups_used).includes(modelGroup)
    ) {
      return this.beginCall(ADMIN, jobId, modelGroup, "team", benchBudget(crypto.randomUUID()));
    }
    return { ok: true as const, value: { jobType: job.job_type, userId: job.user_id, markupPercentage: acct.cost_markup_percentage } };
  }

  /**
   * Bench only: the in-object cost (ms per operation, no RPC, no HTTP) of the reads and of
   * creating and completing a 1-call job, against whatever history this object holds. Each
   * figure is a mean over `reps` operations, so the runtime's whole-millisecond clock is fine.
   */
  async benchProfile(
    reps: number,
    period: string,
    readReps = reps,
  ): Promise<{ ok: boolean; value?: Record<string, number>; code?: string; detail?: string }> {
    const time = async (fn: () => unknown) => {
      const t0 = performance.now();
      for (let i = 0; i < readReps; i++) await fn();
      return (performance.now() - t0) / readReps;
    };
    const value: Record<string, number> = {
      balance: await time(() => this.getBalance(ADMIN)),
      usage: await time(() => this.usage(ADMIN, period)),
      transactions: await time(() => this.listTransactions(ADMIN, LIST_LIMIT, 0)),
      jobs: await time(() => this.listJobs(ADMIN, { limit: LIST_LIMIT, offset: 0 })),
    };
    const ids: string[] = [];
    let t0 = performance.now();
    for (let i = 0; i < reps; i++) {
      const jobId = crypto.randomUUID();
      const created = await this.createJob(ADMIN, {
        jobId,
        jobType: "bench-profile",
        userId: null,
        metadata: {},
        operation: { id: crypto.randomUUID() },
      });
      if (!created.ok) return created;
      ids.push(jobId);
    }
    value.create = (performance.now() - t0) / reps;
    t0 = performance.now();
    for (const jobId of ids) {
      const callId = crypto.randomUUID();
      await this.beginCall(ADMIN, jobId, "bench", "team", benchBudget(callId));
      await this.recordCall(jobId, { ...SAMPLE_CALL, callId });
    }
    value.call = (performance.now() - t0) / reps;
    t0 = performance.now();
    for (const jobId of ids) {
      const completed = await this.completeJob(ADMIN, {
        jobId,
        status: "completed",
        errorMessage: null,
        metadata: null,
        operation: { id: crypto.randomUUID() },
      });
      if (!completed.ok) return completed;
    }
    value.complete = (performance.now() - t0) / reps;
    return { ok: true, value };
  }
}

type Timing = [name: string, ms: number];
const timings = new AsyncLocalStorage<Timing[]>();

function timed<T>(name: string, run: () => Promise<T>): Promise<T> {
  const store = timings.getStore();
  if (!store) return run();
  const started = performance.now();
  return run().finally(() => store.push([name, performance.now() - started]));
}

// ---- D1: every public method of the Repository and of its idempotency and access records.
for (const [prefix, cls] of [
  ["d1", Repository],
  ["d1.idempotency", IdempotencyRecords],
  ["d1.access", AccessRecords],
] as const) {
  const proto = cls.prototype as unknown as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(cls.prototype)) {
    const original = proto[name];
    // `replica` only hands back another Repository (its queries are timed like these).
    if (name === "constructor" || name === "run" || name === "replica" || typeof original !== "function") continue;
    proto[name] = function (this: unknown, ...args: unknown[]) {
      return timed(`${prefix}.${name}`, () => (original as (...a: unknown[]) => Promise<unknown>).apply(this, args));
    };
  }
}

// ---- Upstream: the global fetch (the gateway's only outbound fetch is LiteLLM).
const originalFetch = globalThis.fetch;
globalThis.fetch = ((input: RequestInfo | URL, init?: RequestInit) => timed("upstream", () => originalFetch(input, init))) as typeof fetch;

// ---- Reading the upstream's JSON answer (the only Response.json() in the gateway's call path).
const originalResponseJson = Response.prototype.json;
Response.prototype.json = function (this: Response) {
  return timed("upstream.body", () => originalResponseJson.call(this));
} as typeof Response.prototype.json;

// ---- The gateway's log lines (one JSON line per request, through console.*).
for (const level of ["log", "warn", "error"] as const) {
  const original = console[level].bind(console);
  console[level] = (...args: unknown[]) => {
    const store = timings.getStore();
    if (!store) return original(...args);
    const started = performance.now();
    original(...args);
    store.push(["log", performance.now() - started]);
  };
}

// ---- WebCrypto used by auth (key HMAC, admin-key digests), where the runtime lets us patch it.
for (const op of ["sign", "digest"] as const) {
  try {
    const subtle = crypto.subtle as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const original = subtle[op].bind(crypto.subtle);
    Object.defineProperty(subtle, op, {
      value: (...args: unknown[]) => timed(`crypto.${op}`, () => original(...args)),
      configurable: true,
    });
  } catch {
    // Not patchable here: its time stays inside `app`.
  }
}

// ---- Durable Object: every RPC on a TeamLedger stub.
function wrapStub(stub: object): object {
  return new Proxy(stub, {
    get(target, prop) {
      if (prop === "then" || typeof prop !== "string") return undefined;
      // Call through the stub itself: an RPC method's own properties (even `apply`) are RPC names.
      const rpc = target as Record<string, (...a: unknown[]) => Promise<unknown>>;
      return (...args: unknown[]) => timed(`do.${prop}`, () => rpc[prop](...args));
    },
  });
}

// ---- D1 statement counter (per request, through env.DB).
const statementCount = new AsyncLocalStorage<{ n: number }>();
const unwrapped = new WeakMap<object, object>();
const count = (n: number) => {
  const store = statementCount.getStore();
  if (store) store.n += n;
};

function wrapStatement(statement: object): object {
  const wrapped = new Proxy(statement, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      if (prop === "bind") return (...args: unknown[]) => wrapStatement(value.apply(target, args));
      if (prop === "first" || prop === "all" || prop === "run" || prop === "raw")
        return (...args: unknown[]) => {
          count(1);
          return value.apply(target, args);
        };
      return value.bind(target);
    },
  });
  unwrapped.set(wrapped, statement);
  return wrapped;
}

function wrapDatabase(db: D1Database): D1Database {
  return new Proxy(db, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      if (prop === "prepare") return (sql: string) => wrapStatement(target.prepare(sql));
      if (prop === "batch")
        return (statements: object[]) => {
          count(statements.length);
          return target.batch(statements.map((s) => unwrapped.get(s) ?? s) as D1PreparedStatement[]);
        };
      if (prop === "exec")
        return (sql: string) => {
          count(1);
          return target.exec(sql);
        };
      return value.bind(target);
    },
  });
}

function probedEnv(env: Env): Env {
  const db = wrapDatabase(env.DB);
  const namespace = env.TEAM_LEDGER;
  const wrappedNamespace = new Proxy(namespace, {
    get(target, prop) {
      if (prop === "getByName") return (name: string) => wrapStub(target.getByName(name));
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return new Proxy(env, {
    get: (target, prop) => (prop === "TEAM_LEDGER" ? wrappedNamespace : prop === "DB" ? db : Reflect.get(target, prop)),
  });
}

function serverTiming(list: Timing[]): string {
  return list.map(([name, ms]) => `${name.replace(/[^A-Za-z0-9_.-]/g, "_")};dur=${ms.toFixed(3)}`).join(", ");
}

// ---- Ledger driver: job cycles straight against one TeamLedger object over RPC.
interface LedgerDrive {
  team_id: string;
  jobs: number;
  concurrency: number;
  calls_per_job?: number;
  /** "cycle" (default): create [+ calls] + complete. "read": getBalance only (the RPC floor, no write). */
  op?: "cycle" | "read";
}

type Stub = Record<string, (...a: unknown[]) => Promise<{ ok: boolean; code?: string }>>;

async function driveLedger(env: Env, spec: LedgerDrive): Promise<Response> {
  const stub = env.TEAM_LEDGER.getByName(spec.team_id) as unknown as Stub;
  const callsPerJob = spec.calls_per_job ?? 0;
  let next = 0;
  let failures = 0;
  let firstFailure: string | null = null;
  const rpcMs: Record<string, number[]> = { createJob: [], beginCall: [], recordCall: [], completeJob: [], getBalance: [] };
  const rpc = async (method: string, ...args: unknown[]) => {
    const t0 = performance.now();
    const result = await stub[method](...args);
    rpcMs[method].push(performance.now() - t0);
    if (!result.ok) {
      failures++;
      firstFailure ??= `${method}: ${result.code}`;
    }
    return result;
  };
  const started = performance.now();
  const worker = async () => {
    while (next < spec.jobs) {
      next++;
      if (spec.op === "read") {
        await rpc("getBalance", ADMIN);
        continue;
      }
      const jobId = crypto.randomUUID();
      await rpc("createJob", ADMIN, {
        jobId,
        jobType: "bench-history",
        userId: null,
        metadata: {},
        operation: { id: crypto.randomUUID() },
      });
      for (let i = 0; i < callsPerJob; i++) {
        await rpc("beginCall", ADMIN, jobId, "bench");
        await rpc("recordCall", jobId, { ...SAMPLE_CALL, callId: crypto.randomUUID() });
      }
      await rpc("completeJob", ADMIN, {
        jobId,
        status: "completed",
        errorMessage: null,
        metadata: null,
        operation: { id: crypto.randomUUID() },
      });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, spec.concurrency) }, worker));
  const elapsedMs = performance.now() - started;
  const median = (a: number[]) => (a.length ? [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] : null);
  return Response.json({
    jobs: spec.jobs,
    calls_per_job: callsPerJob,
    concurrency: spec.concurrency,
    elapsed_ms: elapsedMs,
    jobs_per_s: (spec.jobs / elapsedMs) * 1000,
    failures,
    first_failure: firstFailure,
    rpc_median_ms: Object.fromEntries(Object.entries(rpcMs).map(([k, v]) => [k, median(v)])),
  });
}

// ---- Response cache storage: one hit read from each place a Worker could keep answers.

/**
 * The same stored answer (a typical chat completion, about 1.5 KB) read `n` times, interleaved,
 * from the gateway's AnswerCache object (what it uses), the Cache API and Workers KV, timed in the
 * Worker. Local simulations of each: they compare the Worker's own cost of a read, not a read
 * across Cloudflare's network (BENCHMARKS.md says what each does there).
 */
async function timeAnswerStores(env: Env & { BENCH_KV?: KVNamespace }, spec: { n: number }) {
  const key = crypto.randomUUID();
  const answer = {
    form: "json" as const,
    body: JSON.stringify({ id: "chatcmpl-x", choices: [{ index: 0, message: { role: "assistant", content: "word ".repeat(250) } }] }),
    promptTokens: 20,
    completionTokens: 250,
    totalTokens: 270,
    usageEstimated: false,
    providerCostNano: 153_000,
    modelUsed: "gpt-4o-mini",
    storedAtMs: Date.now(),
  };
  const text = JSON.stringify(answer);
  const object = env.ANSWER_CACHE.getByName(`bench:${key}`);
  await object.keep(key, answer, 3600);
  const cacheUrl = `https://answers.bench.internal/${key}`;
  await caches.default.put(cacheUrl, new Response(text, { headers: { "cache-control": "max-age=3600" } }));
  const kv = env.BENCH_KV;
  if (kv) await kv.put(key, text, { expirationTtl: 3600 });
  const reads: Record<string, () => Promise<unknown>> = {
    durable_object: () => object.find(key, "json"),
    cache_api: async () => (await caches.default.match(cacheUrl))?.text(),
    ...(kv ? { kv: () => kv.get(key) } : {}),
  };
  // The clock here moves in whole milliseconds: each sample is the mean of a batch of reads.
  const batch = 10;
  const samples: Record<string, number[]> = {};
  const misses: Record<string, number> = {};
  for (let i = 0; i < Math.ceil(spec.n / batch); i++) {
    for (const [name, read] of Object.entries(reads)) {
      const t0 = performance.now();
      for (let j = 0; j < batch; j++) if (!(await read())) misses[name] = (misses[name] ?? 0) + 1;
      (samples[name] ??= []).push((performance.now() - t0) / batch);
    }
  }
  const quantile = (values: number[], q: number) =>
    [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))];
  return {
    bytes: text.length,
    reads: spec.n,
    batch,
    p50_ms: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, quantile(v, 0.5)])),
    p95_ms: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, quantile(v, 0.95)])),
    misses,
  };
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/__bench/ledger" && request.method === "POST") {
      return driveLedger(env, (await request.json()) as LedgerDrive);
    }
    if (url.pathname === "/__bench/seed-history" && request.method === "POST") {
      const spec = (await request.json()) as { team_id: string; jobs: number; calls_per_job?: number };
      const stub = env.TEAM_LEDGER.getByName(spec.team_id) as unknown as TeamLedger;
      const chunk = 500; // several invocations, so no single one runs for long
      let ms = 0;
      for (let done = 0; done < spec.jobs; done += chunk) {
        const result = await stub.benchSeedHistory(Math.min(chunk, spec.jobs - done), spec.calls_per_job ?? 0);
        if (!result.ok) return Response.json(result, { status: 500 });
        ms += result.value!.ms;
      }
      return Response.json({ ok: true, jobs: spec.jobs, ms });
    }
    if (url.pathname === "/__bench/sql-cost" && request.method === "POST") {
      const spec = (await request.json()) as { team_id: string; jobs: number; calls_per_job: number; budget: boolean };
      const stub = env.TEAM_LEDGER.getByName(spec.team_id) as unknown as TeamLedger;
      const result = await stub.benchSqlCost(spec.jobs, spec.calls_per_job, spec.budget);
      return Response.json(result, { status: result.ok ? 200 : 500 });
    }
    if (url.pathname === "/__bench/profile" && request.method === "POST") {
      const spec = (await request.json()) as { team_id: string; reps: number; read_reps?: number; period: string };
      const stub = env.TEAM_LEDGER.getByName(spec.team_id) as unknown as TeamLedger;
      const result = await stub.benchProfile(spec.reps, spec.period, spec.read_reps ?? spec.reps);
      return Response.json(result, { status: result.ok ? 200 : 500 });
    }
    if (url.pathname === "/__bench/after-do" && request.method === "POST") {
      // The same I/O timed alone and right after a Durable Object RPC, interleaved, inside the
      // isolate: an upstream fetch (plain, as the bare Worker does it, and through the gateway's
      // attemptModel), a one-table D1 read, and a zero-delay timer. Shows what a DO call costs
      // the Worker beyond its own round trip in this runtime.
      const spec = (await request.json()) as { n: number; team_id: string };
      const config = upstreamConfig(env);
      const upstreamUrl = `${config.baseUrl.replace(/\/+$/, "")}/chat/completions`;
      const body = { messages: [{ role: "user", content: "Summarise what a benchmark of an LLM gateway should measure." }] };
      const headers = { "content-type": "application/json", authorization: `Bearer ${config.apiKey}` };
      const stub = env.TEAM_LEDGER.getByName(spec.team_id) as unknown as { getBalance(caller: typeof ADMIN): Promise<unknown> };
      const repo = new Repository(env.DB);
      const io: Record<string, () => Promise<unknown>> = {
        fetch: async () =>
          (
            await originalFetch(upstreamUrl, { method: "POST", headers, body: JSON.stringify({ ...body, model: "gpt-4o-mini" }) })
          ).arrayBuffer(),
        attempt_model: async () => {
          const res = await attemptModel(config, "gpt-4o-mini", body, crypto.randomUUID(), request.signal);
          if (res.ok) await res.response.json();
        },
        d1_read: () => repo.pricing.list(),
        timer_0: () => new Promise((resolve) => setTimeout(resolve, 0)),
      };
      const totals: Record<string, number> = {};
      for (let i = 0; i < spec.n; i++) {
        for (const [name, run] of Object.entries(io)) {
          for (const after of [false, true]) {
            if (after) await stub.getBalance(ADMIN);
            const t0 = performance.now();
            await run();
            const key = `${name}${after ? "_after_do" : "_alone"}`;
            totals[key] = (totals[key] ?? 0) + performance.now() - t0;
          }
        }
      }
      return Response.json(Object.fromEntries(Object.entries(totals).map(([k, v]) => [k, v / spec.n])));
    }
    if (url.pathname === "/__bench/admit" && request.method === "POST") {
      // Admission of a call in a job already in progress, over RPC: the current beginCall (writes)
      // against the proposed read-only admission, interleaved; each timed alone and together with
      // the wait the Worker then sees (a zero-delay timer after the RPC).
      const spec = (await request.json()) as { n: number; team_id: string };
      const stub = env.TEAM_LEDGER.getByName(spec.team_id) as unknown as TeamLedger;
      const jobId = crypto.randomUUID();
      await stub.createJob(ADMIN, { jobId, jobType: "bench-admit", userId: null, metadata: {}, operation: { id: crypto.randomUUID() } });
      await stub.beginCall(ADMIN, jobId, "bench", "team", benchBudget(crypto.randomUUID()));
      const variants: Record<string, () => Promise<{ ok: boolean }>> = {
        begin_call: () => stub.beginCall(ADMIN, jobId, "bench", "team", benchBudget(crypto.randomUUID())) as Promise<{ ok: boolean }>,
        read_only: () => stub.benchAdmitReadOnly(jobId, "bench") as unknown as Promise<{ ok: boolean }>,
      };
      const totals: Record<string, number> = {};
      for (let i = 0; i < spec.n; i++) {
        for (const [name, run] of Object.entries(variants)) {
          const t0 = performance.now();
          const result = await run();
          const t1 = performance.now();
          await new Promise((resolve) => setTimeout(resolve, 0));
          const t2 = performance.now();
          if (!result.ok) return Response.json({ error: `${name} refused` }, { status: 500 });
          totals[`${name}_rpc`] = (totals[`${name}_rpc`] ?? 0) + (t1 - t0);
          totals[`${name}_rpc_and_wait`] = (totals[`${name}_rpc_and_wait`] ?? 0) + (t2 - t0);
        }
      }
      await stub.completeJob(ADMIN, {
        jobId,
        status: "cancelled",
        errorMessage: null,
        metadata: null,
        operation: { id: crypto.randomUUID() },
      });
      return Response.json(Object.fromEntries(Object.entries(totals).map(([k, v]) => [k, v / spec.n])));
    }
    if (url.pathname === "/__bench/answer-stores" && request.method === "POST") {
      return Response.json(await timeAnswerStores(env as Env & { BENCH_KV?: KVNamespace }, (await request.json()) as { n: number }));
    }
    if (url.pathname === "/__bench/clock") {
      // Does performance.now() advance during pure CPU work in this runtime? (It does not in production.)
      const t0 = performance.now();
      let x = 0;
      for (let i = 0; i < 5_000_000; i++) x += i % 7;
      return Response.json({ cpu_loop_ms: performance.now() - t0, x });
    }
    const list: Timing[] = [];
    const statements = { n: 0 };
    return statementCount.run(statements, () =>
      timings.run(list, async () => {
        const started = performance.now();
        const response = await gateway.fetch(request, probedEnv(env), ctx);
        list.push(["app", performance.now() - started]);
        const out = new Response(response.body, response);
        out.headers.set("server-timing", serverTiming(list));
        out.headers.set("x-bench-d1-statements", String(statements.n));
        return out;
      }),
    );
  },
  scheduled: gateway.scheduled,
} satisfies ExportedHandler<Env>;
