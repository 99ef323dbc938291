import { formAction } from "../actions";
import type { OrganizationAnswer, OrganizationList } from "../api-types";
import { ActionForm } from "../components/action-form";
import { Field, formatTime } from "../components/fields";
import { renderPage } from "../components/layout";
import { Table } from "../components/table";
import { type ConsoleApp, type ConsoleContext, offsetOf, queryOf, seg } from "../context";

// The organizations (list, create), each with links to its teams, its figures and its webhook.

const PAGE = 50;

async function organizationsPage(c: ConsoleContext) {
  const offset = offsetOf(c);
  const list = await c.get("api").get<OrganizationList>(`/api/organizations${queryOf({ limit: PAGE, offset })}`);
  return renderPage(
    c,
    { title: "Organizations", error: list.ok ? null : list.detail, status: list.status },
    <>
      <ActionForm action="/admin/organizations" label="Create organization" permission="organizations.create" title="New organization">
        <div class="fields">
          <Field label="Organization id" name="organization_id" required />
          <Field label="Name" name="name" required />
        </div>
      </ActionForm>
      {list.ok ? (
        <Table
          caption="Organizations"
          rows={list.data.organizations}
          empty="No organizations yet."
          columns={[
            { label: "Id", cell: (org) => org.organization_id },
            { label: "Name", cell: (org) => org.name },
            { label: "Status", cell: (org) => org.status },
            { label: "Created", cell: (org) => formatTime(org.created_at) },
            {
              label: "See",
              cell: (org) => (
                <span class="links">
                  <a
                    href={`/admin/teams${queryOf({ organization_id: org.organization_id })}`}
                    aria-label={`Teams of ${org.organization_id}`}
                  >
                    Teams
                  </a>
                  <a
                    href={`/admin/dashboard${queryOf({ organization_id: org.organization_id })}`}
                    aria-label={`Figures of ${org.organization_id}`}
                  >
                    Figures
                  </a>
                  <a href={`/admin/organizations/${seg(org.organization_id)}/webhook`} aria-label={`Webhook of ${org.organization_id}`}>
                    Webhook
                  </a>
                </span>
              ),
            },
          ]}
          paging={{ base: "/admin/organizations", offset, limit: PAGE, hasMore: list.data.has_more }}
        />
      ) : null}
    </>,
  );
}

export function registerOrganizationPages(app: ConsoleApp): void {
  app.get("/organizations", (c) => organizationsPage(c));
  formAction<OrganizationAnswer>(app, "/organizations", {
    page: () => "/admin/organizations",
    request: (form) => ({
      method: "POST",
      path: "/api/organizations/create",
      body: { organization_id: form.organization_id, name: form.name },
    }),
    done: (org) => ({ notice: `Organization '${org.organization_id}' created` }),
  });
}
