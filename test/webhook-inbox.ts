import { env, runDurableObjectAlarm } from "cloudflare:test";
import { inject } from "vitest";
import { type TestTeam, uid } from "./helpers";

// The test webhook receiver's inbox, as the webhook tests read it: a fresh path per test, what
// arrived there, and the team's alarm run until the events came (the alarm delivers them).

const receiver = inject("webhookReceiverUrl");

export interface Received {
  headers: Record<string, string>;
  body: string;
}

/** A fresh receiver path and its URL, named for the test file. */
export function hookUrl(prefix: string) {
  const path = `/hook/${uid(prefix)}`;
  return { path, url: `${receiver}${path}` };
}

export async function received(path: string): Promise<Received[]> {
  return (await (await fetch(`${receiver}/_received?path=${encodeURIComponent(path)}`)).json()) as Received[];
}

/** Runs the team's alarm (which delivers webhooks) until `count` events arrived; at most ~10 s. */
export async function eventsAt(team: TestTeam, path: string, count: number): Promise<Array<{ event: any; delivery: Received }>> {
  const stub = env.TEAM_LEDGER.getByName(team.teamId);
  for (let i = 0; i < 200; i++) {
    const got = await received(path);
    if (got.length >= count) return got.map((delivery) => ({ event: JSON.parse(delivery.body), delivery }));
    await runDurableObjectAlarm(stub);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${count} webhook deliveries`);
}

/** The signature headers of a delivery, as verifyWebhook takes them. */
export const headersOf = (r: Received) => ({
  "webhook-id": r.headers["webhook-id"],
  "webhook-timestamp": r.headers["webhook-timestamp"],
  "webhook-signature": r.headers["webhook-signature"],
});
