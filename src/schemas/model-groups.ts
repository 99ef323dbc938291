import { z } from "@hono/zod-openapi";
import { PageInfo, Timestamp } from "./common";

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
