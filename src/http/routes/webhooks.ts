import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { onLedger } from "../../ledger/client";
import { errorResponses, jsonBody, jsonResponse, Pagination, security } from "../../schemas/common";
import { OrganizationParam, TeamParam } from "../../schemas/params";
import { DeliveryPage, Removed, SavedWebhook, SetWebhook, Webhook } from "../../schemas/webhooks";
import type { WebhookScope } from "../../webhooks/events";
import type { AppContext, AppEnv } from "../context";
import { apiError } from "../errors";
import { loadTeam } from "../flows/team-views";
import { checkWebhookUrl, presentWebhook, pushWebhook, saveWebhook, type WebhookInput } from "../flows/webhook-config";
import { adminWrite } from "../middleware/audit";
import { requireAdmin } from "../middleware/auth";
import { idempotent } from "../middleware/idempotency";
import { validationHook } from "../validation";

// Signed webhooks (docs/webhooks.md): a team's own, and an organization's for all its teams.

export const webhookRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

/** The route set for one scope: PUT, GET and DELETE of `/{id}/webhook`. */
function webhookRoutesFor(scope: WebhookScope) {
  const isTeam = scope === "team";
  const params = isTeam ? TeamParam : OrganizationParam;
  const base = isTeam ? "/teams/{team_id}/webhook" : "/organizations/{organization_id}/webhook";
  const tags = ["Webhooks"];
  const ownerOf = (c: AppContext) => (isTeam ? c.req.param("team_id") : c.req.param("organization_id")) as string;

  /** 404 unless the owner exists; the teams a change reaches. */
  const teamsReached = async (c: AppContext, ownerId: string) => {
    if (isTeam) return [(await loadTeam(c, ownerId)).teamId];
    if (!(await c.get("repo").organizations.get(ownerId))) throw apiError(404, `Organization '${ownerId}' not found`);
    return c.get("repo").webhooks.teamsOf(ownerId);
  };
  const existing = async (c: AppContext, ownerId: string) => {
    const row = await c.get("repo").webhooks.get(scope, ownerId);
    if (!row) throw apiError(404, `No webhook is set for ${scope} '${ownerId}'`);
    return row;
  };

  webhookRoutes.openapi(
    createRoute({
      method: "put",
      path: base,
      tags,
      summary: isTeam ? "Set a team's webhook" : "Set an organization's webhook (for all its teams, and teams created later)",
      description:
        "Sets or replaces the webhook, with a new signing secret shown in this answer only. The URL must be https:// and not a " +
        "private, loopback or link-local address. Events default to all; `low_balance_threshold` is required with `balance.low`.",
      security: security.admin,
      middleware: [adminWrite(isTeam ? "team.webhook_set" : "organization.webhook_set"), idempotent] as const,
      request: { params, body: jsonBody(SetWebhook) },
      responses: { 200: jsonResponse(SavedWebhook, "The webhook and its signing secret"), ...errorResponses(401, 403, 404, 413, 422, 503) },
    }),
    async (c) => {
      const ownerId = ownerOf(c);
      const input: WebhookInput = c.req.valid("json");
      checkWebhookUrl(c, input.url);
      const teamIds = await teamsReached(c, ownerId);
      const { row, endpoint } = await saveWebhook(c, scope, ownerId, input);
      await pushWebhook(c, teamIds, { set: endpoint });
      const message = "Webhook set. Store the signing secret now: it is not shown again.";
      return c.json({ ...presentWebhook(row), secret: endpoint.secret, message }, 200);
    },
  );

  webhookRoutes.openapi(
    createRoute({
      method: "get",
      path: base,
      tags,
      summary: isTeam ? "Get a team's webhook (never its secret)" : "Get an organization's webhook (never its secret)",
      security: security.admin,
      middleware: [requireAdmin(isTeam ? "teams.read" : "organizations.read")] as const,
      request: { params },
      responses: { 200: jsonResponse(Webhook, "The webhook"), ...errorResponses(401, 403, 404, 422, 503) },
    }),
    async (c) => c.json(presentWebhook(await existing(c, ownerOf(c))), 200),
  );

  webhookRoutes.openapi(
    createRoute({
      method: "delete",
      path: base,
      tags,
      summary: isTeam ? "Remove a team's webhook" : "Remove an organization's webhook from all its teams",
      description: "Events not yet delivered to it are dropped.",
      security: security.admin,
      middleware: [adminWrite(isTeam ? "team.webhook_delete" : "organization.webhook_delete")] as const,
      request: { params },
      responses: { 200: jsonResponse(Removed, "Removed"), ...errorResponses(401, 403, 404, 422, 503) },
    }),
    async (c) => {
      const ownerId = ownerOf(c);
      await existing(c, ownerId);
      // The objects first: if one cannot be told, D1 still lists the webhook and DELETE can be sent again.
      await pushWebhook(c, await teamsReached(c, ownerId), { remove: scope });
      await c.get("repo").webhooks.remove(scope, ownerId);
      return c.json({ message: `Webhook of ${scope} '${ownerId}' removed` }, 200);
    },
  );
}

webhookRoutesFor("team");
webhookRoutesFor("organization");

webhookRoutes.openapi(
  createRoute({
    method: "get",
    path: "/teams/{team_id}/webhook/deliveries",
    tags: ["Webhooks"],
    summary: "A team's recent webhook events: attempts, status codes, next retry",
    description:
      "Newest first; events of the team's own webhook and of its organization's (see `scope`). Kept for 7 days once delivered or given up.",
    security: security.admin,
    middleware: [requireAdmin("teams.read")] as const,
    request: { params: TeamParam, query: Pagination },
    responses: {
      200: jsonResponse(DeliveryPage, "A page of deliveries"),
      ...errorResponses(401, 403, 404, 422, 503),
    },
  }),
  async (c) => {
    const { team_id } = c.req.valid("param");
    const { limit, offset } = c.req.valid("query");
    await loadTeam(c, team_id);
    return c.json(await onLedger(c.env, team_id, "webhookDeliveries", limit, offset), 200);
  },
);
