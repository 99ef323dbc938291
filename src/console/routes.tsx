import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { csrf } from "hono/csrf";
import { createMiddleware } from "hono/factory";
import { Repository } from "../db/repository";
import { resolveAdminKey } from "../http/middleware/admin-identity";
import { secretsEqual } from "../security/keys";
import { type ApiFetch, apiCaller } from "./api-client";
import { Field } from "./components/fields";
import { Layout, type PageRequest, renderPage } from "./components/layout";
import type { ConsoleEnv } from "./context";
import { takeFlash } from "./flash";
import { CSRF_FIELD, formOf } from "./forms";
import { registerAdminKeyPages } from "./pages/admin-keys";
import { registerAuditLogPage } from "./pages/audit-log";
import { registerCreditsPage } from "./pages/credits";
import { registerDashboardPage } from "./pages/dashboard";
import { registerJobPages } from "./pages/jobs";
import { registerLedgerPage } from "./pages/ledger";
import { registerModelGroupPages } from "./pages/model-groups";
import { registerOrganizationPages } from "./pages/organizations";
import { registerPricingPage } from "./pages/pricing";
import { registerTeamPage } from "./pages/team";
import { registerTeamsPage } from "./pages/teams";
import { registerUsagePage } from "./pages/usage";
import { registerWebhookPages } from "./pages/webhooks";
import { adminFromSession, newSession, SESSION_COOKIE, SESSION_SECONDS } from "./session";
import { CONSOLE_CSS } from "./style";

// The admin console at /admin: HTML rendered on the server with Hono JSX, no script at all.
// Sign-in turns the admin key into a signed session cookie; every form carries the session's
// CSRF token, and every page reads and acts through the /api routes (api-client.ts, actions.ts).

const COOKIE_PATH = "/admin";
const HOME = "/admin/dashboard";
const MAX_FORM_BYTES = 64 * 1024;

/** Headers for every console answer: never cached, never framed, no script runs. */
const hardened = createMiddleware<ConsoleEnv>(async (c, next) => {
  await next();
  c.header("Cache-Control", "no-store");
  c.header("X-Frame-Options", "DENY");
  c.header("Referrer-Policy", "same-origin");
  c.header("X-Content-Type-Options", "nosniff");
  c.header(
    "Content-Security-Policy",
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  );
});

function SignInPage({ error }: { error?: string }) {
  return (
    <Layout title="Sign in" request={{}} error={error}>
      <section>
        <form method="post" action="/admin/sign-in">
          <Field label="Admin key" name="admin_key" type="password" required hint="The gateway's ADMIN_API_KEY or a named admin key" />
          <p>
            <button type="submit">Sign in</button>
          </p>
        </form>
      </section>
    </Layout>
  );
}

function RefusedForm({ request }: { request: PageRequest }) {
  return (
    <Layout title="Form refused" request={request} error="The form's CSRF token is missing or wrong; reload the page and try again">
      <p>
        <a href={HOME}>Back to the console</a>
      </p>
    </Layout>
  );
}

export function consoleRoutes(apiFetch: ApiFetch): Hono<ConsoleEnv> {
  const console = new Hono<ConsoleEnv>();
  console.use("*", hardened);
  // Forms come from the console's own pages: same origin (Origin or Sec-Fetch-Site), small bodies.
  console.use("*", csrf());
  console.use("*", bodyLimit({ maxSize: MAX_FORM_BYTES, onError: (c) => c.text(`Form is larger than ${MAX_FORM_BYTES} bytes`, 413) }));

  console.get("/style.css", (c) => c.body(CONSOLE_CSS, 200, { "content-type": "text/css; charset=utf-8" }));

  console.get("/sign-in", async (c) => {
    if (await adminFromSession(c.env, new Repository(c.env.DB), getCookie(c, SESSION_COOKIE))) return c.redirect(HOME, 303);
    return c.html(<SignInPage />);
  });

  // A refused sign-in is answered with the form again (401): it changed nothing, so sending it again is harmless.
  console.post("/sign-in", async (c) => {
    if (!c.env.ADMIN_API_KEY) return c.html(<SignInPage error="The admin API is not configured on this deployment" />, 503);
    const key = (await formOf(c)).admin_key ?? "";
    const admin = key ? await resolveAdminKey(c.env, new Repository(c.env.DB), key, (work) => c.executionCtx.waitUntil(work)) : null;
    if (!admin) return c.html(<SignInPage error="Invalid admin key" />, 401);
    const { cookie } = await newSession(c.env, admin);
    setCookie(c, SESSION_COOKIE, cookie, {
      httpOnly: true,
      secure: true,
      sameSite: "Strict",
      path: COOKIE_PATH,
      maxAge: SESSION_SECONDS,
    });
    return c.redirect(HOME, 303);
  });

  // Everything below needs a session; a POST also needs the session's CSRF token.
  console.use("*", async (c, next) => {
    const signedIn = await adminFromSession(c.env, new Repository(c.env.DB), getCookie(c, SESSION_COOKIE));
    if (!signedIn) {
      if (c.req.method === "GET") return c.redirect("/admin/sign-in", 303);
      return c.html(<SignInPage error="Your session has ended; sign in again" />, 401);
    }
    if (c.req.method === "POST") {
      const token = (await formOf(c))[CSRF_FIELD] ?? "";
      if (!(await secretsEqual(token, signedIn.session.csrf))) return c.html(<RefusedForm request={signedIn} />, 403);
    }
    c.set("admin", signedIn.admin);
    c.set("session", signedIn.session);
    c.set("flash", c.req.method === "GET" ? await takeFlash(c, signedIn.session) : null);
    c.set("api", apiCaller(apiFetch, c.req.raw, c.env, c.executionCtx, signedIn.admin));
    await next();
  });

  console.post("/sign-out", (c) => {
    deleteCookie(c, SESSION_COOKIE, { path: COOKIE_PATH, secure: true, httpOnly: true, sameSite: "Strict" });
    return c.redirect("/admin/sign-in", 303);
  });

  console.get("/", (c) => c.redirect(HOME, 303));
  registerDashboardPage(console);
  registerOrganizationPages(console);
  registerTeamsPage(console);
  registerTeamPage(console);
  registerJobPages(console);
  registerCreditsPage(console);
  registerLedgerPage(console);
  registerUsagePage(console);
  registerWebhookPages(console);
  registerModelGroupPages(console);
  registerPricingPage(console);
  registerAdminKeyPages(console);
  registerAuditLogPage(console);
  console.all("*", (c) => renderPage(c, { title: "Not found", status: 404 }, <p>No such console page.</p>));
  return console;
}
