// Virtual keys and the admin key: generation, keyed hashing, constant-time comparison; plain digests.

const KEY_BYTES = 32; // 256 bits of randomness
/** Characters of a key kept for display (`sk-` plus 8), too few to guess the rest from. */
const DISPLAY_PREFIX_LENGTH = 11;

const encoder = new TextEncoder();
const hmacKeys = new Map<string, Promise<CryptoKey>>();

function toHex(bytes: ArrayBuffer | Uint8Array): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** SHA-256 of a text, as hex: what a repeated request or operation is recognised by. */
export async function sha256Hex(text: string): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/** A new team key: `sk-` followed by 64 hex characters. Shown once, then only its hash is kept. */
export function generateVirtualKey(): { key: string; prefix: string } {
  const key = `sk-${toHex(crypto.getRandomValues(new Uint8Array(KEY_BYTES)))}`;
  return { key, prefix: key.slice(0, DISPLAY_PREFIX_LENGTH) };
}

function hmacKey(pepper: string): Promise<CryptoKey> {
  let key = hmacKeys.get(pepper);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(pepper), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    hmacKeys.set(pepper, key);
  }
  return key;
}

/** HMAC-SHA-256(KEY_PEPPER, key) as hex: what D1 stores and looks keys up by. */
export async function hashVirtualKey(pepper: string, key: string): Promise<string> {
  return toHex(await crypto.subtle.sign("HMAC", await hmacKey(pepper), encoder.encode(key)));
}

/** Compares two secrets in constant time, whatever their lengths (by comparing their digests). */
export async function secretsEqual(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(given)),
    crypto.subtle.digest("SHA-256", encoder.encode(expected)),
  ]);
  return crypto.subtle.timingSafeEqual(a, b);
}

/** Every named admin key starts so, which tells it from a team key (`sk-` then hex) before any lookup. */
export const ADMIN_KEY_PREFIX = "sk-admin-";

/** A new named admin key: `sk-admin-` followed by 64 hex characters, hashed like a team key. */
export function generateAdminKey(): { key: string; prefix: string } {
  const key = `${ADMIN_KEY_PREFIX}${toHex(crypto.getRandomValues(new Uint8Array(KEY_BYTES)))}`;
  return { key, prefix: key.slice(0, ADMIN_KEY_PREFIX.length + 8) };
}
