import { asc, eq } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import type { Jurisdiction, LocationHint } from "../schemas/organizations";
import { runQuery } from "./query";
import type * as schema from "./schema";
import { organizations } from "./schema";

// Organizations as D1 keeps them: an id chosen by the operator, a name, free metadata, and where
// its teams' objects are placed when each is created.

export type OrganizationRow = typeof organizations.$inferSelect;
export type OrganizationPlacement = { locationHint: LocationHint | null; jurisdiction: Jurisdiction | null };

export class OrganizationRecords {
  constructor(private readonly db: DrizzleD1Database<typeof schema>) {}

  create(
    row: { organizationId: string; name: string; metadata: Record<string, unknown> } & OrganizationPlacement,
  ): Promise<OrganizationRow> {
    const now = new Date().toISOString();
    return runQuery("createOrganization", async () => {
      const [created] = await this.db
        .insert(organizations)
        .values({ ...row, status: "active", createdAt: now, updatedAt: now })
        .returning();
      return created;
    });
  }

  get(organizationId: string): Promise<OrganizationRow | undefined> {
    return runQuery("getOrganization", () =>
      this.db.query.organizations.findFirst({ where: eq(organizations.organizationId, organizationId) }),
    );
  }

  /** Changes where the organization's next teams are placed; undefined when there is no such organization. */
  setPlacement(organizationId: string, placement: OrganizationPlacement): Promise<OrganizationRow | undefined> {
    return runQuery("setOrganizationPlacement", async () => {
      const [updated] = await this.db
        .update(organizations)
        .set({ ...placement, updatedAt: new Date().toISOString() })
        .where(eq(organizations.organizationId, organizationId))
        .returning();
      return updated;
    });
  }

  list(limit: number, offset: number): Promise<OrganizationRow[]> {
    return runQuery("listOrganizations", () =>
      this.db.select().from(organizations).orderBy(asc(organizations.organizationId)).limit(limit).offset(offset),
    );
  }
}
