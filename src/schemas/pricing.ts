import { z } from "@hono/zod-openapi";
import { ModelName, Timestamp } from "./common";

// What the pricing routes answer.

export const ModelPrice = z
  .object({
    model_name: z.string(),
    input_per_million_usd: z.number(),
    output_per_million_usd: z.number(),
    updated_at: Timestamp,
  })
  .openapi("ModelPrice");

export const PriceList = z.object({ prices: z.array(ModelPrice) });

export const Price = z.number().min(0, { error: "must not be negative" }).max(1_000_000, { error: "must be at most 1000000" });

export const SetPrice = z.object({ model_name: ModelName, input_per_million_usd: Price, output_per_million_usd: Price });

export const PriceRemoved = z.object({ model_name: z.string(), message: z.string() });
