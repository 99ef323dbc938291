import { and, desc, eq, gte, isNull, lt, lte, sql } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import { runQuery } from "./query";
import type * as schema from "./schema";
import { adminKeys, auditLog } from "./schema";

export type AdminKeyRow = typeof adminKeys.$inferSelect;
export type AuditRow = typeof auditLog.$inferSelect;
export type NewAuditRow = Omit<typeof auditLog.$inferInsert, "seq">;

/** Named admin keys: hashes only, looked up on every admin request (never cached, so a revoke is at once). */
export class AdminKeyRecords {
  constructor(private readonly db: DrizzleD1Database<typeof schema>) {}

  create(row: Omit<AdminKeyRow, "lastUsedAt" | "revokedAt">): Promise<AdminKeyRow> {
    return runQuery("createAdminKey", async () => {
      const [created] = await this.db.insert(adminKeys).values(row).returning();
      return created;
    });
  }

  /** The live key with this hash, or undefined for an unknown or revoked one. */
  liveByHash(keyHash: string): Promise<AdminKeyRow | undefined> {
    return runQuery("adminKeyByHash", () =>
      this.db.query.adminKeys.findFirst({ where: and(eq(adminKeys.keyHash, keyHash), isNull(adminKeys.revokedAt)) }),
    );
  }

  get(keyId: string): Promise<AdminKeyRow | undefined> {
    return runQuery("getAdminKey", () => this.db.query.adminKeys.findFirst({ where: eq(adminKeys.keyId, keyId) }));
  }

  list(limit: number, offset: number): Promise<AdminKeyRow[]> {
    return runQuery("listAdminKeys", () =>
      this.db.select().from(adminKeys).orderBy(desc(adminKeys.createdAt), adminKeys.keyId).limit(limit).offset(offset),
    );
  }

  /** Revokes a live key; false when there is no such live key. */
  revoke(keyId: string): Promise<boolean> {
    return runQuery("revokeAdminKey", async () => {
      const revoked = await this.db
        .update(adminKeys)
        .set({ revokedAt: new Date().toISOString() })
        .where(and(eq(adminKeys.keyId, keyId), isNull(adminKeys.revokedAt)))
        .returning({ keyId: adminKeys.keyId });
      return revoked.length > 0;
    });
  }

  touch(keyId: string, at: string): Promise<void> {
    return runQuery("touchAdminKey", async () => {
      await this.db.update(adminKeys).set({ lastUsedAt: at }).where(eq(adminKeys.keyId, keyId));
    });
  }
}

export type AuditFilter = {
  actor?: string;
  action?: string;
  resourceId?: string;
  organizationId?: string;
  since?: string;
  until?: string;
  /** Only rows older than this sequence number (an export reads page after page by it, so new rows never shift it). */
  beforeSeq?: number;
};

/** The audit log: appended and completed by the audit middleware, read newest first, purged past retention. */
export class AuditRecords {
  constructor(private readonly db: DrizzleD1Database<typeof schema>) {}

  /** Appends a row; its sequence number, to complete it with the outcome. */
  append(row: NewAuditRow): Promise<number> {
    return runQuery("appendAudit", async () => {
      const [added] = await this.db.insert(auditLog).values(row).returning({ seq: auditLog.seq });
      return added.seq;
    });
  }

  /** Sets the outcome of a row appended before the write ran (only once: a row's outcome is never changed). */
  complete(seq: number, status: number, resourceId: string | null): Promise<void> {
    return runQuery("completeAudit", async () => {
      await this.db
        .update(auditLog)
        .set({ status, resourceId })
        .where(and(eq(auditLog.seq, seq), isNull(auditLog.status)));
    });
  }

  list(filter: AuditFilter, limit: number, offset: number): Promise<AuditRow[]> {
    const where = and(
      // The actor is matched by key id or by name.
      filter.actor !== undefined ? sql`(${auditLog.actorKeyId} = ${filter.actor} OR ${auditLog.actorName} = ${filter.actor})` : undefined,
      filter.action !== undefined ? eq(auditLog.action, filter.action) : undefined,
      filter.resourceId !== undefined ? eq(auditLog.resourceId, filter.resourceId) : undefined,
      filter.organizationId !== undefined ? eq(auditLog.organizationId, filter.organizationId) : undefined,
      filter.since !== undefined ? gte(auditLog.at, filter.since) : undefined,
      filter.until !== undefined ? lte(auditLog.at, filter.until) : undefined,
      filter.beforeSeq !== undefined ? lt(auditLog.seq, filter.beforeSeq) : undefined,
    );
    return runQuery("listAudit", () =>
      this.db.select().from(auditLog).where(where).orderBy(desc(auditLog.seq)).limit(limit).offset(offset),
    );
  }

  purgeOlderThan(maxAgeMs: number): Promise<void> {
    const before = new Date(Date.now() - maxAgeMs).toISOString();
    return runQuery("purgeAudit", async () => {
      await this.db.delete(auditLog).where(lt(auditLog.at, before));
    });
  }
}
