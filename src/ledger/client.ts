import { DependencyDown, LedgerRefusal } from "../errors";
import { log } from "../log";
import type { Jurisdiction, LocationHint } from "../schemas/organizations";
import type { TeamLedger } from "./team-ledger";
import type { LedgerResult } from "./types";

type Method = (...args: never[]) => LedgerResult<unknown> | Promise<LedgerResult<unknown>>;
/** The TeamLedger methods that answer with a LedgerResult: the object's RPC surface. */
type LedgerApi = { [K in keyof TeamLedger as TeamLedger[K] extends Method ? K : never]: TeamLedger[K] };
export type LedgerMethod = keyof LedgerApi & string;
type Args<K extends LedgerMethod> = LedgerApi[K] extends (...args: infer A) => unknown ? A : never;
type Result<K extends LedgerMethod> = LedgerApi[K] extends (...args: never[]) => infer R ? Awaited<R> : never;
type ValueOf<R> = R extends { ok: true; value: infer V } ? V : never;
type Value<K extends LedgerMethod> = ValueOf<Result<K>>;

/**
 * How a team's object is addressed: the team's id, in the namespace of the jurisdiction the
 * object was created in (null: the default namespace). The same id in another jurisdiction is
 * another object, so every call to a team's object carries both.
 */
export interface TeamAddress {
  teamId: string;
  jurisdiction: Jurisdiction | null;
  /** Where to create the object if this call is the one that creates it (the team's creation); once it exists, nothing. */
  locationHint?: LocationHint | null;
}

/**
 * The team's object. Local
 * workerd implements no jurisdiction: with EMULATE_JURISDICTIONS (local development and tests
 * only) a jurisdiction's object is the one named `<jurisdiction>:<team id>` (a team id has no ':').
 */
export function teamLedger(env: Env, team: TeamAddress): DurableObjectStub<TeamLedger> {
  const options = team.locationHint ? { locationHint: team.locationHint } : undefined;
  if (team.jurisdiction === null) return env.TEAM_LEDGER.getByName(team.teamId, options);
  if (env.EMULATE_JURISDICTIONS === "true") return env.TEAM_LEDGER.getByName(`${team.jurisdiction}:${team.teamId}`, options);
  return env.TEAM_LEDGER.jurisdiction(team.jurisdiction).getByName(team.teamId, options);
}

/**
 * Calls one method on a team's ledger and hands its result back as-is; an unreachable object
 * throws DependencyDown (the caller fails closed). Types come from the class itself rather than the RPC stub.
 */
export async function tryLedger<K extends LedgerMethod>(env: Env, team: TeamAddress, method: K, ...args: Args<K>): Promise<Result<K>> {
  try {
    const stub = teamLedger(env, team) as unknown as Record<K, (...a: Args<K>) => Promise<Result<K>>>;
    return await stub[method](...args);
  } catch (error) {
    log("error", "team ledger unreachable", {
      team_id: team.teamId,
      method,
      error: error instanceof Error ? error.message : String(error),
    });
    throw new DependencyDown("ledger");
  }
}

/** Like tryLedger, but a refusal is thrown as a LedgerRefusal and the value comes back otherwise. */
export async function onLedger<K extends LedgerMethod>(env: Env, team: TeamAddress, method: K, ...args: Args<K>): Promise<Value<K>> {
  const result = (await tryLedger(env, team, method, ...args)) as LedgerResult<Value<K>>;
  if (!result.ok) throw new LedgerRefusal(result.code, result.detail, result.retryAfterSeconds);
  return result.value;
}
