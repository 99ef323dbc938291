import { and, asc, count, eq, inArray, isNull, sql } from "drizzle-orm";
import { type DrizzleD1Database, drizzle } from "drizzle-orm/d1";
import type { SQLiteSelect } from "drizzle-orm/sqlite-core";
import { AccessRecords, type GroupModel, sortModels } from "./access-records";
import { AdminKeyRecords, AuditRecords } from "./admin-records";
import { IdempotencyRecords } from "./idempotency-records";
import { runQuery } from "./query";
import * as schema from "./schema";
import { apiKeys, modelGroupModels, modelGroups, modelPricing, organizations, teamModelGroups, teams } from "./schema";
import { UsageRecords } from "./usage-records";
import { WebhookRecords } from "./webhook-records";

export type OrganizationRow = typeof organizations.$inferSelect;
export type ModelGroupRow = typeof modelGroups.$inferSelect;
export type TeamRow = typeof teams.$inferSelect;
export type PricingRow = typeof modelPricing.$inferSelect;
export type { GroupModel };
export type ModelGroupWithModels = ModelGroupRow & { models: GroupModel[] };
export type TeamWithGroups = TeamRow & { modelGroups: string[]; keyPrefix: string | null };

/**
 * Everything the gateway reads and writes in D1 (idempotency records in idempotency-records.ts,
 * what the team objects decide access from in access-records.ts).
 * Every query goes through runQuery: a D1 failure becomes DependencyDown (the caller fails
 * closed); a UNIQUE violation becomes a Conflict the route turns into "already exists".
 */
export class Repository {
  private readonly db: DrizzleD1Database<typeof schema>;
  /** Kept answers for Idempotency-Key. */
  readonly idempotency: IdempotencyRecords;
  /** What the team objects decide access from: key owners, a team's keys and groups. */
  readonly access: AccessRecords;
  /** Team and organization webhooks (the objects deliver; D1 keeps them for reads and new teams). */
  readonly webhooks: WebhookRecords;
  /** Usage totals the team objects send, that reports read. */
  readonly usage: UsageRecords;
  /** Named admin keys (admin-records.ts). */
  readonly adminKeys: AdminKeyRecords;
  /** The audit log of admin writes (admin-records.ts). */
  readonly audit: AuditRecords;

  // Conditional multi-row replacements are written as plain D1 statements (still bound
  // parameters, still one atomic batch): drizzle's batch does not take raw `sql` statements.
  constructor(private readonly d1: D1Database) {
    this.db = drizzle(d1, { schema });
    this.idempotency = new IdempotencyRecords(this.db);
    this.access = new AccessRecords(this.db);
    this.webhooks = new WebhookRecords(this.db);
    this.usage = new UsageRecords(this.db);
    this.adminKeys = new AdminKeyRecords(this.db);
    this.audit = new AuditRecords(this.db);
  }

  /**
   * The same queries, for listings that may be served by a D1 read replica near the caller
   * (Sessions API, "first-unconstrained"): they can lag the latest writes by the replica's lag.
   * Writes, and reads that must see them (key lookups, read-after-write), use the primary.
   */
  replica(): Repository {
    // drizzle only needs prepare() and batch(), which a session has.
    return new Repository(this.d1.withSession("first-unconstrained") as unknown as D1Database);
  }

  private run<T>(operation: string, op: () => Promise<T>): Promise<T> {
    return runQuery(operation, op);
  }

  // ------------------------------------------------------------ organizations

  createOrganization(row: { organizationId: string; name: string; metadata: Record<string, unknown> }): Promise<OrganizationRow> {
    const now = new Date().toISOString();
    return this.run("createOrganization", async () => {
      const [created] = await this.db
        .insert(organizations)
        .values({ ...row, status: "active", createdAt: now, updatedAt: now })
        .returning();
      return created;
    });
  }

  getOrganization(organizationId: string): Promise<OrganizationRow | undefined> {
    return this.run("getOrganization", () =>
      this.db.query.organizations.findFirst({ where: eq(organizations.organizationId, organizationId) }),
    );
  }

  listOrganizations(limit: number, offset: number): Promise<OrganizationRow[]> {
    return this.run("listOrganizations", () =>
      this.db.select().from(organizations).orderBy(asc(organizations.organizationId)).limit(limit).offset(offset),
    );
  }

  // ------------------------------------------------------------ model groups

  createModelGroup(group: {
    groupName: string;
    displayName: string;
    description: string | null;
    models: GroupModel[];
  }): Promise<ModelGroupWithModels> {
    const now = new Date().toISOString();
    return this.run("createModelGroup", async () => {
      const { models, ...row } = group;
      await this.db.batch([
        this.db.insert(modelGroups).values({ ...row, status: "active", createdAt: now, updatedAt: now }),
        ...models.map((m) => this.db.insert(modelGroupModels).values({ groupName: group.groupName, ...m })),
      ]);
      return { ...row, status: "active", createdAt: now, updatedAt: now, models: sortModels(models) };
    });
  }

  async getModelGroup(groupName: string): Promise<ModelGroupWithModels | undefined> {
    const [group] = await this.listModelGroupsWhere(eq(modelGroups.groupName, groupName), 1, 0);
    return group;
  }

  listModelGroups(limit: number, offset: number): Promise<ModelGroupWithModels[]> {
    return this.listModelGroupsWhere(undefined, limit, offset);
  }

  /**
   * A page of groups with their models, in one batch: the models are selected by the page's own
   * query (a page of 200 binds no list of 200 names, past D1's limit of bound parameters).
   */
  private listModelGroupsWhere(where: ReturnType<typeof eq> | undefined, limit: number, offset: number): Promise<ModelGroupWithModels[]> {
    return this.run("listModelGroups", async () => {
      const page = <T extends SQLiteSelect>(query: T) => query.where(where).orderBy(asc(modelGroups.groupName)).limit(limit).offset(offset);
      const pageNames = page(this.db.select({ groupName: modelGroups.groupName }).from(modelGroups).$dynamic());
      const [groups, models] = await this.db.batch([
        page(this.db.select().from(modelGroups).$dynamic()),
        this.db.select().from(modelGroupModels).where(inArray(modelGroupModels.groupName, pageNames)),
      ]);
      return groups.map((g) => ({
        ...g,
        models: sortModels(models.filter((m) => m.groupName === g.groupName)),
      }));
    });
  }

  /** Replaces a group's model list atomically. Returns false when the group does not exist. */
  replaceModelGroupModels(groupName: string, models: GroupModel[]): Promise<boolean> {
    return this.run("replaceModelGroupModels", async () => {
      const [updated] = await this.d1.batch([
        this.d1.prepare("UPDATE model_groups SET updated_at = ? WHERE group_name = ?").bind(new Date().toISOString(), groupName),
        this.d1.prepare("DELETE FROM model_group_models WHERE group_name = ?").bind(groupName),
        // Each insert applies only when the group exists, so a missing group changes nothing.
        ...models.map((m) =>
          this.d1
            .prepare(
              `INSERT INTO model_group_models (group_name, model_name, priority)
               SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM model_groups WHERE group_name = ?1)`,
            )
            .bind(groupName, m.modelName, m.priority),
        ),
      ]);
      return (updated.meta.changes ?? 0) > 0;
    });
  }

  /** Deletes a group unless a team uses it. */
  deleteModelGroup(groupName: string): Promise<"deleted" | "missing" | { inUseBy: number }> {
    return this.run("deleteModelGroup", async () => {
      const [[usage], deleted] = await this.db.batch([
        this.db.select({ n: count() }).from(teamModelGroups).where(eq(teamModelGroups.groupName, groupName)),
        this.db
          .delete(modelGroups)
          .where(
            and(eq(modelGroups.groupName, groupName), sql`NOT EXISTS (SELECT 1 FROM team_model_groups WHERE group_name = ${groupName})`),
          )
          .returning({ groupName: modelGroups.groupName }),
      ]);
      if (deleted.length > 0) return "deleted";
      return usage.n > 0 ? { inUseBy: usage.n } : "missing";
    });
  }

  /** The names among `names` that are not model groups. */
  missingModelGroups(names: string[]): Promise<string[]> {
    if (names.length === 0) return Promise.resolve([]);
    return this.run("missingModelGroups", async () => {
      const found = await this.db.select({ name: modelGroups.groupName }).from(modelGroups).where(inArray(modelGroups.groupName, names));
      const existing = new Set(found.map((f) => f.name));
      return names.filter((n) => !existing.has(n));
    });
  }

  // ------------------------------------------------------------ teams and keys

  createTeam(team: {
    teamId: string;
    organizationId: string;
    teamAlias: string | null;
    metadata: Record<string, unknown>;
    modelGroups: string[];
    key: { keyId: string; keyHash: string; keyPrefix: string };
  }): Promise<void> {
    const now = new Date().toISOString();
    return this.run("createTeam", async () => {
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
        this.db.insert(apiKeys).values({ ...team.key, teamId: team.teamId, createdAt: now }),
      ]);
    });
  }

  /** The organization a team belongs to (null when there is no such team): what an org-scoped admin key is checked against. */
  organizationOfTeam(teamId: string): Promise<string | null> {
    return this.run("organizationOfTeam", async () => {
      const [row] = await this.db.select({ organizationId: teams.organizationId }).from(teams).where(eq(teams.teamId, teamId));
      return row?.organizationId ?? null;
    });
  }

  getTeam(teamId: string): Promise<TeamWithGroups | undefined> {
    return this.run("getTeam", async () => {
      const [rows, groups, keys] = await this.db.batch([
        this.db.select().from(teams).where(eq(teams.teamId, teamId)),
        this.db.select({ groupName: teamModelGroups.groupName }).from(teamModelGroups).where(eq(teamModelGroups.teamId, teamId)),
        this.db
          .select({ keyPrefix: apiKeys.keyPrefix })
          .from(apiKeys)
          .where(and(eq(apiKeys.teamId, teamId), isNull(apiKeys.revokedAt), isNull(apiKeys.expiresAt))),
      ]);
      if (rows.length === 0) return undefined;
      return { ...rows[0], modelGroups: groups.map((g) => g.groupName).sort(), keyPrefix: keys[0]?.keyPrefix ?? null };
    });
  }

  /** A page of teams with their groups and key prefixes, in one batch (the page's ids selected by its own query, as for groups). */
  listTeams(organizationId: string | undefined, limit: number, offset: number): Promise<TeamWithGroups[]> {
    return this.run("listTeams", async () => {
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
          .select({ teamId: apiKeys.teamId, keyPrefix: apiKeys.keyPrefix })
          .from(apiKeys)
          .where(and(inArray(apiKeys.teamId, ids()), isNull(apiKeys.revokedAt), isNull(apiKeys.expiresAt))),
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
  replaceTeamModelGroups(teamId: string, groupNames: string[]): Promise<boolean> {
    const now = new Date().toISOString();
    return this.run("replaceTeamModelGroups", async () => {
      const [updated] = await this.d1.batch([
        this.d1.prepare("UPDATE teams SET updated_at = ? WHERE team_id = ?").bind(now, teamId),
        this.d1.prepare("DELETE FROM team_model_groups WHERE team_id = ?").bind(teamId),
        ...groupNames.map((groupName) =>
          this.d1
            .prepare(
              `INSERT INTO team_model_groups (team_id, group_name, assigned_at)
               SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM teams WHERE team_id = ?1)`,
            )
            .bind(teamId, groupName, now),
        ),
      ]);
      return (updated.meta.changes ?? 0) > 0;
    });
  }

  updateTeam(
    teamId: string,
    changes: { teamAlias?: string | null; metadata?: Record<string, unknown>; status?: string },
  ): Promise<boolean> {
    return this.run("updateTeam", async () => {
      const updated = await this.db
        .update(teams)
        .set({ ...changes, updatedAt: new Date().toISOString() })
        .where(eq(teams.teamId, teamId))
        .returning({ teamId: teams.teamId });
      return updated.length > 0;
    });
  }

  deleteTeam(teamId: string): Promise<boolean> {
    return this.run("deleteTeam", async () => {
      const [, , deleted] = await this.db.batch([
        this.db.delete(apiKeys).where(eq(apiKeys.teamId, teamId)),
        this.db.delete(teamModelGroups).where(eq(teamModelGroups.teamId, teamId)),
        this.db.delete(teams).where(eq(teams.teamId, teamId)).returning({ teamId: teams.teamId }),
        this.idempotency.forTeam(teamId),
        this.webhooks.forTeam(teamId),
        this.usage.forTeam(teamId),
      ]);
      return deleted.length > 0;
    });
  }

  /**
   * Issues a new key for a team. Old keys stop at once, or keep working for `graceSeconds`.
   * Returns false when the team does not exist (and then nothing is written).
   */
  rotateTeamKey(teamId: string, key: { keyId: string; keyHash: string; keyPrefix: string }, graceSeconds: number): Promise<boolean> {
    const now = new Date();
    const nowIso = now.toISOString();
    const retireOld: { expiresAt?: string; revokedAt?: string } =
      graceSeconds > 0 ? { expiresAt: new Date(now.getTime() + graceSeconds * 1000).toISOString() } : { revokedAt: nowIso };
    return this.run("rotateTeamKey", async () => {
      const [, inserted] = await this.d1.batch([
        this.d1
          .prepare(
            `UPDATE api_keys SET revoked_at = COALESCE(?2, revoked_at),
               expires_at = CASE WHEN ?3 IS NOT NULL AND (expires_at IS NULL OR expires_at > ?3) THEN ?3 ELSE expires_at END
             WHERE team_id = ?1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?4)`,
          )
          .bind(teamId, retireOld.revokedAt ?? null, retireOld.expiresAt ?? null, nowIso),
        this.d1
          .prepare(
            `INSERT INTO api_keys (key_id, team_id, key_hash, key_prefix, created_at)
             SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM teams WHERE team_id = ?2)`,
          )
          .bind(key.keyId, teamId, key.keyHash, key.keyPrefix, nowIso),
      ]);
      return (inserted.meta.changes ?? 0) > 0;
    });
  }

  // ------------------------------------------------------------ pricing

  getPricing(modelName: string): Promise<PricingRow | undefined> {
    return this.run("getPricing", () => this.db.query.modelPricing.findFirst({ where: eq(modelPricing.modelName, modelName) }));
  }

  listPricing(): Promise<PricingRow[]> {
    return this.run("listPricing", () => this.db.select().from(modelPricing).orderBy(asc(modelPricing.modelName)));
  }

  upsertPricing(row: { modelName: string; inputPerMillionUsd: number; outputPerMillionUsd: number }): Promise<PricingRow> {
    const updatedAt = new Date().toISOString();
    return this.run("upsertPricing", async () => {
      const [saved] = await this.db
        .insert(modelPricing)
        .values({ ...row, updatedAt })
        .onConflictDoUpdate({
          target: modelPricing.modelName,
          set: { inputPerMillionUsd: row.inputPerMillionUsd, outputPerMillionUsd: row.outputPerMillionUsd, updatedAt },
        })
        .returning();
      return saved;
    });
  }

  deletePricing(modelName: string): Promise<boolean> {
    return this.run("deletePricing", async () => {
      const deleted = await this.db.delete(modelPricing).where(eq(modelPricing.modelName, modelName)).returning();
      return deleted.length > 0;
    });
  }
}
