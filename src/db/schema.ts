import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

// D1 is the control plane: who exists, which key belongs to whom, what a group routes to,
// what a model costs. Balances, jobs, calls and the ledger live in each team's TeamLedger object.

const timestamps = {
  createdAt: text("created_at").notNull(),
  updatedAt: text("updated_at").notNull(),
};

export const organizations = sqliteTable("organizations", {
  organizationId: text("organization_id").primaryKey(),
  name: text("name").notNull(),
  status: text("status").notNull().default("active"),
  metadata: text("metadata", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
  ...timestamps,
});

// A group's response cache is off while cache_ttl_seconds is NULL; otherwise all three are set
// (see src/ledger/rules/cache-hits.ts). The team objects get it pushed with the group's models.
export const modelGroups = sqliteTable("model_groups", {
  groupName: text("group_name").primaryKey(),
  displayName: text("display_name").notNull(),
  description: text("description"),
  status: text("status").notNull().default("active"),
  cacheTtlSeconds: integer("cache_ttl_seconds"),
  cacheScope: text("cache_scope"),
  cacheHitPricePercent: integer("cache_hit_price_percent"),
  ...timestamps,
});

export const modelGroupModels = sqliteTable(
  "model_group_models",
  {
    groupName: text("group_name")
      .notNull()
      .references(() => modelGroups.groupName, { onDelete: "cascade" }),
    modelName: text("model_name").notNull(),
    priority: integer("priority").notNull(),
  },
  (t) => [primaryKey({ columns: [t.groupName, t.modelName] })],
);

export const teams = sqliteTable(
  "teams",
  {
    teamId: text("team_id").primaryKey(),
    organizationId: text("organization_id")
      .notNull()
      .references(() => organizations.organizationId),
    teamAlias: text("team_alias"),
    // Mirror of the status kept by the team's ledger object (which is authoritative), for listings.
    status: text("status").notNull().default("active"),
    metadata: text("metadata", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    ...timestamps,
  },
  (t) => [index("teams_organization_idx").on(t.organizationId)],
);

export const teamModelGroups = sqliteTable(
  "team_model_groups",
  {
    teamId: text("team_id")
      .notNull()
      .references(() => teams.teamId, { onDelete: "cascade" }),
    groupName: text("group_name")
      .notNull()
      .references(() => modelGroups.groupName),
    assignedAt: text("assigned_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.teamId, t.groupName] }), index("team_model_groups_group_idx").on(t.groupName)],
);

// A team's named keys (docs/keys.md): what each may use and spend. The key's secrets are
// api_keys rows. A name is unique among a team's keys not revoked; a revoked key stays, so its
// jobs and usage keep its name. The team's object keeps the same keys and decides every request.
export const teamKeys = sqliteTable(
  "team_keys",
  {
    keyId: text("key_id").primaryKey(),
    teamId: text("team_id")
      .notNull()
      .references(() => teams.teamId, { onDelete: "cascade" }),
    name: text("name").notNull(),
    // The display prefix of its current secret.
    keyPrefix: text("key_prefix").notNull(),
    // The groups it may use, within the team's; null: all of them.
    modelGroups: text("model_groups", { mode: "json" }).$type<string[]>(),
    budgetCredits: integer("budget_credits"),
    budgetPeriod: text("budget_period"),
    expiresAt: text("expires_at"),
    revokedAt: text("revoked_at"),
    ...timestamps,
  },
  (t) => [
    index("team_keys_team_idx").on(t.teamId),
    uniqueIndex("team_keys_live_name_uq").on(t.teamId, t.name).where(sql`revoked_at IS NULL`),
  ],
);

// Secrets of virtual keys, stored only as HMAC-SHA-256(KEY_PEPPER, key). A rotated secret keeps
// working until expires_at (the grace period); a revoked one stops at once. team_key_id is the
// named key (team_keys) the secret belongs to.
export const apiKeys = sqliteTable(
  "api_keys",
  {
    keyId: text("key_id").primaryKey(),
    teamId: text("team_id")
      .notNull()
      .references(() => teams.teamId, { onDelete: "cascade" }),
    teamKeyId: text("team_key_id"),
    keyHash: text("key_hash").notNull(),
    keyPrefix: text("key_prefix").notNull(),
    createdAt: text("created_at").notNull(),
    expiresAt: text("expires_at"),
    revokedAt: text("revoked_at"),
  },
  (t) => [
    uniqueIndex("api_keys_hash_uq").on(t.keyHash),
    index("api_keys_team_idx").on(t.teamId),
    index("api_keys_team_key_idx").on(t.teamKeyId),
  ],
);

// USD per 1M tokens, used when LiteLLM does not report a cost for a call.
export const modelPricing = sqliteTable("model_pricing", {
  modelName: text("model_name").primaryKey(),
  inputPerMillionUsd: real("input_per_million_usd").notNull(),
  outputPerMillionUsd: real("output_per_million_usd").notNull(),
  updatedAt: text("updated_at").notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`),
});

// A request with an Idempotency-Key whose first answer is replayed for 24 h.
export const idempotencyRecords = sqliteTable(
  "idempotency_records",
  {
    scope: text("scope").notNull(),
    idempotencyKey: text("idempotency_key").notNull(),
    requestHash: text("request_hash").notNull(),
    status: integer("status"),
    body: text("body"),
    // The answer's headers a replay repeats (content type, Retry-After, x-job-id), as JSON.
    headers: text("headers"),
    createdAt: text("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.scope, t.idempotencyKey] })],
);

// Signed webhooks (docs/webhooks.md): one per team and one per organization (for all its
// teams). The signing secret is kept sealed under KEY_PEPPER; the team's object, which signs
// deliveries, gets it pushed in clear. Deleting a team deletes its row (repository.deleteTeam).
export const webhooks = sqliteTable(
  "webhooks",
  {
    // 'team' or 'organization'; owner_id is that team's or organization's id.
    scope: text("scope").notNull(),
    ownerId: text("owner_id").notNull(),
    url: text("url").notNull(),
    events: text("events", { mode: "json" }).$type<string[]>().notNull(),
    lowBalanceThreshold: integer("low_balance_threshold"),
    secretSealed: text("secret_sealed").notNull(),
    ...timestamps,
  },
  (t) => [primaryKey({ columns: [t.scope, t.ownerId] })],
);

// Reports: each team's usage per day (of the job's creation, UTC) and job type, as absolute
// totals its TeamLedger object sends a few seconds after they change (src/ledger/background/usage-flush.ts).
// Organization reports and the dashboard read only this table, never the objects.
export const teamUsageDaily = sqliteTable(
  "team_usage_daily",
  {
    teamId: text("team_id").notNull(),
    organizationId: text("organization_id").notNull(),
    day: text("day").notNull(),
    jobType: text("job_type").notNull(),
    jobs: integer("jobs").notNull(),
    completed: integer("completed").notNull(),
    failed: integer("failed").notNull(),
    cancelled: integer("cancelled").notNull(),
    expired: integer("expired").notNull(),
    calls: integer("calls").notNull(),
    creditsCharged: integer("credits_charged").notNull(),
    promptTokens: integer("prompt_tokens").notNull(),
    completionTokens: integer("completion_tokens").notNull(),
    totalTokens: integer("total_tokens").notNull(),
    clientCostNano: integer("client_cost_nano").notNull(),
    providerCostNano: integer("provider_cost_nano").notNull(),
    cacheHits: integer("cache_hits").notNull().default(0),
    cacheSavedNano: integer("cache_saved_nano").notNull().default(0),
    cacheSavedProviderNano: integer("cache_saved_provider_nano").notNull().default(0),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.teamId, t.day, t.jobType] }), index("team_usage_daily_org_day_idx").on(t.organizationId, t.day)],
);

// Each team's calls per day and model group, with its response cache hits, sent with the rows
// above: a group's page reads its hit rate across the teams that use it from here.
export const groupUsageDaily = sqliteTable(
  "group_usage_daily",
  {
    teamId: text("team_id").notNull(),
    day: text("day").notNull(),
    modelGroup: text("model_group").notNull(),
    calls: integer("calls").notNull(),
    cacheHits: integer("cache_hits").notNull(),
    cacheSavedNano: integer("cache_saved_nano").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.teamId, t.day, t.modelGroup] }), index("group_usage_daily_group_day_idx").on(t.modelGroup, t.day)],
);

// Named admin keys (issue 18), stored like team keys: only HMAC-SHA-256(KEY_PEPPER, key). A key
// scoped to an organization (organization_id) sees only that organization. Revoking is at once:
// nothing caches an admin key.
export const adminKeys = sqliteTable(
  "admin_keys",
  {
    keyId: text("key_id").primaryKey(),
    name: text("name").notNull(),
    role: text("role").notNull(),
    organizationId: text("organization_id").references(() => organizations.organizationId),
    keyHash: text("key_hash").notNull(),
    keyPrefix: text("key_prefix").notNull(),
    createdAt: text("created_at").notNull(),
    lastUsedAt: text("last_used_at"),
    revokedAt: text("revoked_at"),
  },
  (t) => [uniqueIndex("admin_keys_hash_uq").on(t.keyHash)],
);

// Every admin write, allowed or refused. Append-only: no route edits or deletes a row; the
// hourly cron purges rows past the retention (AUDIT_RETENTION_DAYS). `status` is null while the
// write runs, and stays null when its outcome could not be recorded.
export const auditLog = sqliteTable(
  "audit_log",
  {
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    at: text("at").notNull(),
    actorKeyId: text("actor_key_id").notNull(),
    actorName: text("actor_name").notNull(),
    actorRole: text("actor_role"),
    action: text("action").notNull(),
    resourceType: text("resource_type").notNull(),
    resourceId: text("resource_id"),
    organizationId: text("organization_id"),
    summary: text("summary", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    requestId: text("request_id").notNull(),
    clientIp: text("client_ip"),
    status: integer("status"),
  },
  (t) => [
    index("audit_log_at_idx").on(t.at),
    index("audit_log_organization_idx").on(t.organizationId, t.seq),
    index("audit_log_resource_idx").on(t.resourceId, t.seq),
  ],
);
