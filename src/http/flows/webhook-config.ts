import type { WebhookRow } from "../../db/webhook-records";
import { tryLedger } from "../../ledger/client";
import { log } from "../../log";
import { seal, unseal } from "../../security/sealing";
import type { WebhookChange, WebhookEndpoint, WebhookEventType, WebhookScope } from "../../webhooks/events";
import { newSigningSecret } from "../../webhooks/signing";
import { webhookUrlProblem } from "../../webhooks/url-rules";
import type { AppContext } from "../context";
import { validationError } from "../errors";
import { pushToTeams } from "./access-push";

// Setting a webhook: D1 keeps it (the secret sealed under KEY_PEPPER, for admin reads and for
// teams created later in the organization), then it is pushed to each team's object, which
// signs and delivers. As with access changes, a push that fails answers 503 and sending the same
// request again finishes it (a PUT then issues another secret: use the one from the answer that succeeded).

export interface WebhookInput {
  url: string;
  events: WebhookEventType[];
  low_balance_threshold: number | null;
}

const secretContext = (scope: WebhookScope, ownerId: string) => `webhook-secret\n${scope}\n${ownerId}`;

export function presentWebhook(row: WebhookRow) {
  return {
    scope: row.scope as WebhookScope,
    owner_id: row.ownerId,
    url: row.url,
    events: row.events as WebhookEventType[],
    low_balance_threshold: row.lowBalanceThreshold,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

/** 422 unless the URL is one the gateway may call (url-rules.ts). */
export function checkWebhookUrl(c: AppContext, url: string): void {
  const problem = webhookUrlProblem(url, c.env.WEBHOOK_ALLOW_HTTP_LOCALHOST === "true");
  if (problem) throw validationError([{ loc: ["body", "url"], msg: `field 'url' ${problem}`, type: "value_error" }]);
}

async function pushedTo(c: AppContext, teamId: string, change: WebhookChange): Promise<boolean> {
  try {
    const result = await tryLedger(c.env, teamId, "changeWebhook", change);
    return result.ok;
  } catch {
    return false;
  }
}

/** Pushes a webhook change to each team's object; 503 naming how many could not be updated. */
export function pushWebhook(c: AppContext, teamIds: string[], change: WebhookChange): Promise<void> {
  return pushToTeams(teamIds, (teamId) => pushedTo(c, teamId, change), "The webhook is saved");
}

/** Saves a webhook with a new signing secret, which is returned (to be shown once) with the row. */
export async function saveWebhook(c: AppContext, scope: WebhookScope, ownerId: string, input: WebhookInput) {
  const secret = newSigningSecret();
  const row = await c.get("repo").webhooks.put({
    scope,
    ownerId,
    url: input.url,
    events: input.events,
    lowBalanceThreshold: input.low_balance_threshold,
    secretSealed: await seal(c.env.KEY_PEPPER, secret, secretContext(scope, ownerId)),
  });
  const endpoint: WebhookEndpoint = {
    scope,
    url: input.url,
    events: input.events,
    lowBalanceThreshold: input.low_balance_threshold,
    secret,
  };
  return { row, endpoint };
}

/** An organization's webhook as a new team of it opens with (none when unset or its secret cannot be opened). */
export async function organizationWebhookFor(c: AppContext, organizationId: string): Promise<WebhookEndpoint[]> {
  const row = await c.get("repo").webhooks.get("organization", organizationId);
  if (!row) return [];
  const secret = await unseal(c.env.KEY_PEPPER, row.secretSealed, secretContext("organization", organizationId));
  if (secret === null) {
    log("error", "organization webhook secret cannot be opened (KEY_PEPPER changed?); set the webhook again", {
      organization_id: organizationId,
    });
    return [];
  }
  const { url, events, low_balance_threshold } = presentWebhook(row);
  return [{ scope: "organization", url, events, lowBalanceThreshold: low_balance_threshold, secret }];
}
