import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import type { NewAuditRow } from "../../db/admin-records";
import { isGatewayFailure } from "../../errors";
import { log } from "../../log";
import type { AdminIdentity, Permission } from "../../security/admin-roles";
import type { AppContext, AppEnv } from "../context";
import { failureToHttp } from "../errors";
import { guardAdmin, namedTeam } from "./admin-guard";
import { authenticate } from "./auth";

// The audit log: every admin write, allowed or refused, is one row in D1 (who, what, on what,
// in which organization, a summary of the change, the outcome). An allowed write appends its
// row *before* it runs and completes it with the status after: if the row cannot be appended
// the write is refused with 503 and nothing changes (no unaudited admin change); if the outcome
// cannot be recorded afterwards, the write stands, the row keeps `status` null ("outcome
// unknown") and an error is logged — a completed money change is never turned into an error.
// A refused write (401, 403, or 404 out of scope) appends one row with its status; if even that
// fails, the refusal is still answered and the failure logged.

/** Audit rows are kept this long, then purged by the hourly cron. */
export const AUDIT_RETENTION_DAYS = 400;

type AuditedAction = { permission: Permission; resource: string; id: (c: AppContext, body: Record<string, unknown>) => unknown };

const param = (name: string) => (c: AppContext) => c.req.param(name);
const field = (name: string) => (_c: AppContext, body: Record<string, unknown>) => body[name];
const team: Pick<AuditedAction, "resource" | "id"> = { resource: "team", id: param("team_id") };

/** Every audited admin write: its action name, the permission it needs and what it acts on. */
export const AUDITED_ACTIONS = {
  "organization.create": { permission: "organizations.create", resource: "organization", id: field("organization_id") },
  "organization.placement": { permission: "organizations.create", resource: "organization", id: param("organization_id") },
  "model_group.create": { permission: "model_groups.write", resource: "model_group", id: field("group_name") },
  "model_group.update_models": { permission: "model_groups.write", resource: "model_group", id: param("group_name") },
  "model_group.update": { permission: "model_groups.write", resource: "model_group", id: param("group_name") },
  "model_group.delete": { permission: "model_groups.write", resource: "model_group", id: param("group_name") },
  "team.create": { permission: "teams.write", resource: "team", id: field("team_id") },
  "team.update": { permission: "teams.write", ...team },
  "team.model_groups": { permission: "teams.write", ...team },
  "team.suspend": { permission: "teams.write", ...team },
  "team.pause": { permission: "teams.write", ...team },
  "team.resume": { permission: "teams.write", ...team },
  "team.delete": { permission: "teams.write", ...team },
  "key.rotate": { permission: "teams.write", ...team },
  "key.create": { permission: "teams.write", resource: "key", id: () => undefined },
  "key.update": { permission: "teams.write", resource: "key", id: param("key_id") },
  "key.revoke": { permission: "teams.write", resource: "key", id: param("key_id") },
  "credits.add": { permission: "credits.write", ...team },
  "credits.grant": { permission: "credits.write", ...team },
  "credits.grant_void": { permission: "credits.write", ...team },
  "credits.allowance_set": { permission: "credits.write", ...team },
  "credits.allowance_delete": { permission: "credits.write", ...team },
  "credits.budget_mode": { permission: "budget.write", ...team },
  "job.refund": { permission: "jobs.refund", resource: "job", id: field("job_id") },
  "pricing.set": { permission: "pricing.write", resource: "pricing", id: field("model_name") },
  "pricing.delete": { permission: "pricing.write", resource: "pricing", id: param("model_name") },
  "team.webhook_set": { permission: "webhooks.write", ...team },
  "team.webhook_delete": { permission: "webhooks.write", ...team },
  "organization.webhook_set": { permission: "webhooks.write", resource: "organization", id: param("organization_id") },
  "organization.webhook_delete": { permission: "webhooks.write", resource: "organization", id: param("organization_id") },
  "admin_key.create": { permission: "admin_keys.manage", resource: "admin_key", id: () => undefined },
  "admin_key.revoke": { permission: "admin_keys.manage", resource: "admin_key", id: param("key_id") },
} satisfies Record<string, AuditedAction>;
export type AuditAction = keyof typeof AUDITED_ACTIONS;

/** Body fields a summary may keep: what changed, never a key, a secret or free-form metadata. */
const SUMMARY_FIELDS = new Set([
  "organization_id",
  "team_id",
  "team_alias",
  "name",
  "role",
  "group_name",
  "display_name",
  "cache",
  "model_groups",
  "models",
  "credits",
  "credits_allocated",
  "source",
  "expires_at",
  "priority",
  "external_ref",
  "period",
  "anchor",
  "rollover",
  "reason",
  "job_id",
  "grace_seconds",
  "budget_mode",
  "credits_per_dollar",
  "tokens_per_credit",
  "cost_markup_percentage",
  "job_ttl_seconds",
  "rate_limit_per_minute",
  "overdraft",
  "unpriced_calls",
  "tpm_limit",
  "unfinished_jobs",
  "model_name",
  "input_per_million_usd",
  "url",
  "events",
  "low_balance_threshold",
  "output_per_million_usd",
  "placement",
  "location_hint",
  "jurisdiction",
  "speculative_admission",
  "ttl_seconds",
  "scope",
  "hit_price_percent",
  "expires_at",
]);

function summaryValue(value: unknown): unknown {
  if (typeof value === "string") return value.length > 200 ? `${value.slice(0, 200)}…` : value;
  if (typeof value === "number" || typeof value === "boolean" || value === null) return value;
  if (Array.isArray(value)) {
    return value.slice(0, 50).map((item) => (typeof item === "object" && item !== null ? summaryOf(item) : summaryValue(item)));
  }
  // A nested setting (a group's cache) keeps its listed fields too.
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) return summaryOf(value);
  return "[omitted]";
}

/** The whitelisted fields of a request body (a bare list is a team's or group's model list). */
function summaryOf(body: unknown): Record<string, unknown> {
  if (Array.isArray(body)) return { model_groups: summaryValue(body) };
  if (typeof body !== "object" || body === null) return {};
  const summary: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) if (SUMMARY_FIELDS.has(key)) summary[key] = summaryValue(value);
  if ("metadata" in body) summary.metadata_changed = true;
  return summary;
}

async function bodyOf(c: AppContext): Promise<unknown> {
  if (!/json/i.test(c.req.header("content-type") ?? "")) return {};
  // Read as text (Hono keeps it for the validator and the idempotency hash, byte for byte).
  try {
    return JSON.parse(await c.req.text());
  } catch {
    return {};
  }
}

function statusOf(error: unknown): number {
  if (isGatewayFailure(error)) return failureToHttp(error).status;
  if (error instanceof HTTPException) return error.status;
  return 500;
}

function rowOf(c: AppContext, action: AuditAction, actor: AdminIdentity | null, body: unknown, status: number | null): NewAuditRow {
  const summary = summaryOf(body);
  const resourceId = c.get("auditResourceId") ?? AUDITED_ACTIONS[action].id(c, summary);
  const teamOrganization = namedTeam(c) !== undefined ? c.get("teamOrganization") : undefined;
  // A request from no admin key is nobody's organization's business: it could name any.
  const organizationId =
    actor === null
      ? null
      : (actor.organizationId ?? teamOrganization ?? c.req.param("organization_id") ?? (summary.organization_id as string | undefined));
  return {
    at: new Date().toISOString(),
    actorKeyId: actor?.keyId ?? "-",
    actorName: actor?.name ?? "unauthenticated",
    actorRole: actor?.role ?? null,
    action,
    resourceType: AUDITED_ACTIONS[action].resource,
    resourceId: typeof resourceId === "string" ? resourceId : null,
    organizationId: typeof organizationId === "string" ? organizationId : null,
    summary,
    requestId: c.get("requestId"),
    clientIp: c.req.header("cf-connecting-ip") ?? null,
    status,
  };
}

/**
 * An admin write: authenticates, checks the action's permission and scope (as requireAdmin),
 * and records the attempt and its outcome in the audit log (see the rules above).
 */
export function adminWrite(action: AuditAction) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const repo = c.get("repo");
    const body = await bodyOf(c);
    let actor: AdminIdentity | null = null;
    try {
      const principal = await authenticate(c, { admin: true, team: false });
      if (principal.kind === "admin") actor = principal.identity;
      c.set("principal", principal);
      if (actor) await guardAdmin(c, actor, AUDITED_ACTIONS[action].permission, true);
    } catch (refusal) {
      const status = statusOf(refusal);
      // An undeployed admin API (503) is no one's action; everything else refused is recorded.
      if (status !== 503) {
        await repo.audit.append(rowOf(c, action, actor, body, status)).catch((error) => {
          log("error", "audit row of a refused admin write not written", { request_id: c.get("requestId"), action, error: String(error) });
        });
      }
      throw refusal;
    }
    const seq = await repo.audit.append(rowOf(c, action, actor, body, null));
    await next();
    try {
      await repo.audit.complete(seq, c.res.status, rowOf(c, action, actor, body, null).resourceId ?? null);
    } catch (error) {
      log("error", "audit outcome not recorded: the row keeps status null", {
        request_id: c.get("requestId"),
        action,
        seq,
        error: String(error),
      });
    }
  });
}
