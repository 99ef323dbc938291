import { Conflict, DependencyDown } from "../errors";
import { log } from "../log";

/** Turns D1 "UNIQUE constraint failed" (single query: in e.cause; batch: in e.message) into a boolean. */
export function isUniqueViolation(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (/UNIQUE constraint failed|PRIMARY KEY/i.test(e.message)) return true;
  }
  return false;
}

/**
 * Replaces a row's children in one atomic batch: `touch` updates the row itself (its change
 * count says whether it exists), `clear` deletes its children, and each insert applies only
 * where the row exists (so a missing row changes nothing). True when the row exists.
 */
export async function replaceChildren(
  d1: D1Database,
  touch: D1PreparedStatement,
  clear: D1PreparedStatement,
  inserts: D1PreparedStatement[],
): Promise<boolean> {
  const [updated] = await d1.batch([touch, clear, ...inserts]);
  return (updated.meta.changes ?? 0) > 0;
}

/**
 * Runs one D1 operation. A UNIQUE violation becomes a Conflict (the route says what already
 * exists); any other D1 failure is logged and becomes DependencyDown, so the caller fails closed.
 */
export async function runQuery<T>(operation: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (error) {
    if (isUniqueViolation(error)) throw new Conflict(operation);
    log("error", "d1 query failed", { operation, error: error instanceof Error ? error.message : String(error) });
    throw new DependencyDown("database");
  }
}
