import { and, asc, eq, inArray, isNull } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import type { SQLiteSelect } from "drizzle-orm/sqlite-core";
import { replaceChildren, runQuery } from "./query";
import type * as schema from "./schema";
import { apiKeys, teamKeys, teamModelGroups, teams } from "./schema";

// Teams and their keys as D1 keeps them: the team row, its model groups, and its keys (only as
// keyed hashes). Money is not here: it lives in each team's object (src/ledger/).

export type TeamRow = typeof teams.$inferSelect;
/** The name of a team's first key; the team's `key_prefix` is its prefix. */
export const DEFAULT_KEY_NAME = "default";
export type TeamWithGroups = TeamRow & { modelGroups: string[]; keyPrefix: string | null };
/** A new team's first key (named `default`, no budget) with its secret. */
type FirstKey = { keyId: string; secretId: string; keyHash: string; keyPrefix: string };

export class TeamRecords {
  /** `ownedElsewhere`: the statements that delete a team's rows kept by other records (idempotency, webhooks, usage). */
  constructor(
    private readonly db: DrizzleD1Database<typeof schema>,
    private readonly d1: D1Database,
    private readonly ownedElsewhere: (teamId: string) => BatchItem<"sqlite">[],
  ) {}

  create(team: {
    teamId: string;
    organizationId: string;
    teamAlias: string | null;
    metadata: Record<string, unknown>;
    modelGroups: string[];
    key: FirstKey;
  }): Promise<void> {
    const now = new Date().toISOString();
    return runQuery("createTeam", async () => {
      await this.db.batch([
        this.db.insert(teams).values({
          teamId: team.teamId,
          organizationId: team.organizationId,
          teamAlias: team.teamAlias,
          metadata: team.metadata,
          status: "active",
          createdAt: now,
          updatedAt: now,
        }),
        ...team.modelGroups.map((groupName) => this.db.insert(teamModelGroups).values({ teamId: team.teamId, groupName, assignedAt: now })),
        this.db.insert(teamKeys).values({
          keyId: team.key.keyId,
          teamId: team.teamId,
          name: DEFAULT_KEY_NAME,
          keyPrefix: team.key.keyPrefix,
          createdAt: now,
          updatedAt: now,
        }),
        this.db.insert(apiKeys).values({
          keyId: team.key.secretId,
          teamId: team.teamId,
          teamKeyId: team.key.keyId,
          keyHash: team.key.keyHash,
          keyPrefix: team.key.keyPrefix,
          createdAt: now,
        }),
      ]);
    });
  }

  /** The organization a team belongs to (null when there is no such team): what an org-scoped admin key is checked against. */
  organizationOf(teamId: string): Promise<string | null> {
    return runQuery("organizationOfTeam", async () => {
      const [row] = await this.db.select({ organizationId: teams.organizationId }).from(teams).where(eq(teams.teamId, teamId));
      return row?.organizationId ?? null;
    });
  }

  get(teamId: string): Promise<TeamWithGroups | undefined> {
    return runQuery("getTeam", async () => {
      const [rows, groups, keys] = await this.db.batch([
        this.db.select().from(teams).where(eq(teams.teamId, teamId)),
        this.db.select({ groupName: teamModelGroups.groupName }).from(teamModelGroups).where(eq(teamModelGroups.teamId, teamId)),
        this.db
          .select({ keyPrefix: teamKeys.keyPrefix })
          .from(teamKeys)
          .where(and(eq(teamKeys.teamId, teamId), eq(teamKeys.name, DEFAULT_KEY_NAME), isNull(teamKeys.revokedAt))),
      ]);
      if (rows.length === 0) return undefined;
      return { ...rows[0], modelGroups: groups.map((g) => g.groupName).sort(), keyPrefix: keys[0]?.keyPrefix ?? null };
    });
  }

  /** A page of teams with their groups and key prefixes, in one batch (the page's ids selected by its own query, as for groups). */
  list(organizationId: string | undefined, limit: number, offset: number): Promise<TeamWithGroups[]> {
    return runQuery("listTeams", async () => {
      const page = <T extends SQLiteSelect>(query: T) =>
        query
          .where(organizationId === undefined ? undefined : eq(teams.organizationId, organizationId))
          .orderBy(asc(teams.teamId))
          .limit(limit)
          .offset(offset);
      const ids = () => page(this.db.select({ teamId: teams.teamId }).from(teams).$dynamic());
      const [rows, groups, keys] = await this.db.batch([
        page(this.db.select().from(teams).$dynamic()),
        this.db.select().from(teamModelGroups).where(inArray(teamModelGroups.teamId, ids())),
        this.db
          .select({ teamId: teamKeys.teamId, keyPrefix: teamKeys.keyPrefix })
          .from(teamKeys)
          .where(and(inArray(teamKeys.teamId, ids()), eq(teamKeys.name, DEFAULT_KEY_NAME), isNull(teamKeys.revokedAt))),
      ]);
      return rows.map((t) => ({
        ...t,
        modelGroups: groups
          .filter((g) => g.teamId === t.teamId)
          .map((g) => g.groupName)
          .sort(),
        keyPrefix: keys.find((k) => k.teamId === t.teamId)?.keyPrefix ?? null,
      }));
    });
  }

  /** Replaces a team's groups. Returns false when the team does not exist. */
  replaceGroups(teamId: string, groupNames: string[]): Promise<boolean> {
    const now = new Date().toISOString();
    const insert = this.d1.prepare(
      `INSERT INTO team_model_groups (team_id, group_name, assigned_at)
       SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM teams WHERE team_id = ?1)`,
    );
    return runQuery("replaceTeamModelGroups", () =>
      replaceChildren(
        this.d1,
        this.d1.prepare("UPDATE teams SET updated_at = ? WHERE team_id = ?").bind(now, teamId),
        this.d1.prepare("DELETE FROM team_model_groups WHERE team_id = ?").bind(teamId),
        groupNames.map((groupName) => insert.bind(teamId, groupName, now)),
      ),
    );
  }

  update(teamId: string, changes: { teamAlias?: string | null; metadata?: Record<string, unknown>; status?: string }): Promise<boolean> {
    return runQuery("updateTeam", async () => {
      const updated = await this.db
        .update(teams)
        .set({ ...changes, updatedAt: new Date().toISOString() })
        .where(eq(teams.teamId, teamId))
        .returning({ teamId: teams.teamId });
      return updated.length > 0;
    });
  }

  delete(teamId: string): Promise<boolean> {
    return runQuery("deleteTeam", async () => {
      const [, , , deleted] = await this.db.batch([
        this.db.delete(apiKeys).where(eq(apiKeys.teamId, teamId)),
        this.db.delete(teamKeys).where(eq(teamKeys.teamId, teamId)),
        this.db.delete(teamModelGroups).where(eq(teamModelGroups.teamId, teamId)),
        this.db.delete(teams).where(eq(teams.teamId, teamId)).returning({ teamId: teams.teamId }),
        ...this.ownedElsewhere(teamId),
      ]);
      return deleted.length > 0;
    });
  }
}
