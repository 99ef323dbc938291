import { argumentsDigest } from "../rules/operation-digest";
import type { LedgerResult, Operation } from "../types";
import { ok, refusal } from "../types";

// Exactly-once for a team's money changes. Every change carries an operation id (the HTTP layer
// derives it from the caller's Idempotency-Key, or makes a fresh one). The object applies an id
// once: the first result is written in the same transaction as the change, and a repeat of the
// id gets that result back and changes nothing. So a retry after an answer lost on the way back
// (the object committed, the Worker saw an error) never applies the change twice.

/** The ledger methods that change money or jobs, each applied once per operation id. */
export type OperationMethod =
  | "openAccount"
  | "addCredits"
  | "updateSettings"
  | "createJob"
  | "completeJob"
  | "refundJob"
  | "makeGrant"
  | "voidGrant"
  | "setAllowance"
  | "removeAllowance";

/** An operation is remembered this long (as long as the Idempotency-Key answers kept in D1). */
export const OPERATION_TTL_MS = 24 * 60 * 60 * 1000;
/** Texts longer than this are not kept (a repeat still gets the result, without the kept text). */
export const MAX_KEPT_CHARS = 256 * 1024;
/** Forgotten operations swept per write: bounded work, and writes outnumber expiries. */
const SWEEP_BATCH = 16;

export interface Recalled {
  method: OperationMethod;
  result: unknown;
  kept: string | null;
}

type OperationRow = {
  method: OperationMethod;
  digest: string;
  result: string;
  kept: string | null;
};

export function operationMismatch(): LedgerResult<never> {
  // Operation ids come from Idempotency-Keys (fresh ones never meet), so the client is told in those words.
  return refusal("OPERATION_MISMATCH", "This Idempotency-Key was already used for a different request");
}

/** The operations table: read and written synchronously, inside the change's transaction. */
export class OperationLog {
  constructor(private readonly sql: SqlStorage) {}

  find(id: string, nowMs = Date.now()): OperationRow | null {
    return (
      this.sql
        .exec<OperationRow>(
          "SELECT method, digest, result, kept FROM operations WHERE op_id = ? AND created_at_ms > ?",
          id,
          nowMs - OPERATION_TTL_MS,
        )
        .toArray()[0] ?? null
    );
  }

  /** Remembers an applied operation, and forgets a few that are past their time. */
  save(operation: Operation, method: OperationMethod, digest: string, result: unknown, nowMs = Date.now()): void {
    const kept = operation.keep && operation.keep.length <= MAX_KEPT_CHARS ? operation.keep : null;
    this.sql.exec(
      "INSERT OR REPLACE INTO operations (op_id, method, digest, result, kept, created_at_ms) VALUES (?, ?, ?, ?, ?, ?)",
      operation.id,
      method,
      digest,
      JSON.stringify(result),
      kept,
      nowMs,
    );
    this.sql.exec(
      "DELETE FROM operations WHERE op_id IN (SELECT op_id FROM operations WHERE created_at_ms <= ? ORDER BY created_at_ms LIMIT ?)",
      nowMs - OPERATION_TTL_MS,
      SWEEP_BATCH,
    );
  }

  /**
   * Applies `change` once per operation id, in one transaction with the record of it. A repeat
   * with the same method and arguments returns the first result; with others, a refusal.
   */
  async applyOnce<T>(
    transaction: <R>(write: () => R) => R,
    method: OperationMethod,
    operation: Operation,
    args: unknown,
    change: () => LedgerResult<T>,
  ): Promise<LedgerResult<T>> {
    const digest = await argumentsDigest(method, args);
    // From here on synchronous: no other request runs between the check and the write.
    const earlier = this.find(operation.id);
    if (earlier) {
      return earlier.method === method && earlier.digest === digest ? ok(JSON.parse(earlier.result) as T) : operationMismatch();
    }
    return transaction(() => {
      const result = change();
      if (result.ok) this.save(operation, method, digest, result.value);
      return result;
    });
  }

  /** Forgets operations, so their ids apply afresh (a one-request job refused at admission: its key runs again). */
  forget(...ids: string[]): void {
    for (const id of ids) this.sql.exec("DELETE FROM operations WHERE op_id = ?", id);
  }

  /** An applied operation, if `args` (when given) are the ones it was applied with. */
  async recall(id: string, method: OperationMethod, args?: unknown): Promise<LedgerResult<Recalled | null>> {
    const digest = args === undefined ? null : await argumentsDigest(method, args);
    const earlier = this.find(id);
    if (!earlier) return ok(null);
    if (earlier.method !== method || (digest !== null && earlier.digest !== digest)) return operationMismatch();
    return ok({ method, result: JSON.parse(earlier.result), kept: earlier.kept });
  }
}
