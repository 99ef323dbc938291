import { and, asc, count, eq, inArray, sql } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import type { SQLiteSelect } from "drizzle-orm/sqlite-core";
import { type GroupCache, type GroupModel, sortModels } from "./access-records";
import { replaceChildren, runQuery } from "./query";
import type * as schema from "./schema";
import { modelGroupModels, modelGroups, teamModelGroups } from "./schema";

// Model groups as D1 keeps them: a named, prioritized list of models (lower priority first).
// The team objects get a group's models pushed on every change (access-records.ts, http/flows/access-push.ts).

export type ModelGroupRow = typeof modelGroups.$inferSelect;

/** A cache setting as the row's three columns (all NULL: no cache). */
function cacheColumns(cache: GroupCache | null) {
  return {
    cacheTtlSeconds: cache?.ttlSeconds ?? null,
    cacheScope: cache?.scope ?? null,
    cacheHitPricePercent: cache?.hitPricePercent ?? null,
  };
}
export type ModelGroupWithModels = ModelGroupRow & { models: GroupModel[] };

export class ModelGroupRecords {
  // Conditional multi-row replacements are written as plain D1 statements (still bound
  // parameters, still one atomic batch): drizzle's batch does not take raw `sql` statements.
  constructor(
    private readonly db: DrizzleD1Database<typeof schema>,
    private readonly d1: D1Database,
  ) {}

  create(group: {
    groupName: string;
    displayName: string;
    description: string | null;
    models: GroupModel[];
    cache: GroupCache | null;
  }): Promise<ModelGroupWithModels> {
    const now = new Date().toISOString();
    return runQuery("createModelGroup", async () => {
      const { models, cache, ...fields } = group;
      const row = { ...fields, ...cacheColumns(cache), status: "active", createdAt: now, updatedAt: now };
      await this.db.batch([
        this.db.insert(modelGroups).values(row),
        ...models.map((m) => this.db.insert(modelGroupModels).values({ groupName: group.groupName, ...m })),
      ]);
      return { ...row, models: sortModels(models) };
    });
  }

  /** Changes a group's names or cache (undefined keeps a field). Returns false when the group does not exist. */
  update(groupName: string, change: { displayName?: string; description?: string | null; cache?: GroupCache | null }): Promise<boolean> {
    const { cache, ...names } = change;
    const set = { ...names, ...(cache === undefined ? {} : cacheColumns(cache)), updatedAt: new Date().toISOString() };
    return runQuery("updateModelGroup", async () => {
      const updated = await this.db
        .update(modelGroups)
        .set(set)
        .where(eq(modelGroups.groupName, groupName))
        .returning({ groupName: modelGroups.groupName });
      return updated.length > 0;
    });
  }

  async get(groupName: string): Promise<ModelGroupWithModels | undefined> {
    const [group] = await this.listWhere(eq(modelGroups.groupName, groupName), 1, 0);
    return group;
  }

  list(limit: number, offset: number): Promise<ModelGroupWithModels[]> {
    return this.listWhere(undefined, limit, offset);
  }

  /**
   * A page of groups with their models, in one batch: the models are selected by the page's own
   * query (a page of 200 binds no list of 200 names, past D1's limit of bound parameters).
   */
  private listWhere(where: ReturnType<typeof eq> | undefined, limit: number, offset: number): Promise<ModelGroupWithModels[]> {
    return runQuery("listModelGroups", async () => {
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
  replaceModels(groupName: string, models: GroupModel[]): Promise<boolean> {
    const insert = this.d1.prepare(
      `INSERT INTO model_group_models (group_name, model_name, priority)
       SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM model_groups WHERE group_name = ?1)`,
    );
    return runQuery("replaceModelGroupModels", () =>
      replaceChildren(
        this.d1,
        this.d1.prepare("UPDATE model_groups SET updated_at = ? WHERE group_name = ?").bind(new Date().toISOString(), groupName),
        this.d1.prepare("DELETE FROM model_group_models WHERE group_name = ?").bind(groupName),
        models.map((m) => insert.bind(groupName, m.modelName, m.priority)),
      ),
    );
  }

  /** Deletes a group unless a team uses it. */
  delete(groupName: string): Promise<"deleted" | "missing" | { inUseBy: number }> {
    return runQuery("deleteModelGroup", async () => {
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
  missing(names: string[]): Promise<string[]> {
    if (names.length === 0) return Promise.resolve([]);
    return runQuery("missingModelGroups", async () => {
      const found = await this.db.select({ name: modelGroups.groupName }).from(modelGroups).where(inArray(modelGroups.groupName, names));
      const existing = new Set(found.map((f) => f.name));
      return names.filter((n) => !existing.has(n));
    });
  }
}
