import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import { tryLedger } from "../../ledger/client";
import { log } from "../../log";
import { sha256Hex } from "../../security/keys";
import { seal, unseal } from "../../security/sealing";
import type { AppContext, AppEnv, Principal } from "../context";
import { apiError, asHttpError } from "../errors";
import { assertTeamKeyGood } from "./auth";

/** Whose keys these are: a team, the bootstrap admin key ("admin", as before named keys), or one named admin key. */
function scopeOf(principal: Principal): string {
  if (principal.kind === "team") return `team:${principal.teamId}`;
  return principal.identity.keyId === "bootstrap" ? "admin" : `admin:${principal.identity.keyId}`;
}

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** Longer than any request can run (calls time out per attempt); an older unanswered claim was abandoned. */
const ABANDONED_CLAIM_MS = 15 * 60 * 1000;
/** The step of a one-request job's opening (create-and-call, /v1 without X-Job-Id): `operationId(c, ONE_REQUEST_CREATE)`. */
export const ONE_REQUEST_CREATE = "create";
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
/** Refusals that hold only for the moment (credits, suspension, a conflict, a rate): a retry runs again. */
const MOMENT_STATUSES = new Set([402, 403, 409, 429]);
/** The headers a replay must carry, as the first answer had them. */
const KEPT_HEADERS = ["content-type", "retry-after", "x-job-id"] as const;

/**
 * The operation id of a ledger change made by this request: derived from the caller's scope and
 * Idempotency-Key (so the team's ledger applies it once however often the request is retried),
 * with `step` telling apart the changes of one request; fresh when there is no key.
 */
export function operationId(c: AppContext, step?: string): string {
  const base = c.get("operationBase");
  if (!base) return crypto.randomUUID();
  return step ? `${base}:${step}` : base;
}

/**
 * Request headers that change what a request does: which job a call goes to, the type of the job
 * it opens, and the labels it is recorded with.
 */
const FINGERPRINT_HEADERS = ["x-job-id", "x-job-type", "x-gateway-tags", "x-end-user-id"] as const;

/**
 * What a repeat with the same key must match: the body, and the headers above when present (a
 * request without them is fingerprinted by its body alone, as before they counted).
 */
function requestFingerprint(c: AppContext, body: string): string {
  const headers: Record<string, string> = {};
  for (const name of FINGERPRINT_HEADERS) {
    const value = c.req.header(name);
    if (value !== undefined) headers[name] = value;
  }
  return Object.keys(headers).length === 0 ? body : `${JSON.stringify(headers)}\n${body}`;
}

function keptHeaders(response: Response): string {
  const kept: Record<string, string> = {};
  for (const name of KEPT_HEADERS) {
    const value = response.headers.get(name);
    if (value !== null) kept[name] = value;
  }
  return JSON.stringify(kept);
}

/**
 * `Idempotency-Key` on a POST that moves money or creates something: the first answer (status,
 * body byte for byte, and its content type, Retry-After and x-job-id) is kept for 24 h and
 * replayed for the same key; the same key with a different body, or with other headers choosing
 * the job or the call's labels (X-Job-Id, X-Job-Type, X-Gateway-Tags, X-End-User-Id), is 422; a second request while the first still runs is 409, so
 * it runs once. Scoped by caller and path, so two teams can use the same key. Server errors and
 * refusals of the moment (402, 403, 409, 429) are not kept, so a retry runs again; the ledger
 * changes it makes carry operation ids derived from the key, so a retry after a server error
 * never applies a change the first attempt already made.
 */
/**
 * An unanswered claim of a team's one-request job, taken over at once when the team's object
 * knows it abandoned (ledger abandonedOneRequest: the job is closed, or its call was admitted by
 * the object's run before a restart, and has been settled from its hold): this request then runs
 * and finds the job's outcome, rather than 409 until ABANDONED_CLAIM_MS have passed. False when
 * the claim may still be live (or the object cannot tell).
 */
async function reclaimAbandoned(c: AppContext, scope: string, key: string, requestHash: string, claimedAt: string): Promise<boolean> {
  const principal = c.get("principal");
  if (principal.kind !== "team") return false;
  try {
    const base = await sha256Hex(`${scope}\n${key}`);
    const abandoned = await tryLedger(c.env, principal.teamId, "abandonedOneRequest", `${base}:${ONE_REQUEST_CREATE}`);
    return abandoned.ok && abandoned.value && (await c.get("repo").idempotency.reclaimUnanswered(scope, key, requestHash, claimedAt));
  } catch {
    return false;
  }
}

export const idempotent = createMiddleware<AppEnv>(async (c, next) => {
  const key = c.req.header("idempotency-key");
  if (key === undefined) return next();
  if (!KEY_PATTERN.test(key)) {
    throw apiError(422, [
      {
        loc: ["header", "Idempotency-Key"],
        msg: "header 'Idempotency-Key' must be 1 to 255 printable ASCII characters",
        type: "value_error",
      },
    ]);
  }
  // A kept answer is served only to a key that is still good.
  await assertTeamKeyGood(c);
  const principal = c.get("principal");
  const scope = `${scopeOf(principal)} ${c.req.method} ${c.req.path}`;
  const requestHash = await sha256Hex(requestFingerprint(c, await c.req.text()));
  const records = c.get("repo").idempotency;

  const claim = await records.claim(scope, key, requestHash, IDEMPOTENCY_TTL_MS, ABANDONED_CLAIM_MS);
  if (claim !== "claimed") {
    if (claim.requestHash !== requestHash) {
      throw apiError(422, [
        {
          loc: ["header", "Idempotency-Key"],
          msg: "this Idempotency-Key was already used with a different request (its body, X-Job-Id or X-Job-Type)",
          type: "idempotency_mismatch",
        },
      ]);
    }
    if (claim.status === null || claim.body === null) {
      if (!(await reclaimAbandoned(c, scope, key, requestHash, claim.createdAt))) {
        throw apiError(409, "A request with this Idempotency-Key is still in progress; retry shortly");
      }
    } else {
      const body = await unseal(c.env.KEY_PEPPER, claim.body, `${scope}\n${key}`);
      if (body === null)
        throw apiError(409, "The answer kept for this Idempotency-Key can no longer be read; send the request with a new key");
      const headers: Record<string, string> = claim.headers ? JSON.parse(claim.headers) : { "content-type": "application/json" };
      return c.newResponse(body, claim.status as 200, { ...headers, "idempotent-replayed": "true" });
    }
  }

  c.set("operationBase", await sha256Hex(`${scope}\n${key}`));
  try {
    // Hono turns an error thrown by the handler into c.res (through onError) before next() returns.
    await next();
  } catch (error) {
    // Only an error that carries the exact response the client gets may be kept.
    const answered = asHttpError(error);
    await settle(answered instanceof HTTPException && answered.res ? answered.res : null);
    throw error;
  }
  await settle(c.res);

  async function settle(response: Response | null): Promise<void> {
    try {
      if (response && response.status < 500 && !MOMENT_STATUSES.has(response.status)) {
        const sealed = await seal(c.env.KEY_PEPPER, await response.clone().text(), `${scope}\n${key}`);
        await records.saveAnswer(scope, key!, response.status, sealed, keptHeaders(response));
      } else {
        await records.release(scope, key!);
      }
    } catch {
      log("error", "idempotency record could not be saved", { scope });
    }
  }
});

/** Idempotency-Key on plain requests; a stream cannot be kept or replayed, so a streamed request (`"stream": true`) runs as sent. */
export const idempotentUnlessStreamed = createMiddleware<AppEnv>(async (c, next) => {
  const body = (await c.req.json().catch(() => null)) as { stream?: unknown } | null;
  if (body?.stream === true) return next();
  return idempotent(c, next);
});
