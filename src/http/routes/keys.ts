import { createRoute, OpenAPIHono, type z } from "@hono/zod-openapi";
import type { KeyRecords, NewSecret, TeamKeyRow } from "../../db/key-records";
import { DEFAULT_KEY_NAME } from "../../db/team-records";
import { Conflict } from "../../errors";
import { onLedger } from "../../ledger/client";
import { keyGrantOf } from "../../ledger/rules/access";
import { errorResponses, jsonBody, jsonResponse, security } from "../../schemas/common";
import { CreatedKey, CreateKey, Key, KeyList, KeyRevoked, RotatedTeamKey, UpdateKey } from "../../schemas/keys";
import { KeyParam, TeamParam } from "../../schemas/params";
import { RotatedKey, RotateKey } from "../../schemas/teams";
import { generateVirtualKey, hashVirtualKey } from "../../security/keys";
import type { AppContext, AppEnv } from "../context";
import { apiError } from "../errors";
import { pushAccess } from "../flows/access-push";
import { loadTeam, pepper } from "../flows/team-views";
import { adminWrite } from "../middleware/audit";
import { assertTeamAccess, callerOf, requireTeamOrAdmin } from "../middleware/auth";
import { idempotent } from "../middleware/idempotency";
import { validationHook } from "../validation";

// A team's named keys (docs/keys.md): each with its own secret, budget and model groups. D1 keeps
// them for admin writes and key lookups; the team's object, told at once (access-push.ts),
// decides every request and keeps each key's spend, so the next request sees a change.

export const keyRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

const KEY_DESCRIPTION =
  "The team's object is told at once: the next request through the key sees the change, with no D1 read on the way. " +
  "If it cannot be told the answer is 503 and the same request can be sent again.";

/** A new secret: the key (shown once), its keyed hash and its prefix. */
async function newSecret(c: AppContext): Promise<{ key: string; secret: NewSecret }> {
  const { key, prefix } = generateVirtualKey();
  return { key, secret: { secretId: crypto.randomUUID(), keyHash: await hashVirtualKey(pepper(c), key), keyPrefix: prefix } };
}

/** Groups a key is narrowed to must be the team's (400 naming the first that is not). */
async function assertTeamGroups(c: AppContext, teamId: string, groups: string[] | null | undefined): Promise<void> {
  if (!groups) return;
  const team = await loadTeam(c, teamId);
  const missing = groups.find((g) => !team.modelGroups.includes(g));
  if (missing !== undefined)
    throw apiError(400, `Model group '${missing}' is not assigned to team '${teamId}'; a key can only narrow the team's groups`);
}

/** A key as the team's object shows it now (its budget's spend with it). */
async function keyView(c: AppContext, teamId: string, keyId: string) {
  const keys = await onLedger(c.env, teamId, "listKeys", { kind: "admin" });
  const key = keys.find((k) => k.key_id === keyId);
  if (!key) throw apiError(404, `Key '${keyId}' not found`);
  return key;
}

/** A live key of the team (404 otherwise). */
async function liveKey(keys: KeyRecords, teamId: string, keyId: string): Promise<TeamKeyRow> {
  const row = await keys.get(teamId, keyId);
  if (!row || row.revokedAt !== null) throw apiError(404, `Key '${keyId}' not found`);
  return row;
}

function nameTaken(name: string): never {
  throw apiError(400, `A key named '${name}' already exists for this team`);
}

keyRoutes.openapi(
  createRoute({
    method: "post",
    path: "/{team_id}/keys",
    tags: ["Keys"],
    summary: "Create a key for a team, with an optional budget, model groups and expiry",
    description: `The key is shown here once, never again. ${KEY_DESCRIPTION}`,
    security: security.admin,
    middleware: [adminWrite("key.create"), idempotent] as const,
    request: { params: TeamParam, body: jsonBody(CreateKey) },
    responses: {
      200: jsonResponse(CreatedKey, "The new key; `virtual_key` is shown only here"),
      ...errorResponses(400, 401, 403, 404, 413, 422, 503),
    },
  }),
  async (c) => {
    const { team_id } = c.req.valid("param");
    const body = c.req.valid("json");
    await assertTeamGroups(c, team_id, body.model_groups);
    const keys = c.get("repo").keys;
    const { key, secret } = await newSecret(c);
    const keyId = crypto.randomUUID();
    const fields = {
      keyId,
      name: body.name,
      modelGroups: body.model_groups ?? null,
      budget: body.budget ?? null,
      expiresAt: body.expires_at ?? null,
    };
    const created = await keys
      .create(team_id, fields, secret)
      .catch((error) => (error instanceof Conflict ? nameTaken(body.name) : Promise.reject(error)));
    if (!created) throw apiError(404, `Team '${team_id}' not found`);
    c.set("auditResourceId", keyId);
    try {
      await pushAccess(c.env, team_id, { key: keyGrantOf(created), secret: { keyHash: secret.keyHash } });
    } catch (error) {
      // The team's object does not know the key: it must not half exist.
      await keys.remove(team_id, keyId);
      throw error;
    }
    const view = await keyView(c, team_id, keyId);
    return c.json({ ...view, virtual_key: key, message: "Key created. Store it now: it is not shown again." }, 200);
  },
);

keyRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{team_id}/keys",
    tags: ["Keys"],
    summary: "A team's keys, with their budgets and what each spent in its window",
    description: "Never a secret: only each key's prefix. Revoked keys are not listed.",
    security: security.teamOrAdmin,
    middleware: [requireTeamOrAdmin("teams.read")] as const,
    request: { params: TeamParam },
    responses: {
      200: jsonResponse(KeyList, "The keys"),
      ...errorResponses(401, 403, 404, 422, 503),
    },
  }),
  async (c) => {
    const { team_id } = c.req.valid("param");
    assertTeamAccess(c.get("principal"), team_id, "the keys");
    return c.json({ team_id, keys: await onLedger(c.env, team_id, "listKeys", callerOf(c)) }, 200);
  },
);

keyRoutes.openapi(
  createRoute({
    method: "patch",
    path: "/{team_id}/keys/{key_id}",
    tags: ["Keys"],
    summary: "Change a key's name, budget, model groups or expiry",
    description: `A changed budget keeps what the key spent in its current window. ${KEY_DESCRIPTION}`,
    security: security.admin,
    middleware: [adminWrite("key.update")] as const,
    request: { params: KeyParam, body: jsonBody(UpdateKey) },
    responses: { 200: jsonResponse(Key, "The key"), ...errorResponses(400, 401, 403, 404, 413, 422, 503) },
  }),
  async (c) => {
    const { team_id, key_id } = c.req.valid("param");
    const body = c.req.valid("json");
    await assertTeamGroups(c, team_id, body.model_groups);
    const change = { name: body.name, modelGroups: body.model_groups, budget: body.budget, expiresAt: body.expires_at };
    const updated = await c
      .get("repo")
      .keys.update(team_id, key_id, change)
      .catch((error) => (error instanceof Conflict ? nameTaken(body.name ?? "") : Promise.reject(error)));
    if (!updated) throw apiError(404, `Key '${key_id}' not found`);
    await pushAccess(c.env, team_id, { key: keyGrantOf(updated) });
    return c.json(await keyView(c, team_id, key_id), 200);
  },
);

keyRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/{team_id}/keys/{key_id}",
    tags: ["Keys"],
    summary: "Revoke a key: it stops at once",
    description: `The next request with the key is 401, through HTTP, /v1 and RPC alike. ${KEY_DESCRIPTION}`,
    security: security.admin,
    middleware: [adminWrite("key.revoke")] as const,
    request: { params: KeyParam },
    responses: {
      200: jsonResponse(KeyRevoked, "Revoked"),
      ...errorResponses(401, 403, 404, 422, 503),
    },
  }),
  async (c) => {
    const { team_id, key_id } = c.req.valid("param");
    const revoked = await c.get("repo").keys.revoke(team_id, key_id);
    if (!revoked) throw apiError(404, `Key '${key_id}' not found`);
    await pushAccess(c.env, team_id, { revokeKey: { keyId: key_id } });
    return c.json({ team_id, key_id, message: `Key '${revoked.name}' revoked` }, 200);
  },
);

keyRoutes.openapi(
  createRoute({
    method: "post",
    path: "/{team_id}/keys/{key_id}/rotate",
    tags: ["Keys"],
    summary: "Issue a key's new secret; the old one stops at once or after grace_seconds",
    description: `The key keeps its id, name, budget and spend. ${KEY_DESCRIPTION}`,
    security: security.admin,
    middleware: [adminWrite("key.rotate"), idempotent] as const,
    request: { params: KeyParam, body: { content: { "application/json": { schema: RotateKey } }, required: false } },
    responses: { 200: jsonResponse(RotatedTeamKey, "The new secret, shown once"), ...errorResponses(401, 403, 404, 413, 422, 503) },
  }),
  async (c) => {
    const { team_id, key_id } = c.req.valid("param");
    const { grace_seconds } = RotateKey.parse((c.req.valid("json") as z.infer<typeof RotateKey> | undefined) ?? {});
    const rotated = await rotateSecret(c, team_id, await liveKey(c.get("repo").keys, team_id, key_id), grace_seconds);
    return c.json({ key_id, ...rotated }, 200);
  },
);

/** Rotates one key's secret in D1, then in the team's object; the new secret and when the old ones stop. */
async function rotateSecret(c: AppContext, teamId: string, row: TeamKeyRow, graceSeconds: number) {
  const { key, secret } = await newSecret(c);
  const rotated = await c.get("repo").keys.rotate(teamId, row.keyId, secret, graceSeconds);
  if (!rotated) throw apiError(404, `Key '${row.keyId}' not found`);
  // The team's object decides: the old secrets stop there, at once or after the grace period.
  await pushAccess(c.env, teamId, { secret: { keyId: row.keyId, keyHash: secret.keyHash, prefix: secret.keyPrefix, graceSeconds } });
  const until = graceSeconds > 0 ? new Date(Date.now() + graceSeconds * 1000).toISOString() : null;
  return {
    virtual_key: key,
    key_prefix: secret.keyPrefix,
    previous_secrets_valid_until: until,
    message: "Key rotated. Store the new key now: it is not shown again.",
  };
}

keyRoutes.openapi(
  createRoute({
    method: "post",
    path: "/{team_id}/keys/rotate",
    tags: ["Teams"],
    summary: "Issue a new secret for the team's `default` key; the old one stops at once or after grace_seconds",
    description:
      "The team's first key is named `default`; other keys are rotated with POST /api/teams/{team_id}/keys/{key_id}/rotate. " +
      `${KEY_DESCRIPTION} No key is issued when the object cannot be told.`,
    security: security.admin,
    middleware: [adminWrite("key.rotate"), idempotent] as const,
    request: { params: TeamParam, body: { content: { "application/json": { schema: RotateKey } }, required: false } },
    responses: { 200: jsonResponse(RotatedKey, "The new key, shown once"), ...errorResponses(401, 403, 404, 413, 422, 503) },
  }),
  async (c) => {
    const { team_id } = c.req.valid("param");
    const { grace_seconds } = RotateKey.parse((c.req.valid("json") as z.infer<typeof RotateKey> | undefined) ?? {});
    await loadTeam(c, team_id);
    const row = await c.get("repo").keys.named(team_id, DEFAULT_KEY_NAME);
    if (!row) throw apiError(404, `Team '${team_id}' has no key named '${DEFAULT_KEY_NAME}'; rotate its keys by id`);
    const rotated = await rotateSecret(c, team_id, row, grace_seconds);
    return c.json(
      {
        team_id,
        virtual_key: rotated.virtual_key,
        key_prefix: rotated.key_prefix,
        previous_keys_valid_until: rotated.previous_secrets_valid_until,
        message: rotated.message,
      },
      200,
    );
  },
);
