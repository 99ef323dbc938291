import type { z } from "@hono/zod-openapi";
import type { OrganizationPlacement } from "../../db/organization-records";
import { DEFAULT_KEY_NAME } from "../../db/team-records";
import { Conflict, LedgerRefusal } from "../../errors";
import { onLedger, tryLedger } from "../../ledger/client";
import type { AccountInit, Balance } from "../../ledger/types";
import { log } from "../../log";
import { DEFAULT_CREDITS_PER_DOLLAR, DEFAULT_JOB_TTL_SECONDS, DEFAULT_TOKENS_PER_CREDIT } from "../../schemas/budget";
import type { Jurisdiction, LocationHint } from "../../schemas/organizations";
import type { CreateTeam } from "../../schemas/teams";
import { generateVirtualKey, hashVirtualKey } from "../../security/keys";
import { seal, unseal } from "../../security/sealing";
import type { AppContext } from "../context";
import { apiError } from "../errors";
import { scopedOrganization } from "../middleware/admin-guard";
import { operationId } from "../middleware/idempotency";
import { loadTeam, pepper, withBalance } from "./team-views";
import { organizationWebhookFor } from "./webhook-config";

// Creating a team: its D1 rows (the key only as a keyed hash, and the placement of its object:
// its organization's, kept with the team for good), then its ledger, created where the placement
// says (in the jurisdiction's namespace, near the location hint) and opened under the request's
// operation id. With an Idempotency-Key the new key is kept sealed with that operation,
// so a retry that finds the team already in D1 (the first attempt failed after the ledger
// opened) can still deliver it, and only to the same caller with the same key.

type NewTeam = z.infer<typeof CreateTeam>;

/** What the team's ledger opens with; the object decides access from the first key and the groups' models. */
function accountInitOf(body: NewTeam, key: AccountInit["key"], modelGroups: AccountInit["modelGroups"]): AccountInit {
  return {
    teamId: body.team_id,
    organizationId: body.organization_id,
    creditsAllocated: body.credits_allocated,
    budgetMode: body.budget_mode ?? "job_based",
    creditsPerDollar: body.credits_per_dollar ?? DEFAULT_CREDITS_PER_DOLLAR,
    tokensPerCredit: body.tokens_per_credit ?? DEFAULT_TOKENS_PER_CREDIT,
    costMarkupPercentage: body.cost_markup_percentage ?? 0,
    jobTtlSeconds: body.job_ttl_seconds ?? DEFAULT_JOB_TTL_SECONDS,
    rateLimitPerMinute: body.rate_limit_per_minute ?? null,
    overdraft: body.overdraft ?? "none",
    unpricedCalls: body.unpriced_calls ?? "refuse",
    tpmLimit: body.tpm_limit ?? null,
    grantNoticeSeconds: body.grant_expiring_notice_seconds,
    unfinishedJobs: body.unfinished_jobs ?? null,
    speculativeAdmission: body.speculative_admission ?? true,
    key,
    modelGroups,
  };
}

const keptContext = (operation: string) => `created-team-key\n${operation}`;

/** The created-team answer: the team as D1 has it, the ledger's opening balance, and the key (shown here only). */
async function createdTeamAnswer(c: AppContext, teamId: string, balance: Balance, key: string, groups: AccountInit["modelGroups"]) {
  const team = await loadTeam(c, teamId);
  const allowedModels = new Set(groups.flatMap((g) => g.models));
  return c.json(
    {
      ...withBalance(team, balance),
      allowed_models: [...allowedModels].sort(),
      virtual_key: key,
      message: "Team created. Store the virtual key now: it is not shown again.",
    },
    200,
  );
}

/**
 * A retry of a creation whose ledger opened under this request's operation: the first answer
 * again, if the key kept with it is still the team's key. Null when there is nothing to recover.
 */
async function recoverCreatedTeam(c: AppContext, init: AccountInit, operation: string) {
  if (!c.get("operationBase")) return null;
  // The team as the first attempt placed it (its organization's placement may have changed since).
  const placement = await c.get("repo").teams.placementOf(init.teamId);
  if (!placement) return null;
  const team = { teamId: init.teamId, jurisdiction: placement.jurisdiction };
  // Not compared by arguments: each attempt makes its own key; the middleware already refused another body.
  const recalled = await onLedger(c.env, team, "recall", operation, "openAccount");
  if (!recalled?.kept) return null;
  const key = await unseal(c.env.KEY_PEPPER, recalled.kept, keptContext(operation));
  if (key === null) return null;
  // Only while it is still a good key of the team (its object decides, as on every request).
  const stillGood = await tryLedger(c.env, team, "authenticate", { kind: "team", keyHash: await hashVirtualKey(pepper(c), key) });
  if (!stillGood.ok) return null;
  return createdTeamAnswer(c, init.teamId, recalled.result as Balance, key, init.modelGroups);
}

/** Opens the team's ledger; on any failure the D1 rows are undone, so the team does not half exist. */
async function openLedger(
  c: AppContext,
  init: AccountInit,
  placement: OrganizationPlacement,
  operation: { id: string; keep: string | null },
): Promise<Balance> {
  const team = { teamId: init.teamId, ...placement };
  try {
    let opened = await tryLedger(c.env, team, "openAccount", init, operation);
    if (!opened.ok && opened.code === "ACCOUNT_EXISTS") {
      // D1 had no such team, so this ledger belongs to a deleted team of the same id whose erasure did not finish.
      await tryLedger(c.env, team, "closeAccount");
      opened = await tryLedger(c.env, team, "openAccount", init, operation);
    }
    if (!opened.ok && opened.code === "OPERATION_MISMATCH") throw new LedgerRefusal(opened.code, opened.detail);
    if (!opened.ok) throw apiError(503, "Team ledger could not be opened; please retry");
    return opened.value;
  } catch (error) {
    await c
      .get("repo")
      .teams.delete(init.teamId)
      .catch((e) => log("error", "could not undo team creation", { team_id: init.teamId, error: String(e) }));
    throw error;
  }
}

/**
 * The answer to a team id already in use. Team ids are one namespace across organizations: a key
 * scoped to an organization, whose GET of another organization's team is 404, is told only that
 * the id is not available (never that a team exists, nor where); a team of its own organization,
 * which it can see, and any id for an unscoped key, get the SPEC's 400 "already exists".
 */
async function duplicateTeam(c: AppContext, teamId: string) {
  const scope = scopedOrganization(c);
  if (scope !== null && (await c.get("repo").teams.organizationOf(teamId)) !== scope) {
    return apiError(400, `Team id '${teamId}' is not available; choose another`);
  }
  return apiError(400, `Team '${teamId}' already exists`);
}

export async function createTeamWithLedger(c: AppContext, body: NewTeam) {
  const repo = c.get("repo");
  const [organization, missingGroups, webhooks] = await Promise.all([
    repo.organizations.get(body.organization_id),
    repo.modelGroups.missing(body.model_groups),
    organizationWebhookFor(c, body.organization_id),
  ]);
  if (!organization) throw apiError(404, `Organization '${body.organization_id}' not found`);
  if (missingGroups.length > 0) throw apiError(404, `Model group '${missingGroups[0]}' not found`);

  const operation = operationId(c);
  const { key, prefix } = generateVirtualKey();
  const keyHash = await hashVirtualKey(pepper(c), key);
  const firstKey = { keyId: crypto.randomUUID(), keyHash, prefix, name: DEFAULT_KEY_NAME };
  const init = { ...accountInitOf(body, firstKey, await repo.access.groupsWithModels(body.model_groups)), webhooks };
  const placement = {
    locationHint: organization.locationHint as LocationHint | null,
    jurisdiction: organization.jurisdiction as Jurisdiction | null,
  };
  try {
    await repo.teams.create({
      teamId: body.team_id,
      organizationId: body.organization_id,
      teamAlias: body.team_alias ?? null,
      metadata: body.metadata,
      modelGroups: body.model_groups,
      key: { keyId: firstKey.keyId, secretId: crypto.randomUUID(), keyHash, keyPrefix: prefix },
      placement,
    });
  } catch (error) {
    if (!(error instanceof Conflict)) throw error;
    const recovered = await recoverCreatedTeam(c, init, operation);
    if (recovered) return recovered;
    throw await duplicateTeam(c, body.team_id);
  }
  const keep = c.get("operationBase") ? await seal(pepper(c), key, keptContext(operation)) : null;
  const balance = await openLedger(c, init, placement, { id: operation, keep });
  return createdTeamAnswer(c, body.team_id, balance, key, init.modelGroups);
}
