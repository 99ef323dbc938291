import { and, count, eq, gte, lte, sql } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { runQuery } from "./query";
import type * as schema from "./schema";
import { groupUsageDaily, organizations, teams, teamUsageDaily } from "./schema";

// Reports read here, never from the team objects: each object sends its per-day, per-job-type
// totals (absolute, so a repeated send is harmless), and a report is one or two aggregate
// queries whatever the number of teams.

/** One day's totals of one job type, as a team's object keeps them. */
export interface DailyUsage {
  day: string;
  job_type: string;
  jobs: number;
  completed: number;
  failed: number;
  cancelled: number;
  expired: number;
  calls: number;
  credits_charged: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  client_cost_nano: number;
  provider_cost_nano: number;
  /** Calls answered from a response cache, and the client and provider cost they saved. */
  cache_hits: number;
  cache_saved_nano: number;
  cache_saved_provider_nano: number;
}

export type UsageSums = Omit<DailyUsage, "day" | "job_type">;

/** One day's calls of one model group, with its response cache hits, as a team's object keeps them. */
export type DailyGroupUsage = {
  day: string;
  model_group: string;
  calls: number;
  cache_hits: number;
  cache_saved_nano: number;
};

const sum = (column: SQLiteColumn) => sql<number>`coalesce(sum(${column}), 0)`.mapWith(Number);

const sums = {
  jobs: sum(teamUsageDaily.jobs),
  completed: sum(teamUsageDaily.completed),
  failed: sum(teamUsageDaily.failed),
  cancelled: sum(teamUsageDaily.cancelled),
  expired: sum(teamUsageDaily.expired),
  calls: sum(teamUsageDaily.calls),
  credits_charged: sum(teamUsageDaily.creditsCharged),
  prompt_tokens: sum(teamUsageDaily.promptTokens),
  completion_tokens: sum(teamUsageDaily.completionTokens),
  total_tokens: sum(teamUsageDaily.totalTokens),
  client_cost_nano: sum(teamUsageDaily.clientCostNano),
  provider_cost_nano: sum(teamUsageDaily.providerCostNano),
  cache_hits: sum(teamUsageDaily.cacheHits),
  cache_saved_nano: sum(teamUsageDaily.cacheSavedNano),
  cache_saved_provider_nano: sum(teamUsageDaily.cacheSavedProviderNano),
};

/** The days a period covers, as a range the (organization, day) index serves: `YYYY-MM` a month, `YYYY-MM-DD` one day. */
const daysOf = (period: string) =>
  period.length === 7
    ? and(gte(teamUsageDaily.day, `${period}-01`), lte(teamUsageDaily.day, `${period}-31`))
    : eq(teamUsageDaily.day, period);

export class UsageRecords {
  constructor(private readonly db: DrizzleD1Database<typeof schema>) {}

  /**
   * Writes a team's totals for these days, per job type and per model group, in one atomic batch
   * (absolute values: a retry changes nothing). Each row is written only while the team exists in
   * that organization (read in the same statement): a send that lands after the team's deletion
   * writes nothing, so deletion wins over a send already under way.
   */
  writeDaily(team: { teamId: string; organizationId: string }, rows: DailyUsage[], groupRows: DailyGroupUsage[] = []): Promise<void> {
    if (rows.length === 0 && groupRows.length === 0) return Promise.resolve();
    const updatedAt = new Date().toISOString();
    const n = (v: number, name: string) => sql<number>`${v}`.as(name);
    const theTeam = and(eq(teams.teamId, team.teamId), eq(teams.organizationId, team.organizationId));
    const upserts = rows.map((r) => {
      const totals = {
        jobs: r.jobs,
        completed: r.completed,
        failed: r.failed,
        cancelled: r.cancelled,
        expired: r.expired,
        calls: r.calls,
        creditsCharged: r.credits_charged,
        promptTokens: r.prompt_tokens,
        completionTokens: r.completion_tokens,
        totalTokens: r.total_tokens,
        clientCostNano: r.client_cost_nano,
        providerCostNano: r.provider_cost_nano,
        cacheHits: r.cache_hits,
        cacheSavedNano: r.cache_saved_nano,
        cacheSavedProviderNano: r.cache_saved_provider_nano,
      };
      // The row to write, selected from the team's own row: none when the team is gone.
      const ofExistingTeam = this.db
        .select({
          teamId: teams.teamId,
          organizationId: teams.organizationId,
          day: sql<string>`${r.day}`.as("day"),
          jobType: sql<string>`${r.job_type}`.as("job_type"),
          jobs: n(r.jobs, "jobs"),
          completed: n(r.completed, "completed"),
          failed: n(r.failed, "failed"),
          cancelled: n(r.cancelled, "cancelled"),
          expired: n(r.expired, "expired"),
          calls: n(r.calls, "calls"),
          creditsCharged: n(r.credits_charged, "credits_charged"),
          promptTokens: n(r.prompt_tokens, "prompt_tokens"),
          completionTokens: n(r.completion_tokens, "completion_tokens"),
          totalTokens: n(r.total_tokens, "total_tokens"),
          clientCostNano: n(r.client_cost_nano, "client_cost_nano"),
          providerCostNano: n(r.provider_cost_nano, "provider_cost_nano"),
          cacheHits: n(r.cache_hits, "cache_hits"),
          cacheSavedNano: n(r.cache_saved_nano, "cache_saved_nano"),
          cacheSavedProviderNano: n(r.cache_saved_provider_nano, "cache_saved_provider_nano"),
          updatedAt: sql<string>`${updatedAt}`.as("updated_at"),
        })
        .from(teams)
        .where(theTeam);
      return this.db
        .insert(teamUsageDaily)
        .select(ofExistingTeam)
        .onConflictDoUpdate({
          target: [teamUsageDaily.teamId, teamUsageDaily.day, teamUsageDaily.jobType],
          set: { ...totals, organizationId: team.organizationId, updatedAt },
        });
    });
    const groupUpserts = groupRows.map((r) => {
      const totals = { calls: r.calls, cacheHits: r.cache_hits, cacheSavedNano: r.cache_saved_nano, updatedAt };
      const ofExistingTeam = this.db
        .select({
          teamId: teams.teamId,
          day: sql<string>`${r.day}`.as("day"),
          modelGroup: sql<string>`${r.model_group}`.as("model_group"),
          calls: n(r.calls, "calls"),
          cacheHits: n(r.cache_hits, "cache_hits"),
          cacheSavedNano: n(r.cache_saved_nano, "cache_saved_nano"),
          updatedAt: sql<string>`${updatedAt}`.as("updated_at"),
        })
        .from(teams)
        .where(theTeam);
      return this.db
        .insert(groupUsageDaily)
        .select(ofExistingTeam)
        .onConflictDoUpdate({ target: [groupUsageDaily.teamId, groupUsageDaily.day, groupUsageDaily.modelGroup], set: totals });
    });
    const statements = [...upserts, ...groupUpserts];
    return runQuery("writeDailyUsage", async () => {
      await this.db.batch(statements as [(typeof statements)[0], ...typeof statements]);
    });
  }

  /** A model group's calls and cache hits in a month (`YYYY-MM`), over every team that used it. */
  groupUsage(modelGroup: string, period: string): Promise<{ calls: number; cache_hits: number; cache_saved_nano: number }> {
    return runQuery("groupUsage", async () => {
      const [row] = await this.db
        .select({
          calls: sum(groupUsageDaily.calls),
          cache_hits: sum(groupUsageDaily.cacheHits),
          cache_saved_nano: sum(groupUsageDaily.cacheSavedNano),
        })
        .from(groupUsageDaily)
        .where(
          and(
            eq(groupUsageDaily.modelGroup, modelGroup),
            gte(groupUsageDaily.day, `${period}-01`),
            lte(groupUsageDaily.day, `${period}-31`),
          ),
        );
      return row ?? { calls: 0, cache_hits: 0, cache_saved_nano: 0 };
    });
  }

  /** An organization's usage in a period, per team and job type (one query). */
  organizationUsage(organizationId: string, period: string): Promise<Array<UsageSums & { team_id: string; job_type: string }>> {
    return runQuery("organizationUsage", () =>
      this.db
        .select({ team_id: teamUsageDaily.teamId, job_type: teamUsageDaily.jobType, ...sums })
        .from(teamUsageDaily)
        .where(and(eq(teamUsageDaily.organizationId, organizationId), daysOf(period)))
        .groupBy(teamUsageDaily.teamId, teamUsageDaily.jobType)
        .orderBy(teamUsageDaily.teamId, teamUsageDaily.jobType),
    );
  }

  /**
   * The dashboard's counts, in one batch: organizations, teams by status, and this month's and
   * today's usage; with `organizationId`, of that organization only.
   */
  dashboard(filter: { organizationId?: string }, today: string) {
    const month = today.slice(0, 7);
    const org = filter.organizationId;
    return runQuery("dashboard", async () => {
      const [orgs, teamStatuses, usage] = await this.db.batch([
        this.db
          .select({ n: count() })
          .from(organizations)
          .where(org === undefined ? undefined : eq(organizations.organizationId, org)),
        this.db
          .select({ status: teams.status, n: count() })
          .from(teams)
          .where(org === undefined ? undefined : eq(teams.organizationId, org))
          .groupBy(teams.status),
        this.db
          .select({
            ...sums,
            jobs_today:
              sql<number>`coalesce(sum(case when ${teamUsageDaily.day} = ${today} then ${teamUsageDaily.jobs} else 0 end), 0)`.mapWith(
                Number,
              ),
          })
          .from(teamUsageDaily)
          .where(and(daysOf(month), org === undefined ? undefined : eq(teamUsageDaily.organizationId, org))),
      ]);
      return { organizations: orgs[0]?.n ?? 0, teamStatuses, usage: usage[0] };
    });
  }

  /** Removes a deleted team's usage (in its deletion batch): its id may be reused by a new team. */
  forTeam(teamId: string) {
    return [
      this.db.delete(teamUsageDaily).where(eq(teamUsageDaily.teamId, teamId)),
      this.db.delete(groupUsageDaily).where(eq(groupUsageDaily.teamId, teamId)),
    ] as const;
  }
}
