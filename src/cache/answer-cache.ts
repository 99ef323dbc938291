import { DurableObject } from "cloudflare:workers";
import { type AnswerForm, MAX_STORED_ANSWER_BYTES, type StoredAnswer } from "./stored-answer";

// The response cache's storage: one object per scope (`team:<id>` or `organization:<id>`), so an
// entry can only ever be found by calls of the scope that stored it. Each entry is the upstream's
// raw successful answer in one form (a JSON body or a stream's SSE events) with what the original
// call used and cost; the pipeline writes it back through the asking dialect like a fresh answer.
// Entries live until their time-to-live; past the scope's byte budget the least recently used go.
// Failures answer as values (null, false): a cache that cannot answer is a miss, never an error.

/** What one scope keeps at most; past it the least recently used entries are evicted. */
export const SCOPE_BUDGET_BYTES = 64 * 1024 * 1024;
/** How often expired entries are swept while the scope has any. */
const SWEEP_EVERY_MS = 60 * 60 * 1000;
/**
 * An entry's last use is written at most this often: a hit then reads only, and the object
 * answers without waiting for a write to be stored. Eviction is least recently used to within it.
 */
const TOUCH_EVERY_MS = 10 * 60 * 1000;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS answers (
    key TEXT NOT NULL,
    form TEXT NOT NULL,
    answer TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    stored_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    used_at_ms INTEGER NOT NULL,
    PRIMARY KEY (key, form)
  );
  CREATE INDEX IF NOT EXISTS answers_expiry ON answers (expires_at_ms);
  CREATE INDEX IF NOT EXISTS answers_use ON answers (used_at_ms);
`;

type AnswerRow = { answer: string; expires_at_ms: number; used_at_ms: number };

export class AnswerCache extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(SCHEMA);
  }

  /** The entry for `key` in `form`, unless it has expired (then it is removed). */
  find(key: string, form: AnswerForm): StoredAnswer | null {
    const now = Date.now();
    const [row] = this.sql
      .exec<AnswerRow>("SELECT answer, expires_at_ms, used_at_ms FROM answers WHERE key = ? AND form = ?", key, form)
      .toArray();
    if (!row) return null;
    if (row.expires_at_ms <= now) {
      this.sql.exec("DELETE FROM answers WHERE key = ? AND form = ?", key, form);
      return null;
    }
    if (now - row.used_at_ms > TOUCH_EVERY_MS)
      this.sql.exec("UPDATE answers SET used_at_ms = ? WHERE key = ? AND form = ?", now, key, form);
    return JSON.parse(row.answer) as StoredAnswer;
  }

  /** Keeps (or replaces) an answer for `ttlSeconds`; false when it is too large to keep. */
  async keep(key: string, answer: StoredAnswer, ttlSeconds: number): Promise<boolean> {
    const text = JSON.stringify(answer);
    const bytes = new TextEncoder().encode(text).byteLength;
    if (bytes > MAX_STORED_ANSWER_BYTES) return false;
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      this.sql.exec(
        `INSERT OR REPLACE INTO answers (key, form, answer, bytes, stored_at_ms, expires_at_ms, used_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)`,
        key,
        answer.form,
        text,
        bytes,
        answer.storedAtMs,
        now + ttlSeconds * 1000,
        now,
      );
      this.evictOverBudget();
    });
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(now + SWEEP_EVERY_MS);
    return true;
  }

  /** Removes expired entries; sweeps again later while any are left. */
  async alarm(): Promise<void> {
    this.sql.exec("DELETE FROM answers WHERE expires_at_ms <= ?", Date.now());
    const left = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM answers").one().n;
    if (left > 0) await this.ctx.storage.setAlarm(Date.now() + SWEEP_EVERY_MS);
  }

  /** The least recently used entries go until the scope is within its budget. */
  private evictOverBudget(): void {
    let total = this.sql.exec<{ total: number | null }>("SELECT SUM(bytes) AS total FROM answers").one().total ?? 0;
    if (total <= SCOPE_BUDGET_BYTES) return;
    while (total > SCOPE_BUDGET_BYTES) {
      const oldest = this.sql
        .exec<{ key: string; form: string; bytes: number }>("SELECT key, form, bytes FROM answers ORDER BY used_at_ms LIMIT 64")
        .toArray();
      if (oldest.length === 0) return;
      for (const row of oldest) {
        if (total <= SCOPE_BUDGET_BYTES) return;
        this.sql.exec("DELETE FROM answers WHERE key = ? AND form = ?", row.key, row.form);
        total -= row.bytes;
      }
    }
  }
}
