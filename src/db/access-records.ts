import { eq, inArray } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import type { TeamKeyRow } from "./key-records";
import { runQuery } from "./query";
import type * as schema from "./schema";
import { apiKeys, modelGroupModels, modelGroups, teamKeys, teamModelGroups } from "./schema";

// What the team objects decide access from, as D1 keeps it: which team a key hash was issued to,
// a team's keys and groups (loaded once by an object created before it kept them), the groups'
// models (pushed to the objects on every admin change), and the teams a group change reaches.

export interface GroupModel {
  modelName: string;
  priority: number;
}

export const CACHE_SCOPES = ["team", "organization"] as const;
export type CacheScope = (typeof CACHE_SCOPES)[number];

/** A group's response cache, as set with the group (src/ledger/rules/cache-hits.ts prices its hits). */
export interface GroupCache {
  ttlSeconds: number;
  /** Who shares the group's entries: one team, or every team of an organization. */
  scope: CacheScope;
  /** What a hit costs, in percent of what the original answer costs (0: free, 100: full price). */
  hitPricePercent: number;
}

/** A group as the team objects get it: its models by priority and its cache (null: none). */
export interface GroupAccessRow {
  name: string;
  models: string[];
  cache: GroupCache | null;
}

/** The cache columns of a model_groups row: off while cache_ttl_seconds is NULL. */
export function groupCacheOf(row: {
  cacheTtlSeconds: number | null;
  cacheScope: string | null;
  cacheHitPricePercent: number | null;
}): GroupCache | null {
  if (row.cacheTtlSeconds === null) return null;
  return {
    ttlSeconds: row.cacheTtlSeconds,
    scope: row.cacheScope === "organization" ? "organization" : "team",
    hitPricePercent: row.cacheHitPricePercent ?? 100,
  };
}

/** A group's models by priority (then name), as every reader expects them. */
export function sortModels(models: GroupModel[]): GroupModel[] {
  return models
    .map((m) => ({ modelName: m.modelName, priority: m.priority }))
    .sort((a, b) => a.priority - b.priority || a.modelName.localeCompare(b.modelName));
}

export class AccessRecords {
  constructor(private readonly db: DrizzleD1Database<typeof schema>) {}

  /**
   * The team a key was issued to, whether or not it is still valid: a key hash belongs to one team
   * forever, and the team's object decides on every request whether the key is still good.
   */
  teamOfKeyHash(keyHash: string): Promise<string | null> {
    return runQuery("teamOfKeyHash", async () => {
      const [row] = await this.db.select({ teamId: apiKeys.teamId }).from(apiKeys).where(eq(apiKeys.keyHash, keyHash)).limit(1);
      return row?.teamId ?? null;
    });
  }

  /**
   * A team's keys, their secrets (valid until their revocation or grace period ends) and its
   * groups, as its object keeps them. A secret of no named key belongs to none (its object then
   * knows it without a name, budget or narrowing).
   */
  teamAccess(teamId: string): Promise<{
    keys: TeamKeyRow[];
    secrets: Array<{ keyHash: string; keyId: string | null; validUntilMs: number | null }>;
    groups: GroupAccessRow[];
  }> {
    return runQuery("teamAccess", async () => {
      const [keys, secrets, groups] = await this.db.batch([
        this.db.select().from(teamKeys).where(eq(teamKeys.teamId, teamId)),
        this.db.select().from(apiKeys).where(eq(apiKeys.teamId, teamId)),
        this.db.select({ groupName: teamModelGroups.groupName }).from(teamModelGroups).where(eq(teamModelGroups.teamId, teamId)),
      ]);
      const ends = (iso: string | null) => (iso === null ? null : Date.parse(iso));
      return {
        keys,
        secrets: secrets.map((k) => {
          const ended = [ends(k.revokedAt), ends(k.expiresAt)].filter((ms): ms is number => ms !== null);
          return { keyHash: k.keyHash, keyId: k.teamKeyId, validUntilMs: ended.length > 0 ? Math.min(...ended) : null };
        }),
        groups: await this.groupsWithModels(groups.map((g) => g.groupName)),
      };
    });
  }

  /** Groups with their models in priority order and their cache (names that are not groups are left out). */
  groupsWithModels(names: string[]): Promise<GroupAccessRow[]> {
    if (names.length === 0) return Promise.resolve([]);
    return runQuery("groupsWithModels", async () => {
      const [found, rows] = await this.db.batch([
        this.db.select().from(modelGroups).where(inArray(modelGroups.groupName, names)),
        this.db.select().from(modelGroupModels).where(inArray(modelGroupModels.groupName, names)),
      ]);
      return found.map((group) => ({
        name: group.groupName,
        models: sortModels(rows.filter((r) => r.groupName === group.groupName)).map((m) => m.modelName),
        cache: groupCacheOf(group),
      }));
    });
  }

  /** The teams assigned a group: the objects a change of its models is pushed to. */
  teamsUsingGroup(groupName: string): Promise<string[]> {
    return runQuery("teamsUsingGroup", async () => {
      const rows = await this.db
        .select({ teamId: teamModelGroups.teamId })
        .from(teamModelGroups)
        .where(eq(teamModelGroups.groupName, groupName));
      return rows.map((r) => r.teamId);
    });
  }
}
