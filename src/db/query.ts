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
