import { z } from "@hono/zod-openapi";
import { WEBHOOK_EVENTS } from "../webhooks/events";
import { PageInfo, Timestamp } from "./common";

// What the webhook routes answer.

export const Webhook = z
  .object({
    scope: z.enum(["team", "organization"]),
    owner_id: z.string(),
    url: z.string(),
    events: z.array(z.enum(WEBHOOK_EVENTS)),
    low_balance_threshold: z.number().int().nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Webhook");

export const SavedWebhook = Webhook.extend({
  secret: z.string().openapi({ description: "The signing secret (`whsec_...`): shown here only, never again" }),
  message: z.string(),
}).openapi("SavedWebhook");

export const WebhookDelivery = z
  .object({
    event_id: z.string(),
    type: z.enum(WEBHOOK_EVENTS),
    scope: z.enum(["team", "organization"]),
    state: z.enum(["pending", "delivered", "failed", "dropped"]),
    attempts: z.number().int(),
    created_at: Timestamp,
    last_attempt_at: Timestamp.nullable(),
    last_status_code: z.number().int().nullable(),
    last_error: z.string().nullable(),
    next_retry_at: Timestamp.nullable(),
    delivered_at: Timestamp.nullable(),
    recent_attempts: z.array(
      z.object({ at: Timestamp, status_code: z.number().int().nullable(), error: z.string().nullable(), duration_ms: z.number().int() }),
    ),
  })
  .openapi("WebhookDelivery");

export const DeliveryPage = z.object({ team_id: z.string(), items: z.array(WebhookDelivery), ...PageInfo });

export const Removed = z.object({ message: z.string() });

export const SetWebhook = z
  .object({
    url: z.string().min(1, { error: "must not be empty" }).openapi({ example: "https://example.com/webhooks/gateway" }),
    events: z
      .array(z.enum(WEBHOOK_EVENTS, { error: `must be one of ${WEBHOOK_EVENTS.join(", ")}` }))
      .min(1, { error: "must list at least one event" })
      .refine((events) => new Set(events).size === events.length, { error: "must not list an event twice" })
      .default([...WEBHOOK_EVENTS]),
    low_balance_threshold: z
      .number({ error: "must be an integer" })
      .int({ error: "must be an integer" })
      .min(1, { error: "must be at least 1" })
      .max(Number.MAX_SAFE_INTEGER, { error: "is too large" })
      .nullable()
      .default(null)
      .openapi({ description: "balance.low fires when available credits go from this or more to below it" }),
  })
  .refine((w) => !w.events.includes("balance.low") || w.low_balance_threshold !== null, {
    error: "is required when events include balance.low (the default)",
    path: ["low_balance_threshold"],
  });
