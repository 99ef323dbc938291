import { log } from "../../log";
import type { AccountRow } from "../rows";
import {
  type AccessChange,
  type Caller,
  type GroupAccess,
  invalidKey,
  refuseGroup,
  refuseKey,
  retiredAt,
  type TeamAccess,
} from "../rules/access";
import { accountNotFound } from "../rules/admission";
import type { LedgerResult } from "../types";
import { ok, type Refusal, refusal } from "../types";

// A team's access list (tables of migration 6): its keys and its model groups, with the guards
// the TeamLedger object puts in front of its methods (the rules are access.ts). SQL runs
// synchronously; `ready` loads the list from D1 once for a team whose object predates it.

const accessUnavailable = (): Refusal => refusal("ACCESS_UNAVAILABLE", "Database unavailable; please retry");

export class AccessStore {
  private readonly sql: SqlStorage;
  /** The one load from D1 in flight, which every request that needs the list waits for. */
  private loading: Promise<boolean> | null = null;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly loadFromD1: (teamId: string) => Promise<TeamAccess>,
  ) {
    this.sql = storage.sql;
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
   * group, when there is one, must be assigned to the team and have models.
   */
  async refuseCaller(acct: AccountRow | null, caller: Caller, groupName?: string): Promise<Refusal | null> {
    if (caller.kind === "admin" && groupName === undefined) return null;
    if (!acct) return caller.kind === "team" ? invalidKey() : accountNotFound();
    if (!(await this.ready(acct.team_id))) return accessUnavailable();
    const badKey = caller.kind === "team" ? refuseKey(this.keyValidUntil(caller.keyHash), Date.now()) : null;
    return badKey ?? (groupName === undefined ? null : refuseGroup(this.groupModels(groupName), groupName));
  }

  /** Applies a change the admin pushed, once the list is here (so a load from D1 in flight cannot undo it). */
  async change(acct: AccountRow | null, change: AccessChange, nowMs: number): Promise<LedgerResult<null>> {
    if (!acct) return accountNotFound();
    if (!(await this.ready(acct.team_id))) return accessUnavailable();
    this.storage.transactionSync(() => {
      if ("rotate" in change) this.rotate(change.rotate.keyHash, retiredAt(nowMs, change.rotate.graceSeconds));
      else if ("groups" in change) this.replaceGroups(change.groups);
      else this.setGroupModels(change.groupModels);
    });
    return ok(null);
  }

  /** Whether the keys and groups are here (pushed at creation, or loaded from D1 once). */
  loaded(): boolean {
    return this.sql.exec("SELECT 1 FROM access_state WHERE id = 1").toArray().length > 0;
  }

  /** A key's validity: undefined for a key the team does not have. */
  keyValidUntil(keyHash: string): number | null | undefined {
    const [row] = this.sql
      .exec<{ valid_until_ms: number | null }>("SELECT valid_until_ms FROM access_keys WHERE key_hash = ?", keyHash)
      .toArray();
    return row === undefined ? undefined : row.valid_until_ms;
  }

  /** A group's models, priority first; null when the team is not assigned the group. */
  groupModels(groupName: string): string[] | null {
    const [row] = this.sql.exec<{ models: string }>("SELECT models FROM access_groups WHERE group_name = ?", groupName).toArray();
    return row === undefined ? null : (JSON.parse(row.models) as string[]);
  }

  /** Replaces the whole access list and marks it loaded (call inside a transaction). */
  replaceAll(access: TeamAccess, loadedAt: string): void {
    this.sql.exec("DELETE FROM access_keys");
    for (const key of access.keys) {
      this.sql.exec("INSERT INTO access_keys (key_hash, valid_until_ms) VALUES (?, ?)", key.keyHash, key.validUntilMs);
    }
    this.replaceGroups(access.groups);
    this.sql.exec("INSERT OR REPLACE INTO access_state (id, loaded_at) VALUES (1, ?)", loadedAt);
  }

  /** Every key still good after `retireAtMs` stops then; the new key is good until the next rotation. */
  rotate(newKeyHash: string, retireAtMs: number): void {
    this.sql.exec(
      "UPDATE access_keys SET valid_until_ms = ?1 WHERE key_hash != ?2 AND (valid_until_ms IS NULL OR valid_until_ms > ?1)",
      retireAtMs,
      newKeyHash,
    );
    this.sql.exec("INSERT OR REPLACE INTO access_keys (key_hash, valid_until_ms) VALUES (?, NULL)", newKeyHash);
  }

  replaceGroups(groups: GroupAccess[]): void {
    this.sql.exec("DELETE FROM access_groups");
    for (const group of groups) {
      this.sql.exec("INSERT INTO access_groups (group_name, models) VALUES (?, ?)", group.name, JSON.stringify(group.models));
    }
  }

  /** A group's new model list, if the team is assigned that group (otherwise nothing changes). */
  setGroupModels(group: GroupAccess): void {
    this.sql.exec("UPDATE access_groups SET models = ? WHERE group_name = ?", JSON.stringify(group.models), group.name);
  }
}
