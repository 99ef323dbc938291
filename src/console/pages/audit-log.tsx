import { AUDITED_ACTIONS } from "../../http/middleware/audit";
import type { AuditList, OrganizationList } from "../api-types";
import { Field, FilterForm, formatTime, Select } from "../components/fields";
import { renderPage } from "../components/layout";
import { Table } from "../components/table";
import { type ConsoleApp, type ConsoleContext, offsetOf, queryOf } from "../context";
import { csvDownload } from "../downloads";
import { utcDateTime } from "../forms";

// The audit log: every admin write, allowed or refused, newest first, filtered as the API
// filters it, and the same selection as a CSV download (streamed from the API as it is).

const PAGE = 50;
const ACTIONS = Object.keys(AUDITED_ACTIONS).sort();
const FILTERS = ["actor", "action", "resource_id", "organization_id", "since", "until"] as const;
type Filters = Record<(typeof FILTERS)[number], string>;

function filtersOf(c: ConsoleContext): Filters {
  return Object.fromEntries(FILTERS.map((name) => [name, c.req.query(name) ?? ""])) as Filters;
}

/** The API's query for these filters. */
const apiFilters = (f: Filters) => ({ ...f, since: utcDateTime(f.since), until: utcDateTime(f.until) });

async function auditLogPage(c: ConsoleContext) {
  const filters = filtersOf(c);
  const offset = offsetOf(c);
  const scoped = c.get("admin").organizationId !== null;
  const api = c.get("api");
  const [list, orgs] = await Promise.all([
    api.get<AuditList>(`/api/audit-log${queryOf({ limit: PAGE, offset, ...apiFilters(filters) })}`),
    scoped ? null : api.get<OrganizationList>("/api/organizations?limit=200"),
  ]);
  const orgIds = orgs?.ok ? orgs.data.organizations.map((o) => o.organization_id) : [];
  return renderPage(
    c,
    { title: "Audit log", error: list.ok ? null : list.detail, status: list.status },
    <>
      <FilterForm action="/admin/audit-log">
        <Field label="Actor (key id or name)" name="actor" value={filters.actor} />
        <Select label="Action" name="action" options={ACTIONS} value={filters.action} blank="Any action" />
        <Field label="Resource id" name="resource_id" value={filters.resource_id} />
        {scoped ? null : (
          <Select label="Organization" name="organization_id" options={orgIds} value={filters.organization_id} blank="Any organization" />
        )}
        <Field label="Since (UTC)" name="since" type="datetime-local" value={filters.since} />
        <Field label="Until (UTC)" name="until" type="datetime-local" value={filters.until} />
      </FilterForm>
      <p>
        <a href={`/admin/audit-log.csv${queryOf(filters)}`} download="audit-log.csv">
          Download these rows as CSV
        </a>{" "}
        <span class="hint">(every matching row, not only this page)</span>
      </p>
      {list.ok ? (
        <Table
          caption="Admin writes, newest first"
          rows={list.data.entries}
          empty="No audit rows match."
          columns={[
            { label: "When", cell: (row) => formatTime(row.at) },
            { label: "Actor", cell: (row) => `${row.actor_name}${row.actor_role ? ` (${row.actor_role})` : ""}` },
            { label: "Action", cell: (row) => row.action },
            { label: "Resource", cell: (row) => `${row.resource_type} ${row.resource_id ?? ""}` },
            { label: "Organization", cell: (row) => row.organization_id ?? "—" },
            { label: "Status", numeric: true, cell: (row) => row.status ?? "unknown" },
            { label: "Client IP", cell: (row) => row.client_ip ?? "—" },
            { label: "Change", cell: (row) => <code class="summary">{JSON.stringify(row.summary)}</code> },
          ]}
          paging={{ base: `/admin/audit-log${queryOf(filters)}`, offset, limit: PAGE, hasMore: list.data.has_more }}
        />
      ) : null}
    </>,
  );
}

/** The CSV of the selection: the API's own answer, streamed through. */
function auditLogCsv(c: ConsoleContext) {
  const filters = filtersOf(c);
  const api = `/api/audit-log${queryOf({ format: "csv", ...apiFilters(filters) })}`;
  return csvDownload(c, api, `/admin/audit-log${queryOf(filters)}`, "audit-log.csv");
}

export function registerAuditLogPage(app: ConsoleApp): void {
  app.get("/audit-log", (c) => auditLogPage(c));
  app.get("/audit-log.csv", (c) => auditLogCsv(c));
}
