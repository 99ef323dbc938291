import { createMiddleware } from "hono/factory";
import { log } from "../log";
import type { AppEnv } from "./context";
import { apiError } from "./errors";

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * `Idempotency-Key` on a POST that moves money or creates something: the first answer (status
 * and body, byte for byte) is kept for 24 h and replayed for the same key; the same key with a
 * different body is 422; a second request while the first still runs is 409, so it runs once.
 * Scoped by caller and path, so two teams can use the same key. Server errors are not kept,
 * so a retry after a 5xx runs again.
 */
export const idempotent = createMiddleware<AppEnv>(async (c, next) => {
  const key = c.req.header("idempotency-key");
  if (key === undefined) return next();
  if (!KEY_PATTERN.test(key)) {
    throw apiError(422, [{ loc: ["header", "Idempotency-Key"], msg: "header 'Idempotency-Key' must be 1 to 255 printable ASCII characters", type: "value_error" }]);
  }
  const principal = c.get("principal");
  const scope = `${principal.kind === "team" ? `team:${principal.teamId}` : "admin"} ${c.req.method} ${c.req.path}`;
  const requestHash = await sha256Hex(await c.req.text());
  const repo = c.get("repo");

  const claim = await repo.claimIdempotencyKey(scope, key, requestHash, IDEMPOTENCY_TTL_MS);
  if (claim !== "claimed") {
    if (claim.requestHash !== requestHash) {
      throw apiError(422, [{ loc: ["header", "Idempotency-Key"], msg: "this Idempotency-Key was already used with a different request body", type: "idempotency_mismatch" }]);
    }
    if (claim.status === null || claim.body === null) {
      throw apiError(409, "A request with this Idempotency-Key is still in progress; retry shortly");
    }
    return c.newResponse(claim.body, claim.status as 200, { "content-type": "application/json", "idempotent-replayed": "true" });
  }

  try {
    await next();
  } catch (error) {
    // Errors thrown past this point become responses in onError; keep client errors, drop server errors.
    await settle(error instanceof Error && "getResponse" in error ? (error as { getResponse(): Response }).getResponse() : null);
    throw error;
  }
  await settle(c.res);

  async function settle(response: Response | null): Promise<void> {
    try {
      if (response && response.status < 500) {
        await repo.saveIdempotentResponse(scope, key!, response.status, await response.clone().text());
      } else {
        await repo.releaseIdempotencyKey(scope, key!);
      }
    } catch {
      log("error", "idempotency record could not be saved", { scope });
    }
  }
});
