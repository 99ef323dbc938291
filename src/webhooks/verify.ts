// The receiver's side of a webhook: the verification snippet docs/webhooks.md quotes, and the
// code the tests check deliveries with. Plain WebCrypto: it runs as it is in Node 20+, Deno, Bun
// and Workers. Copy it into your receiver and keep the raw body (verify before parsing JSON).

const TOLERANCE_SECONDS = 5 * 60;

/**
 * True when `body` was sent by the gateway with your endpoint's secret (`whsec_...`) within five
 * minutes of `nowSeconds`. `headers` are the request's `webhook-id`, `webhook-timestamp` and
 * `webhook-signature`. Deduplicate by `webhook-id`: a delivery can come more than once.
 */
export async function verifyWebhook(
  secret: string,
  headers: { "webhook-id": string; "webhook-timestamp": string; "webhook-signature": string },
  body: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<boolean> {
  const id = headers["webhook-id"];
  const timestamp = headers["webhook-timestamp"];
  if (!id || !/^\d+$/.test(timestamp ?? "")) return false;
  if (Math.abs(nowSeconds - Number(timestamp)) > TOLERANCE_SECONDS) return false;

  const key = await crypto.subtle.importKey(
    "raw",
    Uint8Array.from(atob(secret.replace(/^whsec_/, "")), (c) => c.charCodeAt(0)),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );
  const signed = new TextEncoder().encode(`${id}.${timestamp}.${body}`);
  // The header may list several space-separated signatures (e.g. during a secret rotation).
  for (const entry of (headers["webhook-signature"] ?? "").split(" ")) {
    const [version, signature] = entry.split(",");
    if (version !== "v1" || !signature) continue;
    let mac: Uint8Array;
    try {
      mac = Uint8Array.from(atob(signature), (c) => c.charCodeAt(0));
    } catch {
      continue;
    }
    // crypto.subtle.verify compares in constant time.
    if (await crypto.subtle.verify("HMAC", key, mac, signed)) return true;
  }
  return false;
}
