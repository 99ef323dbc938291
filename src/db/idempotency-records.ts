import { and, eq, isNull, or, sql } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import { runQuery } from "./query";
import type * as schema from "./schema";
import { idempotencyRecords } from "./schema";

/** The answers kept for `Idempotency-Key` (see src/http/middleware/idempotency.ts), one row per scope and key. */
export class IdempotencyRecords {
  constructor(private readonly db: DrizzleD1Database<typeof schema>) {}

  /**
   * Claims an idempotency key for a request. Returns "claimed" when this request must run,
   * or the existing record (in progress when its status is null). Records older than
   * `maxAgeMs`, and claims left unanswered for `abandonedAfterMs`, are forgotten and the key is
   * claimed afresh.
   */
  claim(
    scope: string,
    key: string,
    requestHash: string,
    maxAgeMs: number,
    abandonedAfterMs: number,
  ): Promise<"claimed" | { requestHash: string; status: number | null; body: string | null; headers: string | null; createdAt: string }> {
    const now = new Date();
    const staleBefore = new Date(now.getTime() - maxAgeMs).toISOString();
    // A claim still without an answer long after any request could have finished was abandoned
    // (the Worker was stopped mid-request): the key may be used again.
    const abandonedBefore = new Date(now.getTime() - abandonedAfterMs).toISOString();
    return runQuery("claimIdempotencyKey", async () => {
      const [, claimed, existing] = await this.db.batch([
        this.db
          .delete(idempotencyRecords)
          .where(
            and(
              eq(idempotencyRecords.scope, scope),
              eq(idempotencyRecords.idempotencyKey, key),
              or(
                sql`${idempotencyRecords.createdAt} < ${staleBefore}`,
                and(isNull(idempotencyRecords.status), sql`${idempotencyRecords.createdAt} < ${abandonedBefore}`),
              ),
            ),
          ),
        this.db
          .insert(idempotencyRecords)
          .values({ scope, idempotencyKey: key, requestHash, createdAt: now.toISOString() })
          .onConflictDoNothing()
          .returning({ scope: idempotencyRecords.scope }),
        this.db
          .select()
          .from(idempotencyRecords)
          .where(and(eq(idempotencyRecords.scope, scope), eq(idempotencyRecords.idempotencyKey, key))),
      ]);
      if (claimed.length > 0) return "claimed";
      const record = existing[0];
      return {
        requestHash: record.requestHash,
        status: record.status,
        body: record.body,
        headers: record.headers,
        createdAt: record.createdAt,
      };
    });
  }

  /**
   * Takes over the unanswered claim made at `claimedAt`, which the caller knows abandoned: it is
   * replaced by this request's (one batch), unless it was answered or taken over meanwhile (then
   * it is another claim). True when this request now holds the key.
   */
  reclaimUnanswered(scope: string, key: string, requestHash: string, claimedAt: string): Promise<boolean> {
    return runQuery("reclaimIdempotencyKey", async () => {
      const [, claimed] = await this.db.batch([
        this.db
          .delete(idempotencyRecords)
          .where(
            and(
              eq(idempotencyRecords.scope, scope),
              eq(idempotencyRecords.idempotencyKey, key),
              eq(idempotencyRecords.requestHash, requestHash),
              eq(idempotencyRecords.createdAt, claimedAt),
              isNull(idempotencyRecords.status),
            ),
          ),
        this.db
          .insert(idempotencyRecords)
          .values({ scope, idempotencyKey: key, requestHash, createdAt: new Date().toISOString() })
          .onConflictDoNothing()
          .returning({ scope: idempotencyRecords.scope }),
      ]);
      return claimed.length > 0;
    });
  }

  saveAnswer(scope: string, key: string, status: number, body: string, headers: string): Promise<void> {
    return runQuery("saveIdempotentResponse", async () => {
      await this.db
        .update(idempotencyRecords)
        .set({ status, body, headers })
        .where(and(eq(idempotencyRecords.scope, scope), eq(idempotencyRecords.idempotencyKey, key)));
    });
  }

  release(scope: string, key: string): Promise<void> {
    return runQuery("releaseIdempotencyKey", async () => {
      await this.db.delete(idempotencyRecords).where(and(eq(idempotencyRecords.scope, scope), eq(idempotencyRecords.idempotencyKey, key)));
    });
  }

  /**
   * The records a deleted team leaves (for the Repository's deleteTeam batch): its own
   * (`team:<id> ...`) and every admin key's on its paths (`admin ...` of the bootstrap key,
   * `admin:<key id> ...` of a named one, `.../teams/<id>/...`), so a team later created with the
   * same id never gets them replayed.
   */
  forTeam(teamId: string) {
    const own = `team:${teamId} `;
    return this.db
      .delete(idempotencyRecords)
      .where(
        or(
          sql`substr(${idempotencyRecords.scope}, 1, length(${own})) = ${own}`,
          and(
            sql`substr(${idempotencyRecords.scope}, 1, 5) = 'admin'`,
            sql`instr(${idempotencyRecords.scope}, ${`/teams/${teamId}/`}) > 0`,
          ),
        ),
      );
  }

  purgeOlderThan(olderThanMs: number): Promise<void> {
    const before = new Date(Date.now() - olderThanMs).toISOString();
    return runQuery("purgeIdempotencyRecords", async () => {
      await this.db.delete(idempotencyRecords).where(sql`${idempotencyRecords.createdAt} < ${before}`);
    });
  }
}
