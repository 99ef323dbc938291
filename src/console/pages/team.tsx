import { BUDGET_MODES } from "../../schemas/budget";
import { can, type Permission } from "../../security/admin-roles";
import { formAction } from "../actions";
import type { CreditsAddedAnswer, KeyListAnswer, StatusChangeAnswer, TeamAnswer } from "../api-types";
import { ActionForm } from "../components/action-form";
import { Facts } from "../components/facts";
import { Field, Select } from "../components/fields";
import { renderPage } from "../components/layout";
import { type ConsoleApp, type ConsoleContext, seg } from "../context";
import { numberOrText } from "../forms";
import { registerTeamKeyActions, TeamKeys } from "./team-keys";
import { TeamNav, teamPath } from "./team-nav";

// One team: its balance and settings, its keys (team-keys.tsx), and what an admin does to it
// (add credits, change the budget mode, create, rotate and revoke keys, change its status). A new
// key is shown once, on the page the form redirects to, and never again.

type StatusAction = "suspend" | "pause" | "resume";
/** The status changes that apply to a team in each status. */
const STATUS_ACTIONS: Record<string, readonly StatusAction[]> = {
  active: ["pause", "suspend"],
  paused: ["resume", "suspend"],
  suspended: ["resume"],
};
const STATUS_LABELS: Record<StatusAction, string> = { suspend: "Suspend", pause: "Pause", resume: "Resume" };

/** What the actions below need: without any of them the page has no actions section. */
const TEAM_PERMISSIONS: Permission[] = ["credits.write", "budget.write", "teams.write"];

const apiTeam = (c: ConsoleContext) => `/api/teams/${seg(c.req.param("team_id") ?? "")}`;
const apiCredits = (c: ConsoleContext) => `/api/credits/teams/${seg(c.req.param("team_id") ?? "")}`;
const thisTeam = (c: ConsoleContext) => teamPath(c.req.param("team_id") ?? "");

async function teamPage(c: ConsoleContext) {
  const teamId = c.req.param("team_id") ?? "";
  const [team, keys] = await Promise.all([
    c.get("api").get<TeamAnswer>(`/api/teams/${seg(teamId)}`),
    c.get("api").get<KeyListAnswer>(`/api/teams/${seg(teamId)}/keys`),
  ]);
  if (!team.ok) return renderPage(c, { title: `Team ${teamId}`, error: team.detail, status: team.status });
  const t = team.data;
  const recharge = t.auto_recharge;
  const base = teamPath(t.team_id);
  return renderPage(
    c,
    { title: `Team ${t.team_id}` },
    <>
      <TeamNav teamId={t.team_id} />
      <section aria-labelledby="balance">
        <h2 id="balance">Balance</h2>
        <Facts
          facts={[
            { label: "Status", value: t.status, class: `status-${t.status}` },
            { label: "Credits available", value: t.credits_available },
            { label: "Remaining", value: t.credits_remaining },
            { label: "Reserved by open jobs", value: t.credits_reserved },
            { label: "Held by calls in flight", value: t.credits_held },
            { label: "Allocated", value: t.credits_allocated },
            { label: "Used", value: t.credits_used },
            { label: "Budget mode", value: t.budget_mode },
            { label: "Overdraft", value: t.overdraft },
            { label: "Organization", value: t.organization_id },
            { label: "Model groups", value: t.model_groups.join(", ") || "—" },
            { label: "Key", value: t.key_prefix ? `${t.key_prefix}…` : "—" },
            { label: "Rate limit / min", value: t.rate_limit_per_minute ?? "none" },
            {
              label: "Budget alerts at",
              value: t.alerts.thresholds.length > 0 ? t.alerts.thresholds.map((p) => `${p}%`).join(", ") : "none",
            },
            { label: "Auto recharge", value: recharge ? `below ${recharge.below}, up to ${recharge.target}` : "none" },
            {
              label: "Recharge requested",
              value: recharge?.pending_request
                ? `${recharge.pending_request.amount} credits (${recharge.pending_request.idempotency_key})`
                : "—",
            },
            {
              label: "End-user budget",
              value: t.end_user_budget ? `${t.end_user_budget.credits} credits / ${t.end_user_budget.period}` : "none",
            },
          ]}
        />
      </section>
      <TeamKeys teamId={t.team_id} keys={keys.ok ? keys.data.keys : null} error={keys.ok ? null : keys.detail} groups={t.model_groups} />
      {TEAM_PERMISSIONS.some((p) => can(c.get("admin"), p)) ? (
        <section aria-labelledby="actions">
          <h2 id="actions">Actions</h2>
          <ActionForm action={`${base}/credits`} label="Add credits" permission="credits.write">
            <Field label="Credits to add" name="credits" type="number" min={1} required />
            <Field label="Reason" name="reason" />
          </ActionForm>
          <ActionForm action={`${base}/budget-mode`} label="Change budget mode" permission="budget.write">
            <Select label="Budget mode" name="budget_mode" options={BUDGET_MODES} value={t.budget_mode} />
            <Field label="Credits per dollar" name="credits_per_dollar" type="number" step="any" value={t.credits_per_dollar} />
            <Field label="Tokens per credit" name="tokens_per_credit" type="number" value={t.tokens_per_credit} />
          </ActionForm>
          <div>
            {(STATUS_ACTIONS[t.status] ?? []).map((action) => (
              <ActionForm
                action={`${base}/${action}`}
                label={STATUS_LABELS[action]}
                permission="teams.write"
                danger={action === "suspend"}
              />
            ))}
          </div>
        </section>
      ) : null}
    </>,
  );
}

export function registerTeamPage(app: ConsoleApp): void {
  app.get("/teams/:team_id", (c) => teamPage(c));

  formAction<CreditsAddedAnswer>(app, "/teams/:team_id/credits", {
    page: thisTeam,
    request: (form, c) => ({
      method: "POST",
      path: `${apiCredits(c)}/add`,
      body: { credits: numberOrText(form.credits), ...(form.reason ? { reason: form.reason } : {}) },
    }),
    done: (added) => ({ notice: `${added.credits_added} credits added` }),
  });

  formAction<unknown>(app, "/teams/:team_id/budget-mode", {
    page: thisTeam,
    request: (form, c) => ({
      method: "PATCH",
      path: `${apiCredits(c)}/budget-mode`,
      body: {
        budget_mode: form.budget_mode,
        ...(form.credits_per_dollar ? { credits_per_dollar: numberOrText(form.credits_per_dollar) } : {}),
        ...(form.tokens_per_credit ? { tokens_per_credit: numberOrText(form.tokens_per_credit) } : {}),
      },
    }),
    done: (_answer, form) => ({ notice: `Budget mode is now ${form.budget_mode}` }),
  });

  registerTeamKeyActions(app);

  for (const action of ["suspend", "pause", "resume"] as const) {
    formAction<StatusChangeAnswer>(app, `/teams/:team_id/${action}`, {
      page: thisTeam,
      request: (_form, c) => ({ method: "PUT", path: `${apiTeam(c)}/${action}` }),
      done: (changed) => ({ notice: changed.message }),
    });
  }
}
