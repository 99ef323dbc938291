import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { csrf } from "hono/csrf";
import { createMiddleware } from "hono/factory";
import { Repository } from "../db/repository";
import { resolveAdminKey } from "../http/middleware/admin-identity";
import { secretsEqual } from "../security/keys";
import { type ApiFetch, apiCaller } from "./api-client";
import type { ConsoleEnv } from "./context";
import { formOf } from "./forms";
import { Field, Layout } from "./layout";
import { registerActivityPages } from "./pages/activity";
import { registerResourcePages } from "./pages/resources";
import { registerTeamPages } from "./pages/teams";
import { registerUsagePage } from "./pages/usage";
import { adminFromSession, newSession, SESSION_COOKIE, SESSION_SECONDS } from "./session";
import { CONSOLE_CSS } from "./style";

// The admin console at /admin: HTML rendered on the server with Hono JSX, no script at all.
// Sign-in turns the admin key into a signed session cookie; every form carries the session's
// CSRF token, and every page reads and acts through the /api routes (api-client.ts).

const COOKIE_PATH = "/admin";
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
    <Layout title="Sign in" chrome={{}} flash={{ error }}>
      <section>
        <form method="post" action="/admin/sign-in">
          <Field label="Admin key" name="admin_key" type="password" required hint="The gateway's ADMIN_API_KEY" />
          <p>
            <button type="submit">Sign in</button>
          </p>
        </form>
      </section>
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
    if (await adminFromSession(c.env, new Repository(c.env.DB), getCookie(c, SESSION_COOKIE))) return c.redirect("/admin/teams", 303);
    return c.html(<SignInPage />);
  });

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
    return c.redirect("/admin/teams", 303);
  });

  // Everything below needs a session; a POST also needs the session's CSRF token.
  console.use("*", async (c, next) => {
    const signedIn = await adminFromSession(c.env, new Repository(c.env.DB), getCookie(c, SESSION_COOKIE));
    if (!signedIn) {
      if (c.req.method === "GET") return c.redirect("/admin/sign-in", 303);
      return c.html(<SignInPage error="Your session has ended; sign in again" />, 401);
    }
    if (c.req.method === "POST") {
      const token = (await formOf(c))._csrf ?? "";
      if (!(await secretsEqual(token, signedIn.session.csrf))) {
        return c.html(
          <Layout
            title="Form refused"
            chrome={signedIn}
            flash={{ error: "The form's CSRF token is missing or wrong; reload the page and try again" }}
          >
            <p>
              <a href="/admin/teams">Back to the console</a>
            </p>
          </Layout>,
          403,
        );
      }
    }
    c.set("admin", signedIn.admin);
    c.set("session", signedIn.session);
    c.set("api", apiCaller(apiFetch, new URL(c.req.url).origin, c.env, c.executionCtx, signedIn.admin));
    await next();
  });

  console.post("/sign-out", (c) => {
    deleteCookie(c, SESSION_COOKIE, { path: COOKIE_PATH, secure: true, httpOnly: true, sameSite: "Strict" });
    return c.redirect("/admin/sign-in", 303);
  });

  console.get("/", (c) => c.redirect("/admin/teams", 303));
  registerResourcePages(console);
  registerTeamPages(console);
  registerActivityPages(console);
  registerUsagePage(console);
  console.all("*", (c) =>
    c.html(
      <Layout title="Not found" chrome={{ admin: c.get("admin"), session: c.get("session") }}>
        <p>No such console page.</p>
      </Layout>,
      404,
    ),
  );
  return console;
}
