import { and, eq } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import type { Jurisdiction } from "../schemas/organizations";
import type { WebhookScope } from "../webhooks/events";
import { runQuery } from "./query";
import type * as schema from "./schema";
import { teams, webhooks } from "./schema";

// Webhooks as D1 keeps them (for admin reads, and for giving a new team its organization's
// webhook); the team objects keep what they sign and deliver with, pushed by the routes.

export type WebhookRow = typeof webhooks.$inferSelect;

export class WebhookRecords {
  constructor(private readonly db: DrizzleD1Database<typeof schema>) {}

  get(scope: WebhookScope, ownerId: string): Promise<WebhookRow | null> {
    return runQuery("getWebhook", async () => {
      const [row] = await this.db
        .select()
        .from(webhooks)
        .where(and(eq(webhooks.scope, scope), eq(webhooks.ownerId, ownerId)))
        .limit(1);
      return row ?? null;
    });
  }

  /** Sets or replaces a webhook; its creation time is kept on a replacement. */
  put(row: Omit<WebhookRow, "createdAt" | "updatedAt">): Promise<WebhookRow> {
    const now = new Date().toISOString();
    return runQuery("putWebhook", async () => {
      const [saved] = await this.db
        .insert(webhooks)
        .values({ ...row, createdAt: now, updatedAt: now })
        .onConflictDoUpdate({
          target: [webhooks.scope, webhooks.ownerId],
          set: {
            url: row.url,
            events: row.events,
            lowBalanceThreshold: row.lowBalanceThreshold,
            secretSealed: row.secretSealed,
            updatedAt: now,
          },
        })
        .returning();
      return saved;
    });
  }

  /** False when there was none. */
  remove(scope: WebhookScope, ownerId: string): Promise<boolean> {
    return runQuery("deleteWebhook", async () => {
      const deleted = await this.db
        .delete(webhooks)
        .where(and(eq(webhooks.scope, scope), eq(webhooks.ownerId, ownerId)))
        .returning({ ownerId: webhooks.ownerId });
      return deleted.length > 0;
    });
  }

  /** Every team of an organization, with its object's jurisdiction: where its webhook is pushed. */
  teamsOf(organizationId: string): Promise<Array<{ teamId: string; jurisdiction: Jurisdiction | null }>> {
    return runQuery("teamsOfOrganization", async () => {
      const rows = await this.db
        .select({ teamId: teams.teamId, jurisdiction: teams.jurisdiction })
        .from(teams)
        .where(eq(teams.organizationId, organizationId));
      return rows.map((r) => ({ teamId: r.teamId, jurisdiction: r.jurisdiction as Jurisdiction | null }));
    });
  }

  /** The statement that forgets a deleted team's webhook (run in deleteTeam's batch). */
  forTeam(teamId: string) {
    return this.db.delete(webhooks).where(and(eq(webhooks.scope, "team"), eq(webhooks.ownerId, teamId)));
  }
}
