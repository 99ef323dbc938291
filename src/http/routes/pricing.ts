import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { forgetPrices } from "../../db/price-cache";
import type { PricingRow } from "../../db/repository";
import { errorResponses, jsonBody, jsonResponse, security } from "../../schemas/common";
import { ModelParam } from "../../schemas/params";
import { ModelPrice, PriceList, PriceRemoved, SetPrice } from "../../schemas/pricing";
import type { AppEnv } from "../context";
import { apiError } from "../errors";
import { adminWrite } from "../middleware/audit";
import { requireAdmin } from "../middleware/auth";
import { validationHook } from "../validation";

function present(p: PricingRow) {
  return {
    model_name: p.modelName,
    input_per_million_usd: p.inputPerMillionUsd,
    output_per_million_usd: p.outputPerMillionUsd,
    updated_at: p.updatedAt,
  };
}

/** The pricing table: used for a call's cost when LiteLLM reports none. */
export const pricingRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

pricingRoutes.openapi(
  createRoute({
    method: "get",
    path: "/",
    tags: ["Pricing"],
    summary: "List model prices (USD per 1M tokens)",
    security: security.admin,
    middleware: [requireAdmin("pricing.read")] as const,
    responses: { 200: jsonResponse(PriceList, "All prices"), ...errorResponses(401, 403, 503) },
  }),
  async (c) => c.json({ prices: (await c.get("repo").replica().pricing.list()).map(present) }, 200),
);

pricingRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{model_name}",
    tags: ["Pricing"],
    summary: "One model's price",
    security: security.admin,
    middleware: [requireAdmin("pricing.read")] as const,
    request: { params: ModelParam },
    responses: { 200: jsonResponse(ModelPrice, "The price"), ...errorResponses(401, 403, 404, 422, 503) },
  }),
  async (c) => {
    const { model_name } = c.req.valid("param");
    const price = await c.get("repo").pricing.get(model_name);
    if (!price) throw apiError(404, `No price for model '${model_name}'`);
    return c.json(present(price), 200);
  },
);

pricingRoutes.openapi(
  createRoute({
    method: "put",
    path: "/",
    tags: ["Pricing"],
    summary: "Set a model's price (USD per 1M input and output tokens)",
    security: security.admin,
    middleware: [adminWrite("pricing.set")] as const,
    request: { body: jsonBody(SetPrice) },
    responses: { 200: jsonResponse(ModelPrice, "The saved price"), ...errorResponses(401, 403, 413, 422, 503) },
  }),
  async (c) => {
    const body = c.req.valid("json");
    forgetPrices();
    const saved = await c.get("repo").pricing.upsert({
      modelName: body.model_name,
      inputPerMillionUsd: body.input_per_million_usd,
      outputPerMillionUsd: body.output_per_million_usd,
    });
    return c.json(present(saved), 200);
  },
);

pricingRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/{model_name}",
    tags: ["Pricing"],
    summary: "Remove a model's price",
    security: security.admin,
    middleware: [adminWrite("pricing.delete")] as const,
    request: { params: ModelParam },
    responses: {
      200: jsonResponse(PriceRemoved, "Removed"),
      ...errorResponses(401, 403, 404, 422, 503),
    },
  }),
  async (c) => {
    const { model_name } = c.req.valid("param");
    forgetPrices();
    if (!(await c.get("repo").pricing.delete(model_name))) throw apiError(404, `No price for model '${model_name}'`);
    return c.json({ model_name, message: `Price for '${model_name}' removed` }, 200);
  },
);
