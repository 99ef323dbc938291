import { z } from "@hono/zod-openapi";
import { Timestamp } from "./common";

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
