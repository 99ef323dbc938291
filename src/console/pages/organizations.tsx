import { JURISDICTIONS, LOCATION_HINTS } from "../../schemas/organizations";
import { formAction } from "../actions";
import type { OrganizationAnswer, OrganizationList } from "../api-types";
import { ActionForm } from "../components/action-form";
import { Field, formatTime, Select } from "../components/fields";
import { renderPage } from "../components/layout";
import { Table } from "../components/table";
import { type ConsoleApp, type ConsoleContext, offsetOf, queryOf, seg } from "../context";

// The organizations (list, create, change where their new teams are placed), each with links to
// its teams, its figures and its webhook.

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
          <PlacementFields form="create" />
        </div>
      </ActionForm>
      <ActionForm
        action="/admin/organizations/placement"
        label="Change placement"
        permission="organizations.create"
        title="Where an organization's new teams are placed (its existing teams stay where they are)"
      >
        <div class="fields">
          <Field label="Organization to place" name="organization_id" required form="placement" />
          <PlacementFields form="placement" />
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
            { label: "Placement", cell: (org) => placementText(org.placement) },
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

/** The location hint and jurisdiction a form sets (blank: none). */
function PlacementFields({ form }: { form: string }) {
  return (
    <>
      <Select label="Location hint" name="location_hint" options={LOCATION_HINTS} blank="none" form={form} />
      <Select label="Jurisdiction" name="jurisdiction" options={JURISDICTIONS} blank="none" form={form} />
    </>
  );
}

/** A placement in words: "eu, near weur", "near enam", or "anywhere". */
export function placementText(placement: OrganizationAnswer["placement"]): string {
  const near = placement.location_hint ? `near ${placement.location_hint}` : null;
  return [placement.jurisdiction, near].filter(Boolean).join(", ") || "anywhere";
}

const placementOf = (form: Record<string, string>) => ({
  location_hint: form.location_hint || null,
  jurisdiction: form.jurisdiction || null,
});

export function registerOrganizationPages(app: ConsoleApp): void {
  app.get("/organizations", (c) => organizationsPage(c));
  formAction<OrganizationAnswer>(app, "/organizations", {
    page: () => "/admin/organizations",
    request: (form) => ({
      method: "POST",
      path: "/api/organizations/create",
      body: { organization_id: form.organization_id, name: form.name, placement: placementOf(form) },
    }),
    done: (org) => ({ notice: `Organization '${org.organization_id}' created` }),
  });
  formAction<OrganizationAnswer>(app, "/organizations/placement", {
    page: () => "/admin/organizations",
    request: (form) => ({
      method: "PATCH",
      path: `/api/organizations/${seg(form.organization_id ?? "")}`,
      body: { placement: placementOf(form) },
    }),
    done: (org) => ({ notice: `Teams created in '${org.organization_id}' from now on are placed ${placementText(org.placement)}` }),
  });
}
