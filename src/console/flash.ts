import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { base64url, cookieKey, FLASH_SEALING, fromBase64url } from "./cookie-keys";
import type { Session } from "./session";

// What a form's answer tells the page it redirects to (POST, then redirect, then GET): the
// outcome, a new secret to show once, or the refusal with what was typed in the form. It travels
// in a short-lived cookie sealed with AES-GCM (a key derived from ADMIN_API_KEY) and bound to the
// session's CSRF token, so it cannot be read, altered or replayed into another session. The page
// it is for shows it once and clears it.

export const FLASH_COOKIE = "gateway_console_flash";
const FLASH_SECONDS = 60;
/** What typed values may weigh in the cookie; beyond it the form comes back empty (browsers keep 4 KB a cookie). */
const MAX_VALUES_CHARS = 1500;
const MAX_MESSAGE_CHARS = 500;

export interface Flash {
  /** The console page the message is for (where the answer redirects). */
  to: string;
  notice?: string;
  error?: string;
  /** A one-time secret (a new key or signing secret) and what it is. */
  secret?: { label: string; value: string };
  /** The refused form (its action) and the fields typed into it, to fill it in again. */
  form?: string;
  values?: Record<string, string>;
}

const encoder = new TextEncoder();
const COOKIE_OPTIONS = { httpOnly: true, secure: true, sameSite: "Strict", path: "/admin" } as const;

function trimmed(flash: Flash): Flash {
  const out: Flash = { ...flash };
  if (out.error && out.error.length > MAX_MESSAGE_CHARS) out.error = `${out.error.slice(0, MAX_MESSAGE_CHARS)}…`;
  if (out.values && JSON.stringify(out.values).length > MAX_VALUES_CHARS) delete out.values;
  return out;
}

/** Sets the flash for the page the answer redirects to. */
export async function setFlash(c: Context, session: Session, flash: Flash): Promise<void> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: encoder.encode(session.csrf) },
    await cookieKey((c.env as Env).ADMIN_API_KEY, FLASH_SEALING),
    encoder.encode(JSON.stringify(trimmed(flash))),
  );
  setCookie(c, FLASH_COOKIE, `${base64url(iv)}.${base64url(new Uint8Array(sealed))}`, { ...COOKIE_OPTIONS, maxAge: FLASH_SECONDS });
}

/** The flash for this page, cleared as it is read; null when there is none (or it is for another page, or not this session's). */
export async function takeFlash(c: Context, session: Session): Promise<Flash | null> {
  const cookie = getCookie(c, FLASH_COOKIE);
  if (!cookie) return null;
  const [iv, sealed] = cookie.split(".").map(fromBase64url);
  let flash: Flash | null = null;
  if (iv && sealed) {
    try {
      const opened = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv, additionalData: encoder.encode(session.csrf) },
        await cookieKey((c.env as Env).ADMIN_API_KEY, FLASH_SEALING),
        sealed,
      );
      flash = JSON.parse(new TextDecoder().decode(opened)) as Flash;
    } catch {
      flash = null;
    }
  }
  const here = new URL(c.req.url);
  if (flash && new URL(flash.to, here).pathname !== here.pathname) return null;
  deleteCookie(c, FLASH_COOKIE, COOKIE_OPTIONS);
  return flash;
}
