import { formAction } from "../actions";
import type { CreatedTeamAnswer, ModelGroupList, OrganizationList, TeamList } from "../api-types";
import { ActionForm } from "../components/action-form";
import { Field, FilterForm, formatTime, Select } from "../components/fields";
import { renderPage } from "../components/layout";
import { Table } from "../components/table";
import { type ConsoleApp, type ConsoleContext, offsetOf, queryOf } from "../context";
import { listOf, numberOrText } from "../forms";
import { teamPath } from "./team-nav";

// The teams (of one organization or all) and a new team, whose virtual key is shown once.

const PAGE = 50;

async function teamsPage(c: ConsoleContext) {
  const organization = c.req.query("organization_id") ?? "";
  const offset = offsetOf(c);
  const api = c.get("api");
  const [list, orgs, groups] = await Promise.all([
    api.get<TeamList>(`/api/teams${queryOf({ limit: PAGE, offset, organization_id: organization })}`),
    api.get<OrganizationList>("/api/organizations?limit=200"),
    api.get<ModelGroupList>("/api/model-groups?limit=200"),
  ]);
  const orgIds = orgs.ok ? orgs.data.organizations.map((o) => o.organization_id) : [];
  const groupNames = groups.ok ? groups.data.model_groups.map((g) => g.group_name).join(", ") : "";
  return renderPage(
    c,
    { title: "Teams", error: list.ok ? null : list.detail, status: list.status },
    <>
      <ActionForm action="/admin/teams" label="Create team" permission="teams.write" title="New team">
        <div class="fields">
          <Select label="Organization" name="organization_id" options={orgIds} value={organization} form="new" />
          <Field label="Team id" name="team_id" required />
          <Field label="Alias" name="team_alias" />
          <Field
            label="Model groups"
            name="model_groups"
            hint={groupNames ? `Separated by commas; existing: ${groupNames}` : "Separated by commas"}
          />
          <Field label="Opening credits" name="credits_allocated" type="number" min={0} value={0} />
        </div>
      </ActionForm>
      <FilterForm action="/admin/teams">
        <Select label="Organization" name="organization_id" options={orgIds} value={organization} blank="All organizations" form="filter" />
      </FilterForm>
      {list.ok ? (
        <Table
          caption="Teams"
          rows={list.data.teams}
          empty="No teams yet."
          columns={[
            {
              label: "Team",
              cell: (team) => (
                <a href={teamPath(team.team_id)}>{team.team_alias ? `${team.team_id} (${team.team_alias})` : team.team_id}</a>
              ),
            },
            { label: "Organization", cell: (team) => team.organization_id },
            { label: "Status", cell: (team) => <span class={`status-${team.status}`}>{team.status}</span> },
            { label: "Model groups", cell: (team) => team.model_groups.join(", ") },
            { label: "Key", cell: (team) => (team.key_prefix ? `${team.key_prefix}…` : "—") },
            { label: "Created", cell: (team) => formatTime(team.created_at) },
          ]}
          paging={{
            base: `/admin/teams${queryOf({ organization_id: organization })}`,
            offset,
            limit: PAGE,
            hasMore: list.data.has_more,
          }}
        />
      ) : null}
    </>,
  );
}

export function registerTeamsPage(app: ConsoleApp): void {
  app.get("/teams", (c) => teamsPage(c));
  formAction<CreatedTeamAnswer>(app, "/teams", {
    page: () => "/admin/teams",
    request: (form) => ({
      method: "POST",
      path: "/api/teams/create",
      body: {
        organization_id: form.organization_id,
        team_id: form.team_id,
        ...(form.team_alias ? { team_alias: form.team_alias } : {}),
        model_groups: listOf(form.model_groups),
        credits_allocated: numberOrText(form.credits_allocated) ?? 0,
      },
    }),
    done: (team) => ({
      notice: `Team '${team.team_id}' created`,
      secret: { label: `The virtual key of team '${team.team_id}'`, value: team.virtual_key },
      to: `/admin/teams${queryOf({ organization_id: team.organization_id })}`,
    }),
  });
}
