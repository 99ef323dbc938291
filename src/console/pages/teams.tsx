import type { Context } from "hono";
import { BUDGET_MODES } from "../../ledger/rules/money";
import type { ConsoleApp, ConsoleEnv } from "../context";
import { asStatus, seg } from "../context";
import { formOf, listOf, numberOrText } from "../forms";
import { CsrfField, Field, type Flash, formatTime, Layout, Pager, Select } from "../layout";
import { TeamNav } from "./team-nav";

// Teams: the list, a new team, and one team's page (balance, status, budget mode, credits, key
// rotation). A new key is shown once, in the answer to the form that made it, and never again.

type C = Context<ConsoleEnv>;
const chrome = (c: C) => ({ admin: c.get("admin"), session: c.get("session") });

interface Team {
  team_id: string;
  organization_id: string;
  team_alias: string | null;
  status: string;
  model_groups: string[];
  key_prefix: string | null;
  created_at: string;
  credits_allocated?: number;
  credits_used?: number;
  credits_remaining?: number;
  credits_reserved?: number;
  credits_available?: number;
  credits_held?: number;
  budget_mode?: string;
  credits_per_dollar?: number;
  tokens_per_credit?: number;
  cost_markup_percentage?: number;
  rate_limit_per_minute?: number | null;
  overdraft?: string;
}

function NewKey({ keyValue, what }: { keyValue: string; what: string }) {
  return (
    <section aria-labelledby="new-key" class="card">
      <h2 id="new-key">{what}: copy it now, it is shown once</h2>
      <p class="secret" data-new-key>
        {keyValue}
      </p>
    </section>
  );
}

async function teamsPage(c: C, flash: Flash = {}, status = 200, newKey?: string) {
  const organization = c.req.query("organization_id") ?? "";
  const offset = Number(c.req.query("offset") ?? 0) || 0;
  const query = `limit=50&offset=${offset}${organization ? `&organization_id=${seg(organization)}` : ""}`;
  const api = c.get("api");
  const [list, orgs, groups] = await Promise.all([
    api.get<{ teams: Team[]; has_more: boolean }>(`/api/teams?${query}`),
    api.get<{ organizations: { organization_id: string }[] }>("/api/organizations?limit=200"),
    api.get<{ model_groups: { group_name: string }[] }>("/api/model-groups?limit=200"),
  ]);
  const orgIds = orgs.ok ? orgs.data.organizations.map((o) => o.organization_id) : [];
  const groupNames = groups.ok ? groups.data.model_groups.map((g) => g.group_name).join(", ") : "";
  return c.html(
    <Layout title="Teams" chrome={chrome(c)} flash={{ ...flash, error: flash.error ?? (list.ok ? null : list.detail) }}>
      {newKey ? <NewKey keyValue={newKey} what="The new team's virtual key" /> : null}
      <section aria-labelledby="new-team">
        <h2 id="new-team">New team</h2>
        <form method="post" action="/admin/teams">
          <CsrfField session={c.get("session")} />
          <div class="fields">
            <Select label="Organization" name="organization_id" options={orgIds} value={organization} />
            <Field label="Team id" name="team_id" required />
            <Field label="Alias" name="team_alias" />
            <Field
              label="Model groups"
              name="model_groups"
              hint={groupNames ? `Separated by commas; existing: ${groupNames}` : "Separated by commas"}
            />
            <Field label="Opening credits" name="credits_allocated" type="number" min={0} value={0} />
            <button type="submit">Create team</button>
          </div>
        </form>
      </section>
      <form method="get" action="/admin/teams" class="inline">
        <Select label="Organization" name="organization_id" options={orgIds} value={organization} blank="All organizations" />
        <button type="submit" class="secondary">
          Filter
        </button>
      </form>
      {list.ok ? (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Team</th>
                <th scope="col">Organization</th>
                <th scope="col">Status</th>
                <th scope="col">Model groups</th>
                <th scope="col">Key</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {list.data.teams.map((team) => (
                <tr>
                  <td>
                    <a href={`/admin/teams/${seg(team.team_id)}`}>
                      {team.team_alias ? `${team.team_id} (${team.team_alias})` : team.team_id}
                    </a>
                  </td>
                  <td>{team.organization_id}</td>
                  <td class={`status-${team.status}`}>{team.status}</td>
                  <td>{team.model_groups.join(", ")}</td>
                  <td>{team.key_prefix ? `${team.key_prefix}…` : "—"}</td>
                  <td>{formatTime(team.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager
            base={`/admin/teams${organization ? `?organization_id=${seg(organization)}` : ""}`}
            offset={offset}
            limit={50}
            hasMore={list.data.has_more}
          />
        </div>
      ) : null}
    </Layout>,
    asStatus(status),
  );
}

function ActionForm({ c, action, label, children, danger }: { c: C; action: string; label: string; children?: unknown; danger?: boolean }) {
  return (
    <form method="post" action={action} class="inline">
      <CsrfField session={c.get("session")} />
      {children as never}
      <button type="submit" class={danger ? "danger" : undefined}>
        {label}
      </button>
    </form>
  );
}

async function teamPage(c: C, flash: Flash = {}, status = 200, newKey?: string) {
  const teamId = c.req.param("team_id") ?? "";
  const team = await c.get("api").get<Team>(`/api/teams/${seg(teamId)}`);
  if (!team.ok) return c.html(<Layout title={`Team ${teamId}`} chrome={chrome(c)} flash={{ error: team.detail }} />, asStatus(team.status));
  const t = team.data;
  const base = `/admin/teams/${seg(t.team_id)}`;
  return c.html(
    <Layout title={`Team ${t.team_id}`} chrome={chrome(c)} flash={flash}>
      {newKey ? <NewKey keyValue={newKey} what="The team's new virtual key" /> : null}
      <TeamNav teamId={t.team_id} />
      <section aria-labelledby="balance">
        <h2 id="balance">Balance</h2>
        <dl class="facts">
          <div>
            <dt>Status</dt>
            <dd class={`status-${t.status}`} data-team-status>
              {t.status}
            </dd>
          </div>
          <div>
            <dt>Credits available</dt>
            <dd data-credits-available>{t.credits_available}</dd>
          </div>
          <div>
            <dt>Remaining</dt>
            <dd>{t.credits_remaining}</dd>
          </div>
          <div>
            <dt>Reserved by open jobs</dt>
            <dd>{t.credits_reserved}</dd>
          </div>
          <div>
            <dt>Allocated</dt>
            <dd>{t.credits_allocated}</dd>
          </div>
          <div>
            <dt>Used</dt>
            <dd>{t.credits_used}</dd>
          </div>
          <div>
            <dt>Budget mode</dt>
            <dd>{t.budget_mode}</dd>
          </div>
          <div>
            <dt>Overdraft</dt>
            <dd>{t.overdraft}</dd>
          </div>
          <div>
            <dt>Organization</dt>
            <dd>{t.organization_id}</dd>
          </div>
          <div>
            <dt>Model groups</dt>
            <dd>{t.model_groups.join(", ") || "—"}</dd>
          </div>
          <div>
            <dt>Key</dt>
            <dd>{t.key_prefix ? `${t.key_prefix}…` : "—"}</dd>
          </div>
          <div>
            <dt>Rate limit / min</dt>
            <dd>{t.rate_limit_per_minute ?? "none"}</dd>
          </div>
        </dl>
      </section>
      <section aria-labelledby="actions">
        <h2 id="actions">Actions</h2>
        <ActionForm c={c} action={`${base}/credits`} label="Add credits">
          <Field label="Credits to add" name="credits" type="number" min={1} required />
          <Field label="Reason" name="reason" />
        </ActionForm>
        <ActionForm c={c} action={`${base}/budget-mode`} label="Change budget mode">
          <Select label="Budget mode" name="budget_mode" options={BUDGET_MODES} value={t.budget_mode} />
          <Field label="Credits per dollar" name="credits_per_dollar" type="number" step="any" value={t.credits_per_dollar} />
          <Field label="Tokens per credit" name="tokens_per_credit" type="number" value={t.tokens_per_credit} />
        </ActionForm>
        <ActionForm c={c} action={`${base}/rotate`} label="Rotate key">
          <Field label="Old key valid for (seconds)" name="grace_seconds" type="number" min={0} value={0} />
        </ActionForm>
        <div>
          {(["suspend", "pause", "resume"] as const).map((action) => (
            <ActionForm c={c} action={`${base}/status`} label={action[0].toUpperCase() + action.slice(1)} danger={action === "suspend"}>
              <input type="hidden" name="action" value={action} />
            </ActionForm>
          ))}
        </div>
      </section>
    </Layout>,
    asStatus(status),
  );
}

export function registerTeamPages(app: ConsoleApp): void {
  app.get("/teams", (c) => teamsPage(c));
  app.post("/teams", async (c) => {
    const form = await formOf(c);
    const result = await c.get("api").send<Team & { virtual_key: string }>("POST", "/api/teams/create", {
      organization_id: form.organization_id,
      team_id: form.team_id,
      ...(form.team_alias ? { team_alias: form.team_alias } : {}),
      model_groups: listOf(form.model_groups),
      credits_allocated: numberOrText(form.credits_allocated) ?? 0,
    });
    if (!result.ok) return teamsPage(c, { error: result.detail }, result.status);
    return teamsPage(c, { notice: `Team '${result.data.team_id}' created` }, 200, result.data.virtual_key);
  });

  app.get("/teams/:team_id", (c) => teamPage(c));
  app.post("/teams/:team_id/credits", async (c) => {
    const form = await formOf(c);
    const result = await c.get("api").send<{ credits_added: number }>("POST", `/api/credits/teams/${seg(c.req.param("team_id"))}/add`, {
      credits: numberOrText(form.credits),
      ...(form.reason ? { reason: form.reason } : {}),
    });
    if (!result.ok) return teamPage(c, { error: result.detail }, result.status);
    return teamPage(c, { notice: `${result.data.credits_added} credits added` });
  });
  app.post("/teams/:team_id/budget-mode", async (c) => {
    const form = await formOf(c);
    const result = await c.get("api").send("PATCH", `/api/credits/teams/${seg(c.req.param("team_id"))}/budget-mode`, {
      budget_mode: form.budget_mode,
      ...(form.credits_per_dollar ? { credits_per_dollar: numberOrText(form.credits_per_dollar) } : {}),
      ...(form.tokens_per_credit ? { tokens_per_credit: numberOrText(form.tokens_per_credit) } : {}),
    });
    if (!result.ok) return teamPage(c, { error: result.detail }, result.status);
    return teamPage(c, { notice: `Budget mode is now ${form.budget_mode}` });
  });
  app.post("/teams/:team_id/rotate", async (c) => {
    const form = await formOf(c);
    const result = await c
      .get("api")
      .send<{ virtual_key: string; message: string }>("POST", `/api/teams/${seg(c.req.param("team_id"))}/keys/rotate`, {
        grace_seconds: numberOrText(form.grace_seconds) ?? 0,
      });
    if (!result.ok) return teamPage(c, { error: result.detail }, result.status);
    return teamPage(c, { notice: result.data.message }, 200, result.data.virtual_key);
  });
  app.post("/teams/:team_id/status", async (c) => {
    const action = (await formOf(c)).action;
    if (action !== "suspend" && action !== "pause" && action !== "resume") return teamPage(c, { error: "Unknown status action" }, 400);
    const result = await c.get("api").send<{ message: string }>("PUT", `/api/teams/${seg(c.req.param("team_id"))}/${action}`);
    if (!result.ok) return teamPage(c, { error: result.detail }, result.status);
    return teamPage(c, { notice: result.data.message });
  });
}
