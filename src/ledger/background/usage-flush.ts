import type { Repository } from "../../db/repository";
import { log } from "../../log";
import type { AccountRow } from "../rows";
import { clearDirty, dailyGroupRowsOf, dailyRowsOf, dirtyDays, oldestDirtyMs } from "../store/usage-store";

/** How long after a change its day's totals are sent to D1: changes in between go in the same batch. */
export const USAGE_FLUSH_DELAY_MS = 2_000;
/** After a failed send, the next try waits this long (the totals stay dirty meanwhile). */
export const USAGE_FLUSH_RETRY_MS = 30_000;
/** Days sent in one D1 batch (each is a row per job type); more wait for the next alarm, due at once. */
export const USAGE_FLUSH_MAX_DAYS = 31;

/**
 * Sends a team's usage totals to D1 for the reports, off the money path: settlements only mark
 * their day dirty (same transaction); the object's alarm calls flush() a few seconds later,
 * which writes the dirty days' absolute totals in one D1 batch. A failed send leaves them dirty
 * for a later try; it never touches money.
 */
export class UsageFlush {
  /** Not before this (ms) after a failure; in memory, so a restarted object tries at once. */
  private retryAtMs = 0;
  /** The send under way: sends run one after another, so an older total never lands after a newer one. */
  private sending: Promise<boolean> = Promise.resolve(true);
  /**
   * When the next send is due, once known while some day is dirty: later changes cannot make it
   * earlier (the oldest dirty day keeps its time), so they need not ask again until a send.
   */
  private dueAtMs: number | null = null;

  constructor(
    private readonly sql: SqlStorage,
    private readonly d1: Repository,
  ) {}

  /** When the alarm should next send usage to D1, or null when D1 has everything. */
  nextFlushDueAt(): number | null {
    if (this.dueAtMs !== null) return this.dueAtMs;
    const since = oldestDirtyMs(this.sql);
    this.dueAtMs = since === null ? null : Math.max(since + USAGE_FLUSH_DELAY_MS, this.retryAtMs);
    return this.dueAtMs;
  }

  /** Sends the dirty days' totals (up to USAGE_FLUSH_MAX_DAYS); true when D1 has them (or there was nothing to send). */
  flush(acct: AccountRow | null): Promise<boolean> {
    this.sending = this.sending.then(() => this.send(acct));
    return this.sending;
  }

  private async send(acct: AccountRow | null): Promise<boolean> {
    // Whatever this send leaves dirty (or a retry time) sets the next due time afresh.
    this.dueAtMs = null;
    const dirty = dirtyDays(this.sql, USAGE_FLUSH_MAX_DAYS);
    if (dirty.length === 0 || !acct) return true;
    const days = dirty.map((d) => d.day);
    const rows = dailyRowsOf(this.sql, days);
    try {
      await this.d1.usage.writeDaily(
        { teamId: acct.team_id, organizationId: acct.organization_id },
        rows,
        dailyGroupRowsOf(this.sql, days),
      );
    } catch {
      // The repository has logged the D1 failure; the days stay dirty for the next try.
      this.retryAtMs = Date.now() + USAGE_FLUSH_RETRY_MS;
      this.dueAtMs = null;
      log("warn", "usage not sent to D1; will retry", { team_id: acct.team_id, days: dirty.length });
      return false;
    }
    // A day changed while the batch was on its way keeps a newer version, and stays dirty.
    for (const d of dirty) clearDirty(this.sql, d.day, d.version);
    this.dueAtMs = null;
    return true;
  }
}
