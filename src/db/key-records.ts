import { and, eq, isNull } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import { runQuery } from "./query";
import type * as schema from "./schema";
import { apiKeys, teamKeys } from "./schema";

// A team's named keys as D1 keeps them (team_keys) with their secrets (api_keys, only as keyed
// hashes): for admin writes, key lookups, and the team object's access list when it loads it.
// The team's object keeps the same keys and decides every request; spend lives only there.

export type TeamKeyRow = typeof teamKeys.$inferSelect;

/** A new secret of a key: its row id, keyed hash and display prefix. */
export type NewSecret = { secretId: string; keyHash: string; keyPrefix: string };

/** A key's budget as D1 keeps it: credits per period (day, week, month or total). */
export type KeyBudgetRecord = { credits: number; period: string };

/** What a key is created with. */
export interface NewTeamKey {
  keyId: string;
  name: string;
  modelGroups: string[] | null;
  budget: KeyBudgetRecord | null;
  expiresAt: string | null;
}

/** A change to a key: a field left out is kept; null removes a budget, a narrowing or an expiry. */
export interface TeamKeyChange {
  name?: string;
  modelGroups?: string[] | null;
  budget?: KeyBudgetRecord | null;
  expiresAt?: string | null;
}

export class KeyRecords {
  constructor(
    private readonly db: DrizzleD1Database<typeof schema>,
    private readonly d1: D1Database,
  ) {}

  /**
   * Creates a key with its first secret. Null when the team does not exist (nothing is written);
   * a Conflict when a live key of the team already has the name.
   */
  create(teamId: string, key: NewTeamKey, secret: NewSecret): Promise<TeamKeyRow | null> {
    const now = new Date().toISOString();
    return runQuery("createTeamKey", async () => {
      const [inserted] = await this.d1.batch([
        this.d1
          .prepare(
            `INSERT INTO team_keys (key_id, team_id, name, key_prefix, model_groups, budget_credits, budget_period, expires_at, created_at,
               updated_at)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9 WHERE EXISTS (SELECT 1 FROM teams WHERE team_id = ?2)`,
          )
          .bind(
            key.keyId,
            teamId,
            key.name,
            secret.keyPrefix,
            key.modelGroups === null ? null : JSON.stringify(key.modelGroups),
            key.budget?.credits ?? null,
            key.budget?.period ?? null,
            key.expiresAt,
            now,
          ),
        this.d1
          .prepare(
            `INSERT INTO api_keys (key_id, team_id, team_key_id, key_hash, key_prefix, created_at, expires_at)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE EXISTS (SELECT 1 FROM team_keys WHERE key_id = ?3)`,
          )
          .bind(secret.secretId, teamId, key.keyId, secret.keyHash, secret.keyPrefix, now, key.expiresAt),
      ]);
      return (inserted.meta.changes ?? 0) > 0 ? await this.get(teamId, key.keyId) : null;
    });
  }

  /** A key of the team (revoked ones too), or null. */
  get(teamId: string, keyId: string): Promise<TeamKeyRow | null> {
    return runQuery("getTeamKey", async () => {
      const [row] = await this.db
        .select()
        .from(teamKeys)
        .where(and(eq(teamKeys.teamId, teamId), eq(teamKeys.keyId, keyId)));
      return row ?? null;
    });
  }

  /** The groups the key a secret belongs to is narrowed to (null: all its team's, or a secret of no named key). */
  groupsOfSecret(keyHash: string): Promise<string[] | null> {
    return runQuery("groupsOfKeySecret", async () => {
      const [row] = await this.db
        .select({ modelGroups: teamKeys.modelGroups })
        .from(apiKeys)
        .innerJoin(teamKeys, eq(teamKeys.keyId, apiKeys.teamKeyId))
        .where(eq(apiKeys.keyHash, keyHash));
      return row?.modelGroups ?? null;
    });
  }

  /** The team's live key of this name, or null. */
  named(teamId: string, name: string): Promise<TeamKeyRow | null> {
    return runQuery("getTeamKeyByName", async () => {
      const [row] = await this.db
        .select()
        .from(teamKeys)
        .where(and(eq(teamKeys.teamId, teamId), eq(teamKeys.name, name), isNull(teamKeys.revokedAt)));
      return row ?? null;
    });
  }

  /** Changes a live key; null when the team has no such live key. A Conflict when the new name is taken. */
  update(teamId: string, keyId: string, change: TeamKeyChange): Promise<TeamKeyRow | null> {
    return runQuery("updateTeamKey", async () => {
      const set: Partial<typeof teamKeys.$inferInsert> = { updatedAt: new Date().toISOString() };
      if (change.name !== undefined) set.name = change.name;
      if (change.modelGroups !== undefined) set.modelGroups = change.modelGroups;
      if (change.budget !== undefined) {
        set.budgetCredits = change.budget?.credits ?? null;
        set.budgetPeriod = change.budget?.period ?? null;
      }
      if (change.expiresAt !== undefined) set.expiresAt = change.expiresAt;
      const [row] = await this.db
        .update(teamKeys)
        .set(set)
        .where(and(eq(teamKeys.teamId, teamId), eq(teamKeys.keyId, keyId), isNull(teamKeys.revokedAt)))
        .returning();
      return row ?? null;
    });
  }

  /**
   * A key's new secret: its secrets still good stop at once, or after `graceSeconds`. Null when
   * the team has no such live key (and nothing is written).
   */
  rotate(teamId: string, keyId: string, secret: NewSecret, graceSeconds: number): Promise<TeamKeyRow | null> {
    const now = new Date();
    const nowIso = now.toISOString();
    const retiredAt = graceSeconds > 0 ? new Date(now.getTime() + graceSeconds * 1000).toISOString() : nowIso;
    return runQuery("rotateTeamKey", async () => {
      const [, inserted] = await this.d1.batch([
        this.d1
          .prepare(
            `UPDATE api_keys SET expires_at = ?3
             WHERE team_key_id = ?1 AND team_id = ?2 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?3)
               AND EXISTS (SELECT 1 FROM team_keys WHERE key_id = ?1 AND team_id = ?2 AND revoked_at IS NULL)`,
          )
          .bind(keyId, teamId, retiredAt),
        this.d1
          .prepare(
            `INSERT INTO api_keys (key_id, team_id, team_key_id, key_hash, key_prefix, created_at, expires_at)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, k.expires_at FROM team_keys k WHERE k.key_id = ?3 AND k.team_id = ?2 AND k.revoked_at IS NULL`,
          )
          .bind(secret.secretId, teamId, keyId, secret.keyHash, secret.keyPrefix, nowIso),
        this.d1
          .prepare("UPDATE team_keys SET key_prefix = ?3, updated_at = ?4 WHERE key_id = ?1 AND team_id = ?2 AND revoked_at IS NULL")
          .bind(keyId, teamId, secret.keyPrefix, nowIso),
      ]);
      return (inserted.meta.changes ?? 0) > 0 ? await this.get(teamId, keyId) : null;
    });
  }

  /** Revokes a key and its secrets, at once. Null when the team has no such key; a revoked key answers as it is. */
  revoke(teamId: string, keyId: string): Promise<TeamKeyRow | null> {
    const now = new Date().toISOString();
    return runQuery("revokeTeamKey", async () => {
      await this.d1.batch([
        this.d1
          .prepare("UPDATE team_keys SET revoked_at = ?3, updated_at = ?3 WHERE key_id = ?1 AND team_id = ?2 AND revoked_at IS NULL")
          .bind(keyId, teamId, now),
        this.d1
          .prepare("UPDATE api_keys SET revoked_at = ?3 WHERE team_key_id = ?1 AND team_id = ?2 AND revoked_at IS NULL")
          .bind(keyId, teamId, now),
      ]);
      return this.get(teamId, keyId);
    });
  }

  /** Removes a key that was created but whose team's object could not be told (so the team does not half have it). */
  remove(teamId: string, keyId: string): Promise<void> {
    return runQuery("removeTeamKey", async () => {
      await this.d1.batch([
        this.d1.prepare("DELETE FROM api_keys WHERE team_key_id = ?1 AND team_id = ?2").bind(keyId, teamId),
        this.d1.prepare("DELETE FROM team_keys WHERE key_id = ?1 AND team_id = ?2").bind(keyId, teamId),
      ]);
    });
  }
}
