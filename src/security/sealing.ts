// Texts kept for later that may carry a one-time secret (the virtual key of a new team or a
// rotation: keys otherwise live only as keyed hashes). They are kept sealed: AES-GCM under a key
// derived from KEY_PEPPER, bound to a context (what they answer), so a sealed text cannot be
// opened for another request. Without a pepper no key can be issued, so there is nothing secret
// to seal and the text is kept as it is.

const SEALED = "sealed:v1:";
const encoder = new TextEncoder();
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

export async function seal(pepper: string | undefined, text: string, context: string): Promise<string> {
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

/** The text in clear, or null if it cannot be opened (the pepper changed since, or another context). */
export async function unseal(pepper: string | undefined, stored: string, context: string): Promise<string | null> {
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
