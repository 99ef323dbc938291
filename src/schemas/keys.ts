import { z } from "@hono/zod-openapi";
import { Timestamp } from "./common";
import { BudgetPeriodValue, PeriodBudget } from "./period-budgets";
import { GroupNames } from "./teams";

// Schemas of a team's named keys (docs/keys.md): what key routes take and answer.

const KeyName = z
  .string()
  .min(1, { error: "must not be empty" })
  .max(100, { error: "must be at most 100 characters" })
  // The control characters (Unicode's Cc) spelled as ranges, which the OpenAPI document's readers (schemathesis) can build from.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is what it is for
  .regex(/^[^\u0000-\u001f\u007f-\u009f]+$/, { error: "must not contain control characters" })
  .openapi({ example: "production" });

const ExpiresAt = z.iso
  .datetime({ error: "must be an ISO 8601 date-time with a time zone, e.g. 2027-01-01T00:00:00Z", offset: true })
  .refine((v) => Date.parse(v) > Date.now(), { error: "must be in the future" })
  .openapi({ description: "When the key stops by itself" });

const KeyGroups = GroupNames.min(1, { error: "must list at least one model group (null: all the team's groups)" }).openapi({
  description: "The model groups the key may use, within the team's (403 for another); null or absent: all the team's groups",
});

export const CreateKey = z.object({
  name: KeyName,
  budget: PeriodBudget.nullable().optional(),
  model_groups: KeyGroups.nullable().optional(),
  expires_at: ExpiresAt.nullable().optional(),
});

export const UpdateKey = z.object({
  name: KeyName.optional(),
  budget: PeriodBudget.nullable().optional().openapi({ description: "null removes the budget" }),
  model_groups: KeyGroups.nullable().optional(),
  expires_at: ExpiresAt.nullable().optional(),
});

export const Key = z
  .object({
    key_id: z.string(),
    name: z.string(),
    key_prefix: z.string().openapi({ description: "The first characters of the current secret, to recognise it; never the secret" }),
    model_groups: z.array(z.string()).nullable(),
    expires_at: Timestamp.nullable(),
    created_at: Timestamp,
    last_used_at: Timestamp.nullable().openapi({ description: "Updated at most once a minute" }),
    budget: z
      .object({
        credits: z.number().int(),
        period: BudgetPeriodValue,
        spent_credits: z.number().openapi({ description: "Charged to the key's jobs in the current window" }),
        held_credits: z.number().int().openapi({ description: "Held now by the key's open jobs and calls in flight" }),
        window_start: Timestamp,
        resets_at: Timestamp.nullable().openapi({ description: "When the window ends (UTC boundary); null for `total`" }),
      })
      .nullable(),
  })
  .openapi("Key");

export const KeyList = z.object({ team_id: z.string(), keys: z.array(Key) }).openapi("KeyList");

export const KeyRevoked = z.object({ team_id: z.string(), key_id: z.string(), message: z.string() });

export const CreatedKey = Key.extend({
  virtual_key: z.string().openapi({ description: "Shown once, never again" }),
  message: z.string(),
}).openapi("CreatedKey");

export const RotatedTeamKey = z
  .object({
    key_id: z.string(),
    virtual_key: z.string().openapi({ description: "The new secret, shown once" }),
    key_prefix: z.string(),
    previous_secrets_valid_until: Timestamp.nullable(),
    message: z.string(),
  })
  .openapi("RotatedKey");
