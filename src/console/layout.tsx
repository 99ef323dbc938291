import type { Child } from "hono/jsx";
import { permissionsOf } from "../security/admin-roles";
import type { AdminIdentity } from "./admin-identity";
import type { Session } from "./session";

export interface PageChrome {
  admin?: AdminIdentity;
  session?: Session;
}

export interface Flash {
  notice?: string | null;
  error?: string | null;
}

const NAV = [
  ["/admin/organizations", "Organizations"],
  ["/admin/teams", "Teams"],
  ["/admin/model-groups", "Model groups"],
  ["/admin/pricing", "Pricing"],
] as const;

/** The hidden field every console form carries: the session's CSRF token. */
export function CsrfField({ session }: { session?: Session }) {
  return <input type="hidden" name="_csrf" value={session?.csrf ?? ""} />;
}

export function FlashMessages({ notice, error }: Flash) {
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

export function Layout({ title, chrome, flash, children }: { title: string; chrome: PageChrome; flash?: Flash; children?: Child }) {
  return (
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
          {chrome.admin ? (
            <>
              <nav aria-label="Main">
                <ul>
                  {NAV.map(([href, label]) => (
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
                  signed in as {chrome.admin.name} ({chrome.admin.role}
                  {chrome.admin.organizationId ? `, organization ${chrome.admin.organizationId}` : ""})
                </span>
                <details class="may">
                  <summary>What this key may do</summary>
                  <ul>
                    {permissionsOf(chrome.admin).map((permission) => (
                      <li>{permission}</li>
                    ))}
                  </ul>
                </details>
                <form method="post" action="/admin/sign-out">
                  <CsrfField session={chrome.session} />
                  <button type="submit">Sign out</button>
                </form>
              </div>
            </>
          ) : null}
        </header>
        <main id="main">
          <h1>{title}</h1>
          <FlashMessages {...(flash ?? {})} />
          {children}
        </main>
      </body>
    </html>
  );
}

/** A labelled input. */
export function Field(props: {
  label: string;
  name: string;
  type?: string;
  value?: string | number | null;
  required?: boolean;
  placeholder?: string;
  min?: number;
  step?: string;
  hint?: string;
}) {
  const id = `f-${props.name}`;
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={props.type ?? "text"}
        value={props.value ?? undefined}
        required={props.required}
        placeholder={props.placeholder}
        min={props.min}
        step={props.step}
        aria-describedby={props.hint ? `${id}-hint` : undefined}
      />
      {props.hint ? (
        <small id={`${id}-hint`} class="hint">
          {props.hint}
        </small>
      ) : null}
    </div>
  );
}

export function Select(props: { label: string; name: string; options: readonly string[]; value?: string | null; blank?: string }) {
  const id = `f-${props.name}`;
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <select id={id} name={props.name}>
        {props.blank !== undefined ? <option value="">{props.blank}</option> : null}
        {props.options.map((option) => (
          <option value={option} selected={option === props.value}>
            {option}
          </option>
        ))}
      </select>
    </div>
  );
}

/** "Previous / next" links for a listing answered with has_more. */
export function Pager({ base, offset, limit, hasMore }: { base: string; offset: number; limit: number; hasMore: boolean }) {
  const join = base.includes("?") ? "&" : "?";
  return (
    <nav class="pager" aria-label="Pages">
      {offset > 0 ? <a href={`${base}${join}offset=${Math.max(0, offset - limit)}`}>Previous</a> : null}
      {hasMore ? <a href={`${base}${join}offset=${offset + limit}`}>Next</a> : null}
    </nav>
  );
}

export const formatTime = (iso: string | null) => (iso ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : "—");
