import type { TeamAddress } from "../../ledger/client";
import type { Jurisdiction } from "../../schemas/organizations";
import type { AppContext } from "../context";

// Where a team's object is, for a request that names the team: a team key's own team is already
// addressed by its key (auth.ts, no D1); an admin request names a team by id, whose jurisdiction
// D1 keeps (teams.jurisdiction, set once when the team was created) and this isolate remembers.
// A team's object never moves, so a remembered address can only outlive a deleted team, whose
// erased object then answers "not found", as the team would.

const CAPACITY = 4096;

/** Team id → the jurisdiction of its object, the least recently used first to go. */
class TeamJurisdictions {
  private readonly known = new Map<string, Jurisdiction | null>();

  get(teamId: string): Jurisdiction | null | undefined {
    const jurisdiction = this.known.get(teamId);
    if (jurisdiction !== undefined) {
      this.known.delete(teamId);
      this.known.set(teamId, jurisdiction);
    }
    return jurisdiction;
  }

  set(teamId: string, jurisdiction: Jurisdiction | null): void {
    this.known.delete(teamId);
    this.known.set(teamId, jurisdiction);
    if (this.known.size > CAPACITY) this.known.delete(this.known.keys().next().value!);
  }

  forget(teamId: string): void {
    this.known.delete(teamId);
  }
}

export const teamJurisdictions = new TeamJurisdictions();

/** The address of the team a request names: its key's own (no D1), or the one D1 keeps, remembered. */
export async function teamAt(c: AppContext, teamId: string): Promise<TeamAddress> {
  const principal = c.get("principal");
  if (principal?.kind === "team" && principal.teamId === teamId) return principal;
  const known = teamJurisdictions.get(teamId);
  if (known !== undefined) return { teamId, jurisdiction: known };
  const placement = await c.get("repo").teams.placementOf(teamId);
  // A team D1 does not have is asked in the default namespace, whose object answers that it does not exist.
  if (placement === undefined) return { teamId, jurisdiction: null };
  teamJurisdictions.set(teamId, placement.jurisdiction);
  return { teamId, jurisdiction: placement.jurisdiction };
}
