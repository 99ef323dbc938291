// The admin console (/admin): sign-in and its cookie, CSRF refusal, sign-out, and that pages act
// through the API and never contain the admin key. The browser suite (test/browser) drives it in Chromium.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN_KEY, json, uid } from "./helpers";

const ORIGIN = "http://gateway.test";

function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

async function request(
  method: string,
  path: string,
  options: { cookie?: string; form?: Record<string, string>; origin?: string | null } = {},
) {
  const headers: Record<string, string> = {};
  if (options.cookie) headers.cookie = options.cookie;
  if (options.origin !== null) headers.origin = options.origin ?? ORIGIN;
  let body: string | undefined;
  if (options.form) {
    headers["content-type"] = "application/x-www-form-urlencoded";
    body = form(options.form);
  }
  return exports.default.fetch(new Request(`${ORIGIN}${path}`, { method, headers, body, redirect: "manual" }));
}

async function signIn(adminKey = ADMIN_KEY): Promise<{ cookie: string; setCookie: string }> {
  const res = await request("POST", "/admin/sign-in", { form: { admin_key: adminKey } });
  expect(res.status).toBe(303);
  expect(res.headers.get("location")).toBe("/admin/teams");
  const setCookie = res.headers.get("set-cookie") ?? "";
  return { cookie: setCookie.split(";")[0], setCookie };
}

async function page(path: string, cookie: string): Promise<{ status: number; html: string; csrf: string }> {
  const res = await request("GET", path, { cookie });
  const html = await res.text();
  return { status: res.status, html, csrf: /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? "" };
}

describe("admin console sign-in", () => {
  it("sends a signed-out visitor to the sign-in page", async () => {
    const res = await request("GET", "/admin/teams");
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/admin/sign-in");
    const signInPage = await request("GET", "/admin/sign-in");
    const html = await signInPage.text();
    expect(html).toContain('<label for="f-admin_key">Admin key</label>');
    expect(html).toContain('type="password"');
  });

  it("refuses a wrong admin key with 401 and sets no cookie", async () => {
    const res = await request("POST", "/admin/sign-in", { form: { admin_key: `${ADMIN_KEY}x` } });
    expect(res.status).toBe(401);
    expect(await res.text()).toContain("Invalid admin key");
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("turns the admin key into an HttpOnly, Secure, SameSite=Strict session cookie that holds no key", async () => {
    const { cookie, setCookie } = await signIn();
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/Secure/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Path=\/admin/);
    expect(setCookie).toMatch(/Max-Age=28800/);
    expect(setCookie).not.toContain(ADMIN_KEY);
    const payload = cookie.split("=")[1].split(".")[0];
    expect(atob(payload.replaceAll("-", "+").replaceAll("_", "/"))).not.toContain(ADMIN_KEY);
    const teams = await page("/admin/teams", cookie);
    expect(teams.status).toBe(200);
    expect(teams.html).toContain("signed in as bootstrap (owner)");
    expect(teams.html).not.toContain(ADMIN_KEY);
  });

  it("refuses a cookie whose content was changed", async () => {
    const { cookie } = await signIn();
    const [name, value] = cookie.split("=");
    const [payload, signature] = value.split(".");
    const forged = JSON.stringify({ keyId: "bootstrap", expires: 4102444800, csrf: "x" });
    const forgedPayload = btoa(forged).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
    expect(forgedPayload).not.toBe(payload);
    const res = await request("GET", "/admin/teams", { cookie: `${name}=${forgedPayload}.${signature}` });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/admin/sign-in");
  });
});

describe("admin console forms", () => {
  it("refuses a form without the session's CSRF token, or from another origin, and acts with it", async () => {
    const { cookie } = await signIn();
    const { csrf } = await page("/admin/organizations", cookie);
    expect(csrf).not.toBe("");
    const orgId = uid("console-org");

    const missing = await request("POST", "/admin/organizations", { cookie, form: { organization_id: orgId, name: "Acme" } });
    expect(missing.status).toBe(403);
    expect(await missing.text()).toContain("CSRF token is missing or wrong");
    const wrong = await request("POST", "/admin/organizations", {
      cookie,
      form: { organization_id: orgId, name: "Acme", _csrf: `${csrf}x` },
    });
    expect(wrong.status).toBe(403);
    const crossSite = await request("POST", "/admin/organizations", {
      cookie,
      origin: "https://evil.example",
      form: { organization_id: orgId, name: "Acme", _csrf: csrf },
    });
    expect(crossSite.status).toBe(403);
    await json("GET", `/api/organizations/${orgId}`, 404);

    const created = await request("POST", "/admin/organizations", { cookie, form: { organization_id: orgId, name: "Acme", _csrf: csrf } });
    expect(created.status).toBe(200);
    expect(await created.text()).toContain(`Organization &#39;${orgId}&#39; created`);
    expect((await json("GET", `/api/organizations/${orgId}`, 200)).name).toBe("Acme");

    // The same rules as /api: a duplicate shows the API's own message, with its status.
    const duplicate = await request("POST", "/admin/organizations", {
      cookie,
      form: { organization_id: orgId, name: "Acme", _csrf: csrf },
    });
    expect(duplicate.status).toBe(400);
    expect(await duplicate.text()).toContain("already exists");
  });

  it("shows a new team's key once, adds credits and suspends through the API", async () => {
    const { cookie } = await signIn();
    const { csrf } = await page("/admin/teams", cookie);
    const orgId = uid("console-org");
    const teamId = uid("console-team");
    await json("POST", "/api/organizations/create", 200, { body: { organization_id: orgId, name: "Org" } });

    const created = await request("POST", "/admin/teams", {
      cookie,
      form: { _csrf: csrf, organization_id: orgId, team_id: teamId, model_groups: "", credits_allocated: "5" },
    });
    const html = await created.text();
    expect(created.status).toBe(200);
    const key = /data-new-key="">\s*(sk-[0-9a-f]{64})/.exec(html)?.[1] ?? /(sk-[0-9a-f]{64})/.exec(html)?.[1];
    expect(key).toBeDefined();
    expect((await json("GET", `/api/credits/teams/${teamId}/balance`, 200, { key })).credits_remaining).toBe(5);
    const teamPage = await page(`/admin/teams/${teamId}`, cookie);
    expect(teamPage.html).not.toContain(key!);

    const added = await request("POST", `/admin/teams/${teamId}/credits`, { cookie, form: { _csrf: csrf, credits: "7" } });
    expect(added.status).toBe(200);
    expect((await json("GET", `/api/credits/teams/${teamId}/balance`, 200)).credits_remaining).toBe(12);
    const refused = await request("POST", `/admin/teams/${teamId}/credits`, { cookie, form: { _csrf: csrf, credits: "-1" } });
    const refusedHtml = await refused.text();
    expect(refused.status).toBe(422);
    expect(refusedHtml).toContain("field &#39;credits&#39; must be a positive integer");

    const suspended = await request("POST", `/admin/teams/${teamId}/status`, { cookie, form: { _csrf: csrf, action: "suspend" } });
    expect(suspended.status).toBe(200);
    expect((await json("GET", `/api/teams/${teamId}`, 200)).status).toBe("suspended");
  });

  it("signs out: the cookie is cleared", async () => {
    const { cookie } = await signIn();
    const { csrf } = await page("/admin/teams", cookie);
    const res = await request("POST", "/admin/sign-out", { cookie, form: { _csrf: csrf } });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/admin/sign-in");
    expect(res.headers.get("set-cookie")).toMatch(/Max-Age=0/);
  });

  it("does not let an outside request act as the console's admin", async () => {
    // Only requests the console makes in process are trusted; the same path from outside needs a key.
    const res = await request("GET", "/api/teams");
    expect(res.status).toBe(401);
  });
});

describe("named admin keys in the console", () => {
  it("sign in, show who is signed in and what the role allows, and act with exactly that role", async () => {
    const name = uid("console-viewer");
    const viewer = await json("POST", "/api/admin-keys", 201, { body: { name, role: "viewer" } });
    const { cookie } = await signIn(viewer.admin_key);
    const teams = await page("/admin/teams", cookie);
    expect(teams.status).toBe(200);
    expect(teams.html).toContain(`signed in as ${name} (viewer)`);
    expect(teams.html).toContain("<li>teams.read</li>");
    expect(teams.html).not.toContain("<li>credits.write</li>");
    expect(teams.html).not.toContain(viewer.admin_key);

    const orgId = uid("console-org");
    await json("POST", "/api/organizations/create", 200, { body: { organization_id: orgId, name: "Org" } });
    const team = await json("POST", "/api/teams/create", 200, {
      body: { organization_id: orgId, team_id: uid("t"), credits_allocated: 3 },
    });
    const refused = await request("POST", `/admin/teams/${team.team_id}/credits`, { cookie, form: { _csrf: teams.csrf, credits: "7" } });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain("This admin key (role viewer) lacks the permission credits.write");
    expect((await json("GET", `/api/credits/teams/${team.team_id}/balance`, 200)).credits_remaining).toBe(3);
  });

  it("a scoped key sees only its organization; revoking a key ends its sessions at once", async () => {
    const own = uid("console-own");
    const other = uid("console-other");
    for (const id of [own, other]) await json("POST", "/api/organizations/create", 200, { body: { organization_id: id, name: id } });
    const scoped = await json("POST", "/api/admin-keys", 201, { body: { name: uid("scoped"), role: "admin", organization_id: own } });
    const { cookie } = await signIn(scoped.admin_key);
    const orgs = await page("/admin/organizations", cookie);
    expect(orgs.status).toBe(200);
    expect(orgs.html).toContain(own);
    expect(orgs.html).not.toContain(other);

    await json("DELETE", `/api/admin-keys/${scoped.key_id}`, 200);
    const after = await request("GET", "/admin/teams", { cookie });
    expect(after.status).toBe(303);
    expect(after.headers.get("location")).toBe("/admin/sign-in");
    const signInAgain = await request("POST", "/admin/sign-in", { form: { admin_key: scoped.admin_key } });
    expect(signInAgain.status).toBe(401);
  });
});

describe("/docs", () => {
  it("serves Swagger UI from the Worker itself, with no CDN", async () => {
    const res = await request("GET", "/docs");
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('src="/docs/assets/swagger-ui-bundle.js"');
    expect(html).toContain('url: "/openapi.json"');
    expect(html).not.toMatch(/https?:\/\//);
    const css = await request("GET", "/docs/assets/swagger-ui.css");
    expect(css.status).toBe(200);
    expect(css.headers.get("content-type")).toContain("text/css");
    expect((await css.text()).length).toBeGreaterThan(10_000);
    const script = await request("GET", "/docs/assets/swagger-ui-bundle.js");
    expect(script.status).toBe(200);
    expect(await script.text()).toContain("SwaggerUIBundle");
    // Only the files the page uses; nothing else of the package.
    expect((await request("GET", "/docs/assets/package.json")).status).toBe(404);
    expect((await request("GET", "/index.html")).status).toBe(404);
  });
});
