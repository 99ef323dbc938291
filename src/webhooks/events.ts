// What a webhook can be told (docs/webhooks.md), and what the team's object keeps per endpoint.

export const WEBHOOK_EVENTS = [
  "balance.low",
  "balance.exhausted",
  "job.completed",
  "job.failed",
  "job.expired",
  "team.suspended",
  "call.unrecorded",
  "grant.expiring",
  "grant.expired",
  "allowance.renewed",
  "budget.threshold",
  "key.budget_exhausted",
  "credits.recharge_requested",
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

/** A team's own webhook, or its organization's (which every team of the organization has). */
export type WebhookScope = "team" | "organization";

/** A webhook as pushed to a team's object, which signs and delivers its events. */
export interface WebhookEndpoint {
  scope: WebhookScope;
  url: string;
  events: WebhookEventType[];
  lowBalanceThreshold: number | null;
  /** `whsec_<base64>`: never shown again after the PUT that made it, never logged. */
  secret: string;
}

/** A change pushed to a team's object: an endpoint set (or replaced), or removed. */
export type WebhookChange = { set: WebhookEndpoint } | { remove: WebhookScope };
