// Signing deliveries as Standard Webhooks (standardwebhooks.com) does, which is Stripe's scheme
// with standard header names: `webhook-signature: v1,<base64 HMAC-SHA256(secret, "id.timestamp.body")>`,
// the secret being `whsec_<base64 of 32 random bytes>`. verify.ts is the receiver's side.

const encoder = new TextEncoder();

function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

/** A new signing secret: 32 random bytes. */
export function newSigningSecret(): string {
  return `whsec_${toBase64(crypto.getRandomValues(new Uint8Array(32)))}`;
}

async function hmacKey(secret: string): Promise<CryptoKey> {
  const raw = Uint8Array.from(atob(secret.replace(/^whsec_/, "")), (ch) => ch.charCodeAt(0));
  return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

/** The headers of one delivery attempt (each attempt is signed with its own timestamp). */
export async function signedHeaders(secret: string, eventId: string, body: string, nowMs: number): Promise<Record<string, string>> {
  const timestamp = Math.floor(nowMs / 1000).toString();
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(`${eventId}.${timestamp}.${body}`));
  return {
    "content-type": "application/json",
    "user-agent": "llm-job-gateway-webhooks/1",
    "webhook-id": eventId,
    "webhook-timestamp": timestamp,
    "webhook-signature": `v1,${toBase64(new Uint8Array(mac))}`,
  };
}
