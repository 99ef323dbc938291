import type { Child } from "hono/jsx";
import { createContext, useContext } from "hono/jsx";
import { can, type Permission, permissionsOf } from "../../security/admin-roles";
import type { AdminIdentity } from "../admin-identity";
import { asStatus, type ConsoleContext } from "../context";
import type { Flash } from "../flash";
import { CSRF_FIELD } from "../forms";
import type { Session } from "../session";

// The page chrome (head, header with the navigation and who is signed in, the flash messages)
// and renderPage, which every console page answers with.

export interface PageRequest {
  admin?: AdminIdentity;
  session?: Session;
  flash?: Flash | null;
}

/** The request a page is rendered for, read by the components inside it (forms, fields). */
export const PageRequestContext = createContext<PageRequest>({});
export const usePageRequest = () => useContext(PageRequestContext);

const NAV: [href: string, label: string, permission: Permission][] = [
  ["/admin/dashboard", "Dashboard", "organizations.read"],
  ["/admin/organizations", "Organizations", "organizations.read"],
  ["/admin/teams", "Teams", "teams.read"],
  ["/admin/model-groups", "Model groups", "model_groups.read"],
  ["/admin/pricing", "Pricing", "pricing.read"],
  ["/admin/admin-keys", "Admin keys", "admin_keys.manage"],
  ["/admin/audit-log", "Audit log", "audit.read"],
];

/** The hidden field every console form carries: the session's CSRF token. */
export function CsrfField() {
  return <input type="hidden" name={CSRF_FIELD} value={usePageRequest().session?.csrf ?? ""} />;
}

function FlashMessages({ notice, error }: { notice?: string | null; error?: string | null }) {
  return (
    <>
      {notice ? (
        <p class="notice" role="status">
          {notice}
        </p>
      ) : null}
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : null}
    </>
  );
}

function NewSecret({ label, value }: { label: string; value: string }) {
  return (
    <section aria-labelledby="new-secret" class="card">
      <h2 id="new-secret">{label}: copy it now, it is shown once</h2>
      <p class="secret" data-new-secret>
        {value}
      </p>
    </section>
  );
}

function Header({ admin }: { admin: AdminIdentity }) {
  return (
    <>
      <nav aria-label="Main">
        <ul>
          {NAV.filter(([, , permission]) => can(admin, permission)).map(([href, label]) => (
            <li>
              <a href={href}>{label}</a>
            </li>
          ))}
          <li>
            <a href="/docs">API docs</a>
          </li>
        </ul>
      </nav>
      <div class="who">
        <span>
          signed in as {admin.name} ({admin.role}
          {admin.organizationId ? `, organization ${admin.organizationId}` : ""})
        </span>
        <details class="may">
          <summary>What this key may do</summary>
          <ul>
            {permissionsOf(admin).map((permission) => (
              <li>{permission}</li>
            ))}
          </ul>
        </details>
        <form method="post" action="/admin/sign-out">
          <CsrfField />
          <button type="submit">Sign out</button>
        </form>
      </div>
    </>
  );
}

export function Layout({
  title,
  request,
  error,
  children,
}: {
  title: string;
  request: PageRequest;
  error?: string | null;
  children?: Child;
}) {
  const flash = request.flash;
  return (
    <PageRequestContext.Provider value={request}>
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>{`${title} · Gateway console`}</title>
          <link rel="stylesheet" href="/admin/style.css" />
        </head>
        <body>
          <a class="skip" href="#main">
            Skip to content
          </a>
          <header class="top">
            <span class="brand">Gateway console</span>
            {request.admin ? <Header admin={request.admin} /> : null}
          </header>
          <main id="main">
            <h1>{title}</h1>
            <FlashMessages notice={flash?.notice} error={flash?.error ?? error} />
            {flash?.secret ? <NewSecret {...flash.secret} /> : null}
            {children}
          </main>
        </body>
      </html>
    </PageRequestContext.Provider>
  );
}

/** A console page for this request: its chrome, the flash left by a form, and `error` when the page's own read failed. */
export function renderPage(
  c: ConsoleContext,
  page: { title: string; error?: string | null; status?: number },
  content?: Child,
): Response | Promise<Response> {
  const request: PageRequest = { admin: c.get("admin"), session: c.get("session"), flash: c.get("flash") };
  return c.html(
    <Layout title={page.title} request={request} error={page.error}>
      {content}
    </Layout>,
    asStatus(page.status ?? 200),
  );
}
