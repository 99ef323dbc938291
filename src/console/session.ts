import type { Repository } from "../db/repository";
import { resolveAdminKeyId } from "../http/middleware/admin-identity";
import type { AdminIdentity } from "./admin-identity";
import { base64url, cookieKey, fromBase64url, SESSION_SIGNING } from "./cookie-keys";

// The console's session: a cookie holding the admin key's id, an expiry and the session's CSRF
// token, HMAC-signed by the Worker with a key derived from ADMIN_API_KEY (cookie-keys.ts). The admin key itself is never in the cookie nor in any page.

export const SESSION_COOKIE = "gateway_console";
export const SESSION_SECONDS = 8 * 60 * 60;

export interface Session {
  keyId: string;
  /** Unix seconds. */
  expires: number;
  csrf: string;
}

const encoder = new TextEncoder();

/** A new session for an admin who just signed in, and its cookie value. */
export async function newSession(env: Env, admin: AdminIdentity): Promise<{ session: Session; cookie: string }> {
  const session: Session = {
    keyId: admin.keyId,
    expires: Math.floor(Date.now() / 1000) + SESSION_SECONDS,
    csrf: base64url(crypto.getRandomValues(new Uint8Array(24))),
  };
  const payload = base64url(encoder.encode(JSON.stringify(session)));
  const signature = new Uint8Array(
    await crypto.subtle.sign("HMAC", await cookieKey(env.ADMIN_API_KEY, SESSION_SIGNING), encoder.encode(payload)),
  );
  return { session, cookie: `${payload}.${base64url(signature)}` };
}

async function readSession(env: Env, cookie: string): Promise<Session | null> {
  const [payload, signature, extra] = cookie.split(".");
  if (!payload || !signature || extra !== undefined) return null;
  const signatureBytes = fromBase64url(signature);
  if (!signatureBytes) return null;
  const valid = await crypto.subtle.verify(
    "HMAC",
    await cookieKey(env.ADMIN_API_KEY, SESSION_SIGNING),
    signatureBytes,
    encoder.encode(payload),
  );
  if (!valid) return null;
  const bytes = fromBase64url(payload);
  if (!bytes) return null;
  const session = JSON.parse(new TextDecoder().decode(bytes)) as Session;
  return session.expires > Date.now() / 1000 ? session : null;
}

/** The signed-in admin and the session, from the cookie: null when it is missing, forged, expired or its key is no longer good. */
export async function adminFromSession(
  env: Env,
  repo: Repository,
  cookie: string | undefined,
): Promise<{ admin: AdminIdentity; session: Session } | null> {
  if (!cookie || !env.ADMIN_API_KEY) return null;
  const session = await readSession(env, cookie);
  if (!session) return null;
  const admin = await resolveAdminKeyId(env, repo, session.keyId);
  return admin ? { admin, session } : null;
}
