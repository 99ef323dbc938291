import { asc, eq } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import { runQuery } from "./query";
import type * as schema from "./schema";
import { modelPricing } from "./schema";

// The pricing table: USD per million input and output tokens, per model. Read through the
// isolate's cache (price-cache.ts) on the call path; written by the admin pricing routes.

export type PricingRow = typeof modelPricing.$inferSelect;

export class PricingRecords {
  constructor(private readonly db: DrizzleD1Database<typeof schema>) {}

  get(modelName: string): Promise<PricingRow | undefined> {
    return runQuery("getPricing", () => this.db.query.modelPricing.findFirst({ where: eq(modelPricing.modelName, modelName) }));
  }

  list(): Promise<PricingRow[]> {
    return runQuery("listPricing", () => this.db.select().from(modelPricing).orderBy(asc(modelPricing.modelName)));
  }

  upsert(row: { modelName: string; inputPerMillionUsd: number; outputPerMillionUsd: number }): Promise<PricingRow> {
    const updatedAt = new Date().toISOString();
    return runQuery("upsertPricing", async () => {
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

  delete(modelName: string): Promise<boolean> {
    return runQuery("deletePricing", async () => {
      const deleted = await this.db.delete(modelPricing).where(eq(modelPricing.modelName, modelName)).returning();
      return deleted.length > 0;
    });
  }
}
