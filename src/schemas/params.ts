import { z } from "@hono/zod-openapi";
import { ClientId, ServerId } from "./common";

// Path parameters shared by several route files.

export const JobParam = z.object({ job_id: ServerId.openapi({ param: { name: "job_id", in: "path" } }) });
export const TeamParam = z.object({ team_id: ClientId.openapi({ param: { name: "team_id", in: "path" } }) });
