import { tryLedger } from "../../ledger/client";
import type { AccessChange } from "../../ledger/rules/access";
import { log } from "../../log";
import { apiError } from "../errors";

// Admin writes that change who may use a team are written to D1 (for admin reads and key
// lookups) and then pushed to the team's object, which decides every request. A push that
// fails leaves the request answered 503: D1 already has the change, and sending the same
// request again writes the same rows and pushes again, which finishes it.

/** How many team objects one fan-out talks to at a time. */
const FAN_OUT_BATCH = 50;

async function pushed(env: Env, teamId: string, change: AccessChange): Promise<boolean> {
  try {
    const result = await tryLedger(env, teamId, "changeAccess", change);
    // A team with no ledger (being deleted) has nothing to update.
    if (result.ok || result.code === "ACCOUNT_NOT_FOUND") return true;
    log("error", "access change refused by the team's ledger", { team_id: teamId, code: result.code });
    return false;
  } catch {
    return false;
  }
}

/** Pushes a change to one team's object; 503 when it cannot be delivered. */
export async function pushAccess(env: Env, teamId: string, change: AccessChange): Promise<void> {
  if (!(await pushed(env, teamId, change))) {
    throw apiError(503, "The change is saved but the team's ledger could not be updated; send the same request again to finish it");
  }
}

/**
 * Pushes to every team listed, FAN_OUT_BATCH at a time (`push` says whether the team's object took
 * it); 503 naming how many could not be updated, after `saved` ("The change is saved").
 */
export async function pushToTeams(teamIds: string[], push: (teamId: string) => Promise<boolean>, saved: string, again = ""): Promise<void> {
  let failed = 0;
  for (let i = 0; i < teamIds.length; i += FAN_OUT_BATCH) {
    const results = await Promise.all(teamIds.slice(i, i + FAN_OUT_BATCH).map(push));
    failed += results.filter((ok) => !ok).length;
  }
  if (failed > 0) {
    throw apiError(
      503,
      `${saved} but ${failed} of ${teamIds.length} teams' ledgers could not be updated; send the same request again${again}`,
    );
  }
}

/** Pushes a change to every team listed, in batches; 503 naming how many could not be updated. */
export function pushAccessToTeams(env: Env, teamIds: string[], change: AccessChange): Promise<void> {
  return pushToTeams(teamIds, (teamId) => pushed(env, teamId, change), "The change is saved", " to finish it");
}
