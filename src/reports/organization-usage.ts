import type { UsageSums } from "../db/usage-records";
import { nanoToUsd } from "../ledger/rules/money";

// An organization's usage for a period, shaped from the per-team, per-job-type sums D1 keeps
// (the team objects send them a few seconds after each change; see usage-flush.ts).

export interface OrgUsageTotals {
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
  client_cost_usd: number;
  provider_cost_usd: number;
  cache_hits: number;
  cache_saved_usd: number;
  cache_saved_provider_usd: number;
}

export interface OrganizationUsage {
  organization_id: string;
  period: string;
  summary: OrgUsageTotals;
  job_types: Record<string, OrgUsageTotals>;
  teams: Record<string, { summary: OrgUsageTotals; job_types: Record<string, OrgUsageTotals> }>;
}

export type OrgUsageRow = UsageSums & { team_id: string; job_type: string };

const zero = (): UsageSums => ({
  jobs: 0,
  completed: 0,
  failed: 0,
  cancelled: 0,
  expired: 0,
  calls: 0,
  credits_charged: 0,
  prompt_tokens: 0,
  completion_tokens: 0,
  total_tokens: 0,
  client_cost_nano: 0,
  provider_cost_nano: 0,
  cache_hits: 0,
  cache_saved_nano: 0,
  cache_saved_provider_nano: 0,
});

function add(total: UsageSums, row: UsageSums): UsageSums {
  for (const k of Object.keys(total) as Array<keyof UsageSums>) total[k] += row[k];
  return total;
}

export function orgTotalsOf(s: UsageSums): OrgUsageTotals {
  const { client_cost_nano, provider_cost_nano, cache_saved_nano, cache_saved_provider_nano, ...counts } = s;
  return {
    ...counts,
    client_cost_usd: nanoToUsd(client_cost_nano),
    provider_cost_usd: nanoToUsd(provider_cost_nano),
    cache_saved_usd: nanoToUsd(cache_saved_nano),
    cache_saved_provider_usd: nanoToUsd(cache_saved_provider_nano),
  };
}

/** Totals, per job type and per team (each with its job types), from one query's rows. */
export function organizationUsageOf(organizationId: string, period: string, rows: OrgUsageRow[]): OrganizationUsage {
  const total = zero();
  const byType = new Map<string, UsageSums>();
  const byTeam = new Map<string, { total: UsageSums; types: Map<string, UsageSums> }>();
  for (const { team_id, job_type, ...sums } of rows) {
    add(total, sums);
    byType.set(job_type, add(byType.get(job_type) ?? zero(), sums));
    const team = byTeam.get(team_id) ?? { total: zero(), types: new Map() };
    add(team.total, sums);
    team.types.set(job_type, add(team.types.get(job_type) ?? zero(), sums));
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
