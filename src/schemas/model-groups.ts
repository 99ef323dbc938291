import { z } from "@hono/zod-openapi";
import { ClientId, ModelName, PageInfo, Timestamp } from "./common";

// What the model group routes answer.

export const ModelGroup = z
  .object({
    group_name: z.string(),
    display_name: z.string(),
    description: z.string().nullable(),
    status: z.string(),
    models: z.array(z.object({ model_name: z.string(), priority: z.number().int() })),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("ModelGroup");

export const ModelGroupPage = z.object({ model_groups: z.array(ModelGroup), ...PageInfo });

export const GroupModelInput = z.object({
  model_name: ModelName,
  priority: z
    .number()
    .int({ error: "must be an integer" })
    .min(0, { error: "must not be negative" })
    .max(1000, { error: "must be at most 1000" })
    .default(0),
});

export const GroupModels = z
  .array(GroupModelInput)
  .min(1, { error: "must list at least one model" })
  .max(20, { error: "must list at most 20 models" })
  .refine((models) => new Set(models.map((m) => m.model_name)).size === models.length, { error: "must not list a model twice" });

export const CreateModelGroup = z.object({
  group_name: ClientId,
  display_name: z.string().max(200, { error: "must be at most 200 characters" }).optional(),
  description: z.string().max(2000, { error: "must be at most 2000 characters" }).nullable().optional(),
  models: GroupModels,
});

/** A group's new models: the list, or `{ "models": [...] }`. */
export const GroupModelsChange = z.union([GroupModels, z.object({ models: GroupModels })]);

export const GroupDeleted = z.object({ group_name: z.string(), message: z.string() });
