import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import { log } from "../log";
import { assertTeamKeyGood } from "./auth";
import type { AppEnv } from "./context";
import { apiError, asHttpError } from "./errors";

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** Longer than any request can run (calls time out per attempt); an older unanswered claim was abandoned. */
const ABANDONED_CLAIM_MS = 15 * 60 * 1000;
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

const encoder = new TextEncoder();

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

// A kept answer can carry a one-time secret (the virtual key of a new team or a rotation), and
// keys live in D1 only as keyed hashes. So answers are kept sealed: AES-GCM under a key derived
// from KEY_PEPPER, bound to their scope and Idempotency-Key. (Without a pepper no key can be
// issued, so there is nothing secret to seal.)
const SEALED = "sealed:v1:";
const sealingKeys = new Map<string, Promise<CryptoKey>>();

function sealingKey(pepper: string): Promise<CryptoKey> {
  let key = sealingKeys.get(pepper);
  if (!key) {
    key = crypto.subtle
      .importKey("raw", encoder.encode(pepper), "HKDF", false, ["deriveKey"])
      .then((base) =>
        crypto.subtle.deriveKey(
          { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: encoder.encode("idempotency-records/v1") },
          base,
          { name: "AES-GCM", length: 256 },
          false,
          ["encrypt", "decrypt"],
        ),
      );
    sealingKeys.set(pepper, key);
  }
  return key;
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

async function seal(pepper: string | undefined, text: string, context: string): Promise<string> {
  if (!pepper) return text;
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: encoder.encode(context) },
    await sealingKey(pepper),
    encoder.encode(text),
  );
  const out = new Uint8Array(iv.length + sealed.byteLength);
  out.set(iv);
  out.set(new Uint8Array(sealed), iv.length);
  return SEALED + toBase64(out);
}

/** The kept answer in clear, or null if it cannot be opened (the pepper changed since). */
async function unseal(pepper: string | undefined, stored: string, context: string): Promise<string | null> {
  if (!stored.startsWith(SEALED)) return stored;
  if (!pepper) return null;
  try {
    const bytes = Uint8Array.from(atob(stored.slice(SEALED.length)), (ch) => ch.charCodeAt(0));
    const opened = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: bytes.subarray(0, 12), additionalData: encoder.encode(context) },
      await sealingKey(pepper),
      bytes.subarray(12),
    );
    return new TextDecoder().decode(opened);
  } catch {
    return null;
  }
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
  const scope = `${principal.kind === "team" ? `team:${principal.teamId}` : "admin"} ${c.req.method} ${c.req.path}`;
  const requestHash = await sha256Hex(await c.req.text());
  const records = c.get("repo").idempotency;

  const claim = await records.claim(scope, key, requestHash, IDEMPOTENCY_TTL_MS, ABANDONED_CLAIM_MS);
  if (claim !== "claimed") {
    if (claim.requestHash !== requestHash) {
      throw apiError(422, [
        {
          loc: ["header", "Idempotency-Key"],
          msg: "this Idempotency-Key was already used with a different request body",
          type: "idempotency_mismatch",
        },
      ]);
    }
    if (claim.status === null || claim.body === null) {
      throw apiError(409, "A request with this Idempotency-Key is still in progress; retry shortly");
    }
    const body = await unseal(c.env.KEY_PEPPER, claim.body, `${scope}\n${key}`);
    if (body === null)
      throw apiError(409, "The answer kept for this Idempotency-Key can no longer be read; send the request with a new key");
    return c.newResponse(body, claim.status as 200, { "content-type": "application/json", "idempotent-replayed": "true" });
  }

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
      if (response && response.status < 500) {
        const sealed = await seal(c.env.KEY_PEPPER, await response.clone().text(), `${scope}\n${key}`);
        await records.saveAnswer(scope, key!, response.status, sealed);
      } else {
        await records.release(scope, key!);
      }
    } catch {
      log("error", "idempotency record could not be saved", { scope });
    }
  }
});
