import { LEDGER_MIGRATIONS } from "./schema";

/** Applies the migrations not yet applied, each in its own transaction. */
export function migrateLedger(sql: SqlStorage, transaction: (write: () => void) => void): void {
  sql.exec("CREATE TABLE IF NOT EXISTS _ledger_migrations (id INTEGER PRIMARY KEY)");
  const applied = new Set(
    sql
      .exec<{ id: number }>("SELECT id FROM _ledger_migrations")
      .toArray()
      .map((r) => r.id),
  );
  for (const migration of LEDGER_MIGRATIONS) {
    if (applied.has(migration.id)) continue;
    transaction(() => {
      sql.exec(migration.sql);
      sql.exec("INSERT INTO _ledger_migrations (id) VALUES (?)", migration.id);
    });
  }
}
