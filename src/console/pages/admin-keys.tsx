import { ROLES } from "../../security/admin-roles";
import { formAction } from "../actions";
import type { AdminKeyList, CreatedAdminKeyAnswer, OrganizationList } from "../api-types";
import { ActionForm } from "../components/action-form";
import { Field, formatTime, Select } from "../components/fields";
import { renderPage } from "../components/layout";
import { Table } from "../components/table";
import { type ConsoleApp, type ConsoleContext, offsetOf, queryOf, seg } from "../context";

// Named admin keys (owner only): the list (never a key), a new key with a role and an optional
// organization (shown once), and revocation, which ends the key's sessions at once.

const PAGE = 50;

async function adminKeysPage(c: ConsoleContext) {
  const offset = offsetOf(c);
  const api = c.get("api");
  const [list, orgs] = await Promise.all([
    api.get<AdminKeyList>(`/api/admin-keys${queryOf({ limit: PAGE, offset })}`),
    api.get<OrganizationList>("/api/organizations?limit=200"),
  ]);
  const orgIds = orgs.ok ? orgs.data.organizations.map((o) => o.organization_id) : [];
  return renderPage(
    c,
    { title: "Admin keys", error: list.ok ? null : list.detail, status: list.status },
    <>
      <ActionForm action="/admin/admin-keys" label="Create admin key" permission="admin_keys.manage" title="New admin key">
        <div class="fields">
          <Field label="Name" name="name" required hint="Who or what uses it" />
          <Select label="Role" name="role" options={ROLES} value="viewer" />
          <Select label="Organization" name="organization_id" options={orgIds} blank="Every organization" />
        </div>
      </ActionForm>
      {list.ok ? (
        <Table
          caption="Admin keys, newest first"
          rows={list.data.admin_keys}
          empty="No named admin keys yet: only ADMIN_API_KEY signs in."
          columns={[
            { label: "Name", cell: (key) => key.name },
            { label: "Role", cell: (key) => key.role },
            { label: "Organization", cell: (key) => key.organization_id ?? "every organization" },
            { label: "Key", cell: (key) => `${key.key_prefix}…` },
            { label: "Created", cell: (key) => formatTime(key.created_at) },
            { label: "Last used", cell: (key) => formatTime(key.last_used_at) },
            {
              label: "Status",
              cell: (key) =>
                key.revoked_at ? (
                  <span class="status-suspended">revoked {formatTime(key.revoked_at)}</span>
                ) : (
                  <ActionForm
                    action={`/admin/admin-keys/${seg(key.key_id)}/revoke`}
                    label="Revoke"
                    permission="admin_keys.manage"
                    danger
                    buttonName={`Revoke the key ${key.name}`}
                  />
                ),
            },
          ]}
          paging={{ base: "/admin/admin-keys", offset, limit: PAGE, hasMore: list.data.has_more }}
        />
      ) : null}
    </>,
  );
}

export function registerAdminKeyPages(app: ConsoleApp): void {
  app.get("/admin-keys", (c) => adminKeysPage(c));
  formAction<CreatedAdminKeyAnswer>(app, "/admin-keys", {
    page: () => "/admin/admin-keys",
    request: (form) => ({
      method: "POST",
      path: "/api/admin-keys",
      body: { name: form.name, role: form.role, organization_id: form.organization_id || null },
    }),
    done: (key) => ({
      notice: `Admin key '${key.name}' created (${key.role}${key.organization_id ? `, organization ${key.organization_id}` : ""})`,
      secret: { label: `The admin key '${key.name}'`, value: key.admin_key },
    }),
  });
  formAction<unknown>(app, "/admin-keys/:key_id/revoke", {
    page: () => "/admin/admin-keys",
    request: (_form, c) => ({ method: "DELETE", path: `/api/admin-keys/${seg(c.req.param("key_id") ?? "")}` }),
    done: () => ({ notice: "Admin key revoked: it is refused from now on" }),
  });
}
