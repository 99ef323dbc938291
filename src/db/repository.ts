import { type DrizzleD1Database, drizzle } from "drizzle-orm/d1";
import { AccessRecords } from "./access-records";
import { AdminKeyRecords, AuditRecords } from "./admin-records";
import { IdempotencyRecords } from "./idempotency-records";
import { KeyRecords } from "./key-records";
import { ModelGroupRecords } from "./model-group-records";
import { OrganizationRecords } from "./organization-records";
import { PricingRecords } from "./pricing-records";
import * as schema from "./schema";
import { TeamRecords } from "./team-records";
import { UsageRecords } from "./usage-records";
import { WebhookRecords } from "./webhook-records";

export type { GroupModel } from "./access-records";
export type { ModelGroupRow, ModelGroupWithModels } from "./model-group-records";
export type { OrganizationRow } from "./organization-records";
export type { PricingRow } from "./pricing-records";
export type { TeamRow, TeamWithGroups } from "./team-records";

/**
 * Everything the gateway reads and writes in D1, one module per entity. Every query goes
 * through runQuery (query.ts): a D1 failure becomes DependencyDown (the caller fails closed);
 * a UNIQUE violation becomes a Conflict the route turns into "already exists".
 */
export class Repository {
  readonly organizations: OrganizationRecords;
  readonly modelGroups: ModelGroupRecords;
  /** Teams and their groups. */
  readonly teams: TeamRecords;
  /** Teams' named keys and their secrets (as keyed hashes). */
  readonly keys: KeyRecords;
  readonly pricing: PricingRecords;
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

  constructor(private readonly d1: D1Database) {
    const db: DrizzleD1Database<typeof schema> = drizzle(d1, { schema });
    this.idempotency = new IdempotencyRecords(db);
    this.access = new AccessRecords(db);
    this.webhooks = new WebhookRecords(db);
    this.usage = new UsageRecords(db);
    this.adminKeys = new AdminKeyRecords(db);
    this.audit = new AuditRecords(db);
    this.organizations = new OrganizationRecords(db);
    this.modelGroups = new ModelGroupRecords(db, d1);
    this.pricing = new PricingRecords(db);
    this.keys = new KeyRecords(db, d1);
    // A deleted team's rows in other tables go in the same batch as the team.
    this.teams = new TeamRecords(db, d1, (teamId) => [
      this.idempotency.forTeam(teamId),
      this.webhooks.forTeam(teamId),
      ...this.usage.forTeam(teamId),
    ]);
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
}
