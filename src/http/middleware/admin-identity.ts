import type { AdminKeyRow } from "../../db/admin-records";
import type { Repository } from "../../db/repository";
import { log } from "../../log";
import { type AdminIdentity, BOOTSTRAP_IDENTITY, ROLES, type Role } from "../../security/admin-roles";
import { ADMIN_KEY_PREFIX, hashVirtualKey, secretsEqual } from "../../security/keys";
import { apiError } from "../errors";

export type { AdminIdentity };

/** How stale a key's `last_used_at` may get: it is written at most once a minute per key. */
const LAST_USED_EVERY_MS = 60_000;

/**
 * The admin a key belongs to, or null when it is no admin key. ADMIN_API_KEY is the bootstrap
 * owner; a named key (`sk-admin-…`) is looked up by its peppered hash in D1 on every request —
 * nothing is cached, so a revoked key is refused on the very next request. `background` carries
 * the (throttled) `last_used_at` update off the request's path.
 */
export async function resolveAdminKey(
  env: Pick<Env, "ADMIN_API_KEY" | "KEY_PEPPER">,
  repo: Repository,
  key: string,
  background?: (work: Promise<unknown>) => void,
): Promise<AdminIdentity | null> {
  if (env.ADMIN_API_KEY && (await secretsEqual(key, env.ADMIN_API_KEY))) return BOOTSTRAP_IDENTITY;
  if (!key.startsWith(ADMIN_KEY_PREFIX)) return null;
  if (!env.KEY_PEPPER) throw apiError(503, "Named admin keys are not configured on this deployment");
  const row = await repo.adminKeys.liveByHash(await hashVirtualKey(env.KEY_PEPPER, key));
  if (!row) return null;
  const now = Date.now();
  if (background && (row.lastUsedAt === null || now - Date.parse(row.lastUsedAt) >= LAST_USED_EVERY_MS)) {
    background(
      repo.adminKeys.touch(row.keyId, new Date(now).toISOString()).catch((error) => {
        log("warn", "admin key last_used_at not updated", { key_id: row.keyId, error: String(error) });
      }),
    );
  }
  return identityOf(row);
}

/** The admin a key id names while that key is live (the console's sessions keep only the id): a revoked key ends its sessions. */
export async function resolveAdminKeyId(env: Pick<Env, "ADMIN_API_KEY">, repo: Repository, keyId: string): Promise<AdminIdentity | null> {
  if (keyId === BOOTSTRAP_IDENTITY.keyId) return env.ADMIN_API_KEY ? BOOTSTRAP_IDENTITY : null;
  const row = await repo.adminKeys.get(keyId);
  return row && row.revokedAt === null ? identityOf(row) : null;
}

function identityOf(row: AdminKeyRow): AdminIdentity {
  return {
    keyId: row.keyId,
    name: row.name,
    role: ROLES.includes(row.role as Role) ? (row.role as Role) : "viewer",
    organizationId: row.organizationId,
  };
}
