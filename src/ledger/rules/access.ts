import { type Refusal, refusal } from "../types";
import type { GroupCache } from "./cache-hits";

// Who may use a team, decided by the team's object on every request: a team key must be one
// the object holds and not past its validity; a call's group must be assigned and have models.
// Pure functions of what access-storage.ts reads.

/** Who is asking: the admin (or the gateway itself, closing a job it opened), or a team key by its keyed hash. */
export type Caller = { kind: "admin" } | { kind: "team"; keyHash: string };

/** A team key as the object keeps it: valid until `validUntilMs` (null: until a rotation retires it). */
export interface KeyAccess {
  keyHash: string;
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
  keys: KeyAccess[];
  groups: GroupAccess[];
}

/** What the admin pushes to a team's object when it changes who may use the team. */
export type AccessChange =
  /** A new key; every key still good stops after `graceSeconds` (at once for 0). */
  | { rotate: { keyHash: string; graceSeconds: number } }
  /** The team's model groups, replacing the ones it had. */
  | { groups: GroupAccess[] }
  /** A group's new model list and cache setting, for a team assigned that group (others ignore it). */
  | { groupModels: GroupAccess };

export const invalidKey = (): Refusal => refusal("INVALID_KEY", "Invalid API key");

/** A key is good while the object holds it and its validity has not run out. */
export function refuseKey(validUntilMs: number | null | undefined, nowMs: number): Refusal | null {
  if (validUntilMs === undefined) return invalidKey();
  if (validUntilMs !== null && validUntilMs <= nowMs) return invalidKey();
  return null;
}

/** When a rotation retires the keys that are still good: at once, or after the grace period. */
export function retiredAt(nowMs: number, graceSeconds: number): number {
  return nowMs + Math.max(0, graceSeconds) * 1000;
}

/** A call may use a group the team is assigned (403 otherwise, also for a group that does not exist) that has models. */
export function refuseGroup(models: string[] | null, groupName: string): Refusal | null {
  if (models === null) return refusal("GROUP_NOT_ASSIGNED", `Model group '${groupName}' is not assigned to this team`);
  if (models.length === 0) return refusal("GROUP_HAS_NO_MODELS", `Model group '${groupName}' has no models`);
  return null;
}
