import type { z } from "@hono/zod-openapi";
import type { UsageSums } from "../db/usage-records";
import { emptyUsage, sumInto, usageShown } from "../ledger/rules/views";
import type { OrganizationUsage as OrganizationUsageSchema, OrgTotals } from "../schemas/reports";

// An organization's usage for a period, shaped from the per-team, per-job-type sums D1 keeps
// (the team objects send them a few seconds after each change; see usage-flush.ts).

export type OrgUsageTotals = z.infer<typeof OrgTotals>;
export type OrganizationUsage = z.infer<typeof OrganizationUsageSchema>;

export type OrgUsageRow = UsageSums & { team_id: string; job_type: string };

/** An organization's totals: its report is for the admin key, so they include what the calls cost the operator. */
export function orgTotalsOf(sums: UsageSums): OrgUsageTotals {
  return usageShown(sums, "admin") as OrgUsageTotals;
}

/** Totals, per job type and per team (each with its job types), from one query's rows. */
export function organizationUsageOf(organizationId: string, period: string, rows: OrgUsageRow[]): OrganizationUsage {
  const total = emptyUsage();
  const byType = new Map<string, UsageSums>();
  const byTeam = new Map<string, { total: UsageSums; types: Map<string, UsageSums> }>();
  for (const { team_id, job_type, ...sums } of rows) {
    sumInto(total, sums);
    byType.set(job_type, sumInto(byType.get(job_type) ?? emptyUsage(), sums));
    const team = byTeam.get(team_id) ?? { total: emptyUsage(), types: new Map() };
    sumInto(team.total, sums);
    team.types.set(job_type, sumInto(team.types.get(job_type) ?? emptyUsage(), sums));
    byTeam.set(team_id, team);
  }
  const shown = (m: Map<string, UsageSums>) => Object.fromEntries([...m].map(([k, s]) => [k, orgTotalsOf(s)]));
  return {
    organization_id: organizationId,
    period,
    summary: orgTotalsOf(total),
    job_types: shown(byType),
    teams: Object.fromEntries([...byTeam].map(([id, t]) => [id, { summary: orgTotalsOf(t.total), job_types: shown(t.types) }])),
  };
}
