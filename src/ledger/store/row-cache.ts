import type { BudgetPeriod } from "../../schemas/period-budgets";
import type { AccountRow, BudgetRow, CallHoldRow, JobRow, PolicyRow } from "../rows";
import type { GroupCache } from "../rules/cache-hits";
import type { KeySecret } from "./key-store";

// The team object's hot rows in memory, so that admitting a call reads nothing from SQLite: the
// account, the jobs recently used, the holds of the calls in flight, the access list (keys and
// groups), and the period budgets (each subject's row, what its jobs hold, the budget policy).
// Each is loaded once, on first use, and written through by the store methods that change it
// (LedgerStore, HoldStore, AccessStore, BudgetStore), which also write the row. Every statement goes through the guarded
// storage below, which sees the table each write touches: a write to a cached table that its
// store did not mirror (any other code, a migration) drops that table's cache, which is loaded
// again when next read. A transaction that throws (SQLite undoes it) drops everything, and so
// does erasing the object. SQLite stays the truth; this only spares reading it back.

/** The most jobs kept (the least recently used goes first); a job not kept is read once when next needed. */
const JOBS_KEPT = 2_048;

/** The team's access list, as AccessStore reads it: whether it is loaded, its secrets as asked for (with their keys), its groups' models. */
export interface AccessRows {
  loaded: boolean;
  /** Key hash → the secret and its key (undefined: the team has no such secret), filled as secrets are asked for. */
  secrets: Map<string, KeySecret | undefined>;
  /** Group → its models, priority first, and its response cache (null: none). */
  groups: Map<string, { models: string[]; cache: GroupCache | null }>;
}

/** The period budgets as BudgetStore reads them, each part filled when first asked for. */
export interface BudgetRows {
  /** Subject ("kind:id") → its budget row (null: it has none). */
  subjects: Map<string, BudgetRow | null>;
  policy?: PolicyRow;
  /** The periods that have budgets and reset. */
  resetting?: BudgetPeriod[];
}

type Cached = "account" | "jobs" | "holds" | "access" | "budgets";

/** Which cached table a statement writes, if any ("all": a schema change or several statements). */
function writtenTable(query: string): Cached | "all" | null {
  const write = /^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|REPLACE\s+INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM)\s+["`]?(\w+)/i.exec(query);
  if (!write) return /^\s*(?:ALTER|DROP|CREATE)\b/i.test(query) || query.includes(";") ? "all" : null;
  const table = write[1].toLowerCase();
  if (table === "account") return "account";
  if (table === "jobs") return "jobs";
  if (table === "call_holds") return "holds";
  if (table.startsWith("access_") || table === "team_keys") return "access";
  if (table === "period_budgets" || table === "budget_policy") return "budgets";
  return null;
}

export class RowCache {
  /** undefined: not loaded; null: no account. */
  account: AccountRow | null | undefined;
  private readonly jobs = new Map<string, JobRow>();
  /** Call id → its hold; undefined: not loaded. */
  holds: Map<string, CallHoldRow> | undefined;
  access: AccessRows | undefined;
  budgets: BudgetRows = { subjects: new Map() };
  /**
   * Budget subject ("kind:id") → what its jobs hold (the sum of their hold_micro), filled as
   * subjects are asked for; LedgerStore follows each change of a job's hold_micro.
   */
  readonly held = new Map<string, number>();
  /** Above 0 while a store runs a write it mirrors into the cache itself. */
  private mirroring = 0;

  job(jobId: string): JobRow | undefined {
    const row = this.jobs.get(jobId);
    if (row !== undefined) {
      this.jobs.delete(jobId);
      this.jobs.set(jobId, row);
    }
    return row;
  }

  keepJob(row: JobRow): void {
    this.jobs.delete(row.job_id);
    this.jobs.set(row.job_id, row);
    if (this.jobs.size > JOBS_KEPT) this.jobs.delete(this.jobs.keys().next().value as string);
  }

  /** Changes a kept job as its row was just changed (nothing when it is not kept). */
  patchJob(jobId: string, change: (row: JobRow) => void): void {
    const row = this.jobs.get(jobId);
    if (row) change(row);
  }

  dropJob(jobId: string): void {
    this.jobs.delete(jobId);
  }

  /** A job's hold_micro moved by `deltaMicro`: so does what its key and end user hold (where that is kept). */
  jobHoldMoved(job: Pick<JobRow, "key_id" | "end_user">, deltaMicro: number): void {
    if (deltaMicro === 0) return;
    for (const subject of [job.key_id === null ? null : `key:${job.key_id}`, job.end_user === null ? null : `end_user:${job.end_user}`]) {
      const held = subject === null ? undefined : this.held.get(subject);
      if (held !== undefined) this.held.set(subject!, held + deltaMicro);
    }
  }

  drop(what: Cached | "all"): void {
    if (what === "account" || what === "all") this.account = undefined;
    if (what === "jobs" || what === "all") {
      this.jobs.clear();
      this.held.clear();
    }
    if (what === "budgets" || what === "all") this.budgets = { subjects: new Map() };
    if (what === "holds" || what === "all") this.holds = undefined;
    if (what === "access" || what === "all") this.access = undefined;
  }

  /** Runs a write whose effect on the cache its caller applies itself. */
  mirrored<T>(write: () => T): T {
    this.mirroring += 1;
    try {
      return write();
    } finally {
      this.mirroring -= 1;
    }
  }

  /** A statement is about to run: a write the store does not mirror drops what it touches. */
  seen(query: string): void {
    if (this.mirroring > 0) return;
    const table = writtenTable(query);
    if (table) this.drop(table);
  }
}

/** `sql` with every statement shown to the cache first. */
function guardedSql(sql: SqlStorage, cache: RowCache): SqlStorage {
  return new Proxy(sql, {
    get(target, prop) {
      if (prop === "exec") {
        return (query: string, ...bindings: unknown[]) => {
          cache.seen(query);
          return target.exec(query, ...(bindings as SqlStorageValue[]));
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/**
 * The object's storage as every store uses it: its SQL guarded (above), a transaction that throws
 * dropping the cache (SQLite undid what the cache may have mirrored), and erasing dropping it too.
 */
export function guardedStorage(storage: DurableObjectStorage, cache: RowCache): DurableObjectStorage {
  const sql = guardedSql(storage.sql, cache);
  return new Proxy(storage, {
    get(target, prop) {
      if (prop === "sql") return sql;
      if (prop === "transactionSync") {
        return <T>(write: () => T): T => {
          try {
            return target.transactionSync(write);
          } catch (error) {
            cache.drop("all");
            throw error;
          }
        };
      }
      if (prop === "deleteAll") {
        return async (...args: unknown[]) => {
          cache.drop("all");
          try {
            return await (target.deleteAll as (...a: unknown[]) => Promise<void>)(...args);
          } finally {
            cache.drop("all");
          }
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
