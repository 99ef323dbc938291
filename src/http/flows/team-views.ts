import type { TeamWithGroups } from "../../db/repository";
import { type BudgetPolicyView, NO_BUDGET_POLICY } from "../../ledger/changes/budget-policy";
import type { Balance } from "../../ledger/types";
import type { AppContext } from "../context";
import { apiError } from "../errors";

// How a team is shown by the team routes: its D1 row, and with its ledger's balance.

export function presentTeam(team: TeamWithGroups) {
  return {
    team_id: team.teamId,
    organization_id: team.organizationId,
    team_alias: team.teamAlias,
    status: team.status,
    model_groups: team.modelGroups,
    key_prefix: team.keyPrefix,
    metadata: team.metadata,
    created_at: team.createdAt,
    updated_at: team.updatedAt,
  };
}

/** A team with its ledger's balance and budget policy (a new team's is the empty policy). */
export function withBalance(team: TeamWithGroups, balance: Balance, policy: BudgetPolicyView = NO_BUDGET_POLICY) {
  const { team_id: _t, organization_id: _o, ...money } = balance;
  return { ...presentTeam(team), ...money, status: balance.status, ...policy };
}

export async function loadTeam(c: AppContext, teamId: string): Promise<TeamWithGroups> {
  const team = await c.get("repo").teams.get(teamId);
  if (!team) throw apiError(404, `Team '${teamId}' not found`);
  return team;
}

/** The pepper keys are hashed with: without it no key can be issued. */
export function pepper(c: AppContext): string {
  const value = c.env.KEY_PEPPER;
  if (!value) throw apiError(503, "Team keys are not configured on this deployment (KEY_PEPPER is missing)");
  return value;
}
