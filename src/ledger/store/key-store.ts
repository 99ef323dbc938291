import type { CallerKey, KeyGrant, SecretAccess } from "../rules/access";

// A team's named keys and their secrets, in its object (tables access_keys and team_keys of
// migration 270). Nothing here decides anything: rules/access.ts does, through access-store.ts.

export type KeyRow = {
  key_id: string;
  name: string;
  key_prefix: string;
  /** JSON list, or null: all the team's groups. */
  model_groups: string | null;
  expires_at_ms: number | null;
  revoked_at_ms: number | null;
  created_at: string;
  last_used_at_ms: number | null;
};

/** A secret with its key (the key's columns null for a secret of no known key). */
type SecretRow = { valid_until_ms: number | null; key_id: string | null } & Partial<KeyRow>;

export function callerKeyOf(row: Pick<KeyRow, "key_id" | "name" | "model_groups">): CallerKey {
  return { keyId: row.key_id, name: row.name, modelGroups: row.model_groups === null ? null : (JSON.parse(row.model_groups) as string[]) };
}

export class KeyStore {
  constructor(private readonly sql: SqlStorage) {}

  /**
   * A secret and its key: the times at which it stops (the secret's grace, the key's own expiry,
   * its revocation) and the key, or undefined for a secret the team does not have.
   */
  secret(keyHash: string): { ends: Array<number | null>; key: CallerKey | null } | undefined {
    const [row] = this.sql
      .exec<SecretRow>(
        `SELECT s.valid_until_ms, s.key_id, k.name, k.model_groups, k.expires_at_ms, k.revoked_at_ms
         FROM access_keys s LEFT JOIN team_keys k ON k.key_id = s.key_id WHERE s.key_hash = ?`,
        keyHash,
      )
      .toArray();
    if (row === undefined) return undefined;
    const known = row.key_id !== null && row.name != null;
    return {
      ends: [row.valid_until_ms, row.expires_at_ms ?? null, row.revoked_at_ms ?? null],
      key: known ? callerKeyOf({ key_id: row.key_id!, name: row.name!, model_groups: row.model_groups ?? null }) : null,
    };
  }

  key(keyId: string): KeyRow | null {
    return this.sql.exec<KeyRow>("SELECT * FROM team_keys WHERE key_id = ?", keyId).toArray()[0] ?? null;
  }

  /** The keys not revoked, oldest first. */
  liveKeys(): KeyRow[] {
    return this.sql.exec<KeyRow>("SELECT * FROM team_keys WHERE revoked_at_ms IS NULL ORDER BY created_at, key_id").toArray();
  }

  /** Every key's name, revoked ones too (jobs and usage keep naming them). */
  names(): Map<string, string> {
    const rows = this.sql.exec<{ key_id: string; name: string }>("SELECT key_id, name FROM team_keys").toArray();
    return new Map(rows.map((r) => [r.key_id, r.name]));
  }

  /** Creates or updates a key (its secrets are left as they are). */
  putKey(grant: KeyGrant): void {
    this.sql.exec(
      `INSERT INTO team_keys (key_id, name, key_prefix, model_groups, expires_at_ms, revoked_at_ms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (key_id) DO UPDATE SET name = excluded.name, key_prefix = excluded.key_prefix, model_groups = excluded.model_groups,
         expires_at_ms = excluded.expires_at_ms, revoked_at_ms = COALESCE(team_keys.revoked_at_ms, excluded.revoked_at_ms)`,
      grant.keyId,
      grant.name,
      grant.prefix,
      grant.modelGroups === null ? null : JSON.stringify(grant.modelGroups),
      grant.expiresAtMs,
      grant.revokedAtMs,
      grant.createdAt,
    );
  }

  /** A key's new secret, good until the next rotation; its other secrets still good after `retireAtMs` stop then. */
  addSecret(keyId: string, keyHash: string, prefix: string, retireAtMs: number): void {
    this.sql.exec(
      `UPDATE access_keys SET valid_until_ms = ?1
       WHERE key_id = ?2 AND key_hash != ?3 AND (valid_until_ms IS NULL OR valid_until_ms > ?1)`,
      retireAtMs,
      keyId,
      keyHash,
    );
    this.sql.exec("INSERT OR REPLACE INTO access_keys (key_hash, key_id, valid_until_ms) VALUES (?, ?, NULL)", keyHash, keyId);
    this.sql.exec("UPDATE team_keys SET key_prefix = ? WHERE key_id = ?", prefix, keyId);
  }

  /** Stops a key and every secret of it, now. */
  revoke(keyId: string, nowMs: number): void {
    this.sql.exec("UPDATE team_keys SET revoked_at_ms = COALESCE(revoked_at_ms, ?) WHERE key_id = ?", nowMs, keyId);
    this.sql.exec(
      "UPDATE access_keys SET valid_until_ms = ?1 WHERE key_id = ?2 AND (valid_until_ms IS NULL OR valid_until_ms > ?1)",
      nowMs,
      keyId,
    );
  }

  /** Replaces every key and secret (call inside a transaction); a key's last use is kept. */
  replaceAll(keys: KeyGrant[], secrets: SecretAccess[]): void {
    this.sql.exec("DELETE FROM access_keys");
    for (const s of secrets) {
      this.sql.exec("INSERT INTO access_keys (key_hash, key_id, valid_until_ms) VALUES (?, ?, ?)", s.keyHash, s.keyId, s.validUntilMs);
    }
    const kept = new Set(keys.map((k) => k.keyId));
    for (const row of this.sql.exec<{ key_id: string }>("SELECT key_id FROM team_keys").toArray()) {
      if (!kept.has(row.key_id)) this.sql.exec("DELETE FROM team_keys WHERE key_id = ?", row.key_id);
    }
    for (const key of keys) this.putKey(key);
  }

  /** Notes a key's last use. */
  touch(keyId: string, nowMs: number): void {
    this.sql.exec("UPDATE team_keys SET last_used_at_ms = ? WHERE key_id = ?", nowMs, keyId);
  }
}
