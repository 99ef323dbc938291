// The keys of the console's cookies, derived (HKDF-SHA-256) from ADMIN_API_KEY with one label per
// use, so changing the admin key ends every session and voids every flash message in flight.

const encoder = new TextEncoder();
const derived = new Map<string, Promise<CryptoKey>>();

export function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

export function fromBase64url(text: string): Uint8Array | null {
  try {
    const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
    return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
  } catch {
    return null;
  }
}

type KeyUse = { label: string; algorithm: Parameters<SubtleCrypto["deriveKey"]>[2]; usages: string[] };

export const SESSION_SIGNING: KeyUse = {
  label: "llm-job-gateway admin console session v1",
  algorithm: { name: "HMAC", hash: "SHA-256" },
  usages: ["sign", "verify"],
};

export const FLASH_SEALING: KeyUse = {
  label: "llm-job-gateway admin console flash v1",
  algorithm: { name: "AES-GCM", length: 256 },
  usages: ["encrypt", "decrypt"],
};

export function cookieKey(secret: string, use: KeyUse): Promise<CryptoKey> {
  const id = `${use.label}\n${secret}`;
  let key = derived.get(id);
  if (!key) {
    key = crypto.subtle
      .importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveKey"])
      .then((base) =>
        crypto.subtle.deriveKey(
          { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: encoder.encode(use.label) },
          base,
          use.algorithm,
          false,
          use.usages,
        ),
      );
    derived.set(id, key);
  }
  return key;
}
