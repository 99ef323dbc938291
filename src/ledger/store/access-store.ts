import type { Repository } from "../../db/repository";
import { log } from "../../log";
import type { AccountRow } from "../rows";
import {
  type AccessChange,
  type Caller,
  type CallerKey,
  type GroupAccess,
  invalidKey,
  type KeyGrant,
  keyGrantOf,
  refuseGroup,
  refuseKey,
  refuseKeyGroup,
  retiredAt,
  type TeamAccess,
} from "../rules/access";
import { accountNotFound } from "../rules/admission";
import type { GroupCache } from "../rules/cache-hits";
import type { PeriodBudget } from "../rules/period-budget";
import type { LedgerResult } from "../types";
import { ok, type Refusal, refusal } from "../types";
import { KeyStore } from "./key-store";

// A team's access list (tables of migrations 6 and 270): its keys with their secrets, and its
// model groups, with the guards the TeamLedger object puts in front of its methods (the rules
// are rules/access.ts). SQL runs synchronously; `ready` loads the list from D1 once for a team
// whose object predates it (or whose keys predate their ids).

const accessUnavailable = (): Refusal => refusal("ACCESS_UNAVAILABLE", "Database unavailable; please retry");

/** How often a key's last use is written, at most: a burst of calls writes it once. */
const LAST_USED_EVERY_MS = 60_000;

/** A caller the object let in: the key it used (null for the admin, or a secret of no known key). */
export type AdmittedCaller = { key: CallerKey | null };

/** Told, in the change's transaction, when a key's budget is set, changed or removed (period-budgets.ts keeps it). */
export type KeyBudgetSink = (keyId: string, budget: PeriodBudget | null, nowMs: number) => void;

/** A team's access list as D1 keeps it, for an object that must load it (its keys made KeyGrants). */
export function accessFromD1(d1: Repository): (teamId: string) => Promise<TeamAccess> {
  return async (teamId) => {
    const { keys, ...access } = await d1.access.teamAccess(teamId);
    return { ...access, keys: keys.map(keyGrantOf) };
  };
}

export class AccessStore {
  private readonly sql: SqlStorage;
  readonly keys: KeyStore;
  /** The one load from D1 in flight, which every request that needs the list waits for. */
  private loading: Promise<boolean> | null = null;
  /** When each key's last use was last written (in memory: a restart writes the next use again). */
  private readonly lastUseWritten = new Map<string, number>();

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly loadFromD1: (teamId: string) => Promise<TeamAccess>,
    private readonly keyBudgetChanged: KeyBudgetSink,
  ) {
    this.sql = storage.sql;
    this.keys = new KeyStore(storage.sql);
  }

  /**
   * Makes sure the access list is here; false when it has to be loaded and D1 cannot be read.
   * A change pushed while the load is in flight waits for it and is applied after it, so a
   * load that read D1 just before the change cannot undo it.
   */
  async ready(teamId: string): Promise<boolean> {
    if (this.loaded()) return true;
    this.loading ??= this.loadFromD1(teamId)
      .then((access) => {
        this.storage.transactionSync(() => this.replaceAll(access, new Date().toISOString()));
        return true;
      })
      .catch((error) => {
        log("error", "team access list could not be loaded from D1", { team_id: teamId, error: String(error) });
        return false;
      })
      .finally(() => {
        this.loading = null;
      });
    return this.loading;
  }

  /**
   * A team key must be one the team holds and still good (the admin is not asked); then a call's
   * group, when there is one, must be assigned to the team, and to the key if it is narrowed.
   * Answers with the key the caller used.
   */
  async admit(acct: AccountRow | null, caller: Caller, groupName?: string): Promise<Refusal | AdmittedCaller> {
    if (caller.kind === "admin" && groupName === undefined) return { key: null };
    if (!acct) return caller.kind === "team" ? invalidKey() : accountNotFound();
    if (!(await this.ready(acct.team_id))) return accessUnavailable();
    const nowMs = Date.now();
    const secret = caller.kind === "team" ? this.keys.secret(caller.keyHash) : undefined;
    const badKey = caller.kind === "team" ? refuseKey(secret?.ends, nowMs) : null;
    if (badKey) return badKey;
    const key = secret?.key ?? null;
    if (groupName !== undefined) {
      const refused = refuseGroup(this.groupModels(groupName), groupName) ?? refuseKeyGroup(key, groupName);
      if (refused) return refused;
    }
    if (key) this.noteUse(key.keyId, nowMs);
    return { key };
  }

  /** Applies a change the admin pushed, once the list is here (so a load from D1 in flight cannot undo it). */
  async change(acct: AccountRow | null, change: AccessChange, nowMs: number): Promise<LedgerResult<null>> {
    if (!acct) return accountNotFound();
    if (!(await this.ready(acct.team_id))) return accessUnavailable();
    this.storage.transactionSync(() => {
      if ("key" in change) {
        this.putKey(change.key, nowMs);
        if (change.secret) this.keys.addSecret(change.key.keyId, change.secret.keyHash, change.key.prefix, nowMs);
      } else if ("secret" in change) {
        const { keyId, keyHash, prefix, graceSeconds } = change.secret;
        this.keys.addSecret(keyId, keyHash, prefix, retiredAt(nowMs, graceSeconds));
      } else if ("revokeKey" in change) this.keys.revoke(change.revokeKey.keyId, nowMs);
      else if ("groups" in change) this.replaceGroups(change.groups);
      else this.setGroupModels(change.groupModels);
    });
    return ok(null);
  }

  /** Whether the keys and groups are here (pushed at creation, or loaded from D1 once). */
  loaded(): boolean {
    return this.sql.exec("SELECT 1 FROM access_state WHERE id = 1").toArray().length > 0;
  }

  /** A group's models, priority first; null when the team is not assigned the group. */
  groupModels(groupName: string): string[] | null {
    return this.group(groupName)?.models ?? null;
  }

  /** A group as the team holds it: its models and its response cache; null when the team is not assigned the group. */
  group(groupName: string): { models: string[]; cache: GroupCache | null } | null {
    const [row] = this.sql
      .exec<{ models: string; cache: string | null }>("SELECT models, cache FROM access_groups WHERE group_name = ?", groupName)
      .toArray();
    if (row === undefined) return null;
    return { models: JSON.parse(row.models) as string[], cache: row.cache === null ? null : (JSON.parse(row.cache) as GroupCache) };
  }

  /** The team's groups, by name. */
  groupNames(): string[] {
    return this.sql
      .exec<{ group_name: string }>("SELECT group_name FROM access_groups ORDER BY group_name")
      .toArray()
      .map((r) => r.group_name);
  }

  /** Replaces the whole access list and marks it loaded (call inside a transaction). */
  replaceAll(access: TeamAccess, loadedAt: string): void {
    const nowMs = Date.parse(loadedAt);
    this.keys.replaceAll(access.keys, access.secrets);
    for (const key of access.keys) this.keyBudgetChanged(key.keyId, key.revokedAtMs === null ? key.budget : null, nowMs);
    this.replaceGroups(access.groups);
    this.sql.exec("INSERT OR REPLACE INTO access_state (id, loaded_at) VALUES (1, ?)", loadedAt);
  }

  replaceGroups(groups: GroupAccess[]): void {
    this.sql.exec("DELETE FROM access_groups");
    for (const group of groups) {
      this.sql.exec(
        "INSERT INTO access_groups (group_name, models, cache) VALUES (?, ?, ?)",
        group.name,
        JSON.stringify(group.models),
        cacheColumn(group),
      );
    }
  }

  /** A group's new model list and cache setting, if the team is assigned that group (otherwise nothing changes). */
  setGroupModels(group: GroupAccess): void {
    this.sql.exec(
      "UPDATE access_groups SET models = ?, cache = ? WHERE group_name = ?",
      JSON.stringify(group.models),
      cacheColumn(group),
      group.name,
    );
  }

  private putKey(key: KeyGrant, nowMs: number): void {
    this.keys.putKey(key);
    this.keyBudgetChanged(key.keyId, key.budget, nowMs);
  }

  private noteUse(keyId: string, nowMs: number): void {
    const written = this.lastUseWritten.get(keyId);
    if (written !== undefined && nowMs - written < LAST_USED_EVERY_MS) return;
    this.lastUseWritten.set(keyId, nowMs);
    this.keys.touch(keyId, nowMs);
  }
}

function cacheColumn(group: GroupAccess): string | null {
  return group.cache ? JSON.stringify(group.cache) : null;
}
