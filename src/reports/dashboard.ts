import type { Repository } from "../db/repository";
import { nanoToUsd } from "../ledger/rules/money";

// The operator's dashboard: counts from D1 only (one batch), never a team object. Scoped to one
// organization when given one, so an organization-scoped admin key can be limited to its own.

export interface Dashboard {
  organization_id: string | null;
  day: string;
  period: string;
  organizations: number;
  teams: { total: number; by_status: Record<string, number> };
  jobs_today: number;
  jobs_this_month: number;
  credits_charged_this_month: number;
  tokens_this_month: number;
  client_cost_usd_this_month: number;
}

/** The dashboard at `nowMs`; null when `organizationId` names no organization. */
export async function dashboardOf(repo: Repository, filter: { organizationId?: string }, nowMs = Date.now()): Promise<Dashboard | null> {
  const day = new Date(nowMs).toISOString().slice(0, 10);
  const { organizations, teamStatuses, usage } = await repo.usage.dashboard(filter, day);
  if (filter.organizationId !== undefined && organizations === 0) return null;
  const byStatus = Object.fromEntries(teamStatuses.map((t) => [t.status, t.n]));
  return {
    organization_id: filter.organizationId ?? null,
    day,
    period: day.slice(0, 7),
    organizations,
    teams: { total: teamStatuses.reduce((n, t) => n + t.n, 0), by_status: byStatus },
    jobs_today: usage?.jobs_today ?? 0,
    jobs_this_month: usage?.jobs ?? 0,
    credits_charged_this_month: usage?.credits_charged ?? 0,
    tokens_this_month: usage?.total_tokens ?? 0,
    client_cost_usd_this_month: nanoToUsd(usage?.client_cost_nano ?? 0),
  };
}
