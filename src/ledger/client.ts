import { DependencyDown, LedgerRefusal } from "../errors";
import { log } from "../log";
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
 * Calls one method on a team's ledger and hands its result back as-is; an unreachable object
 * throws DependencyDown (the caller fails closed). Types come from the class itself rather than the RPC stub.
 */
export async function tryLedger<K extends LedgerMethod>(env: Env, teamId: string, method: K, ...args: Args<K>): Promise<Result<K>> {
  const stub = env.TEAM_LEDGER.getByName(teamId) as unknown as Record<K, (...a: Args<K>) => Promise<Result<K>>>;
  try {
    return await stub[method](...args);
  } catch (error) {
    log("error", "team ledger unreachable", { team_id: teamId, method, error: error instanceof Error ? error.message : String(error) });
    throw new DependencyDown("ledger");
  }
}

/** Like tryLedger, but a refusal is thrown as a LedgerRefusal and the value comes back otherwise. */
export async function onLedger<K extends LedgerMethod>(env: Env, teamId: string, method: K, ...args: Args<K>): Promise<Value<K>> {
  const result = (await tryLedger(env, teamId, method, ...args)) as LedgerResult<Value<K>>;
  if (!result.ok) throw new LedgerRefusal(result.code, result.detail, result.retryAfterSeconds);
  return result.value;
}
