import { z } from "@hono/zod-openapi";
import { ClientId, ModelName, ServerId } from "./common";

// The path parameters of the routes, each declared once.

export const JobParam = z.object({ job_id: ServerId.openapi({ param: { name: "job_id", in: "path" } }) });
export const TeamParam = z.object({ team_id: ClientId.openapi({ param: { name: "team_id", in: "path" } }) });
export const OrganizationParam = z.object({ organization_id: ClientId.openapi({ param: { name: "organization_id", in: "path" } }) });
export const GroupParam = z.object({ group_name: ClientId.openapi({ param: { name: "group_name", in: "path" } }) });
/** A model name in the path, URL-encoded when it has a slash (`/api/pricing/openai%2Fgpt-4o`). */
export const ModelParam = z.object({
  model_name: ModelName.openapi({
    param: { name: "model_name", in: "path" },
    description: "The model name, URL-encoded (`openai%2Fgpt-4o` for `openai/gpt-4o`)",
  }),
});
export const AdminKeyParam = z.object({ key_id: ServerId.openapi({ param: { name: "key_id", in: "path" } }) });
/** One key of a team (`/api/teams/{team_id}/keys/{key_id}`). */
export const KeyParam = z.object({
  team_id: ClientId.openapi({ param: { name: "team_id", in: "path" } }),
  key_id: ServerId.openapi({ param: { name: "key_id", in: "path" } }),
});
