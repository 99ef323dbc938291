import type { DashboardAnswer, OrganizationList } from "../api-types";
import { Facts } from "../components/facts";
import { FilterForm, Select } from "../components/fields";
import { renderPage } from "../components/layout";
import { type ConsoleApp, type ConsoleContext, queryOf } from "../context";

// The operator's figures (GET /api/stats/dashboard): organizations, teams by status, jobs today
// and this month, credits, tokens and client cost this month; for every organization or one.

const TEAM_STATUSES = ["active", "paused", "suspended"] as const;

async function dashboardPage(c: ConsoleContext) {
  const organization = c.req.query("organization_id") ?? "";
  const scoped = c.get("admin").organizationId !== null;
  const api = c.get("api");
  const [figures, orgs] = await Promise.all([
    api.get<DashboardAnswer>(`/api/stats/dashboard${queryOf({ organization_id: organization })}`),
    scoped ? null : api.get<OrganizationList>("/api/organizations?limit=200"),
  ]);
  const orgIds = orgs?.ok ? orgs.data.organizations.map((o) => o.organization_id) : [];
  const d = figures.ok ? figures.data : null;
  const byStatus = d
    ? [...TEAM_STATUSES, ...Object.keys(d.teams.by_status).filter((s) => !(TEAM_STATUSES as readonly string[]).includes(s))]
    : [];
  return renderPage(
    c,
    { title: "Dashboard", error: figures.ok ? null : figures.detail, status: figures.status },
    <>
      {scoped ? null : (
        <FilterForm action="/admin/dashboard">
          <Select label="Organization" name="organization_id" options={orgIds} value={organization} blank="All organizations" />
        </FilterForm>
      )}
      {d ? (
        <>
          <section aria-labelledby="this-month">
            <h2 id="this-month">
              {d.organization_id ? `Organization ${d.organization_id}` : "All organizations"}: {d.period} (today is {d.day}, UTC)
            </h2>
            <Facts
              label="This month"
              facts={[
                { label: "Jobs today", value: d.jobs_today },
                { label: "Jobs this month", value: d.jobs_this_month },
                { label: "Credits charged this month", value: d.credits_charged_this_month },
                { label: "Tokens this month", value: d.tokens_this_month },
                { label: "Client cost this month (USD)", value: d.client_cost_usd_this_month.toFixed(6) },
              ]}
            />
          </section>
          <section aria-labelledby="accounts">
            <h2 id="accounts">Organizations and teams</h2>
            <Facts
              label="Organizations and teams"
              facts={[
                { label: "Organizations", value: d.organizations },
                { label: "Teams", value: d.teams.total },
                ...byStatus.map((status) => ({
                  label: `Teams ${status}`,
                  value: d.teams.by_status[status] ?? 0,
                  class: `status-${status}`,
                })),
              ]}
            />
          </section>
          <p class="hint">From the usage totals in D1, a few seconds behind the teams' ledgers.</p>
        </>
      ) : null}
    </>,
  );
}

export function registerDashboardPage(app: ConsoleApp): void {
  app.get("/dashboard", (c) => dashboardPage(c));
}
