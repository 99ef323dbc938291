import type { TeamKeyRow } from "../../db/key-records";
import { BUDGET_PERIODS, type BudgetPeriod } from "../../schemas/period-budgets";
import { type Refusal, refusal } from "../types";
import type { GroupCache } from "./cache-hits";
import type { PeriodBudget } from "./period-budget";

// Who may use a team, decided by the team's object on every request: a team key must be one
// the object holds, not revoked and not past its validity; a call's group must be assigned to
// the team (and to the key, when the key is narrowed to some groups) and have models. Pure
// functions of what store/access-store.ts and store/key-store.ts read.

/** Who is asking: the admin (or the gateway itself, closing a job it opened), or a team key by its keyed hash. */
export type Caller = { kind: "admin" } | { kind: "team"; keyHash: string };

/** A named key of the team, as the object keeps it (its secrets are SecretAccess rows). */
export interface KeyGrant {
  keyId: string;
  name: string;
  /** The display prefix of its current secret. */
  prefix: string;
  /** The groups it may use, within the team's (null: all the team's groups). */
  modelGroups: string[] | null;
  /** When it stops by itself (null: never). */
  expiresAtMs: number | null;
  /** When it was revoked (null: it was not). */
  revokedAtMs: number | null;
  createdAt: string;
  budget: PeriodBudget | null;
}

/** A key as D1 keeps it, as its team's object is told it. */
export function keyGrantOf(row: TeamKeyRow): KeyGrant {
  const ms = (iso: string | null) => (iso === null ? null : Date.parse(iso));
  const period = BUDGET_PERIODS.find((p): p is BudgetPeriod => p === row.budgetPeriod);
  return {
    keyId: row.keyId,
    name: row.name,
    prefix: row.keyPrefix,
    modelGroups: row.modelGroups ?? null,
    expiresAtMs: ms(row.expiresAt),
    revokedAtMs: ms(row.revokedAt),
    createdAt: row.createdAt,
    budget: row.budgetCredits !== null && period !== undefined ? { credits: row.budgetCredits, period } : null,
  };
}

/** One secret of a key, by its keyed hash: good until `validUntilMs` (null: until a rotation retires it). */
export interface SecretAccess {
  keyHash: string;
  /** The key it belongs to (null: a secret from before keys had names, which belongs to none). */
  keyId: string | null;
  validUntilMs: number | null;
}

/** An assigned model group: its models, priority first, and its response cache (absent or null: none). */
export interface GroupAccess {
  name: string;
  models: string[];
  cache?: GroupCache | null;
}

/** Everything the object needs to decide access: pushed at creation and on every admin change, or loaded from D1 once. */
export interface TeamAccess {
  keys: KeyGrant[];
  secrets: SecretAccess[];
  groups: GroupAccess[];
}

/** The key a request was made with, once the object accepted it. */
export interface CallerKey {
  keyId: string;
  name: string;
  modelGroups: string[] | null;
}

/** What the admin pushes to a team's object when it changes who may use the team. */
export type AccessChange =
  /** A key created (with its first secret), or its name, groups, expiry or budget changed. */
  | { key: KeyGrant; secret?: { keyHash: string } }
  /** A key's new secret; its other secrets still good stop after `graceSeconds` (at once for 0). */
  | { secret: { keyId: string; keyHash: string; prefix: string; graceSeconds: number } }
  /** A key revoked: every secret of it stops at once. */
  | { revokeKey: { keyId: string } }
  /** The team's model groups, replacing the ones it had. */
  | { groups: GroupAccess[] }
  /** A group's new model list and cache setting, for a team assigned that group (others ignore it). */
  | { groupModels: GroupAccess };

export const invalidKey = (): Refusal => refusal("INVALID_KEY", "Invalid API key");

/** A key is good while the object holds it and no end (its secret's, its own expiry, its revocation) has come. */
export function refuseKey(ends: Array<number | null> | undefined, nowMs: number): Refusal | null {
  if (ends === undefined) return invalidKey();
  if (ends.some((end) => end !== null && end <= nowMs)) return invalidKey();
  return null;
}

/** When a rotation retires a key's secrets that are still good: at once, or after the grace period. */
export function retiredAt(nowMs: number, graceSeconds: number): number {
  return nowMs + Math.max(0, graceSeconds) * 1000;
}

/** A call may use a group the team is assigned (403 otherwise, also for a group that does not exist) that has models. */
export function refuseGroup(models: string[] | null, groupName: string): Refusal | null {
  if (models === null) return refusal("GROUP_NOT_ASSIGNED", `Model group '${groupName}' is not assigned to this team`);
  if (models.length === 0) return refusal("GROUP_HAS_NO_MODELS", `Model group '${groupName}' has no models`);
  return null;
}

/** A key narrowed to some groups may use only those (403, in the words of a group the team lacks). */
export function refuseKeyGroup(key: CallerKey | null, groupName: string): Refusal | null {
  if (key?.modelGroups == null || key.modelGroups.includes(groupName)) return null;
  return refusal("GROUP_NOT_ASSIGNED", `Model group '${groupName}' is not available to the key '${key.name}'`);
}

/** A job's calls are made with the key that opened it (a key with a budget cannot spend through another key's job). */
export function refuseOtherKeysJob(jobKeyId: string | null, jobId: string, key: CallerKey | null): Refusal | null {
  if (jobKeyId === null || key === null || key.keyId === jobKeyId) return null;
  return refusal("JOB_OF_ANOTHER_KEY", `Job '${jobId}' was opened with another key of the team; make its calls with that key`);
}
