// The admin console (/admin): sign-in and its cookie, CSRF refusal, sign-out, forms answered with
// a redirect and applied once, and that pages act through the API (with the browser's address in
// the audit log) and never contain the admin key. test/admin-console-pages.test.ts covers the
// pages one by one; the browser suite (test/browser) drives it all in Chromium.
import { describe, expect, it } from "vitest";
import { ConsoleUser, errorOf, hiddenFields, noticeOf, request, secretOf } from "./console-user";
import { ADMIN_KEY, createTeam, json, uid } from "./helpers";

async function signIn(adminKey = ADMIN_KEY): Promise<{ cookie: string; setCookie: string }> {
  const res = await request("POST", "/admin/sign-in", { form: { admin_key: adminKey } });
  expect(res.status).toBe(303);
  expect(res.headers.get("location")).toBe("/admin/dashboard");
  const setCookie = res.headers.get("set-cookie") ?? "";
  return { cookie: setCookie.split(";")[0], setCookie };
}

const balanceOf = async (teamId: string) => (await json("GET", `/api/credits/teams/${teamId}/balance`, 200)).credits_remaining;

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
    const teams = await request("GET", "/admin/teams", { cookie });
    const html = await teams.text();
    expect(teams.status).toBe(200);
    expect(html).toContain("signed in as bootstrap (owner)");
    expect(html).not.toContain(ADMIN_KEY);
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

  it("signs out: the cookie is cleared", async () => {
    const user = await ConsoleUser.signIn();
    const teams = await user.open("/admin/teams");
    const res = await user.send("POST", "/admin/sign-out", { form: hiddenFields(teams.html, "/admin/sign-out") });
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

describe("admin console forms", () => {
  it("refuses a form without the session's CSRF token, or from another origin, and acts with it", async () => {
    const user = await ConsoleUser.signIn();
    const orgs = await user.open("/admin/organizations");
    const fields = hiddenFields(orgs.html, "/admin/organizations");
    expect(fields._csrf).not.toBe("");
    const orgId = uid("console-org");

    const missing = await user.send("POST", "/admin/organizations", { form: { organization_id: orgId, name: "Acme" } });
    expect(missing.status).toBe(403);
    expect(await missing.text()).toContain("CSRF token is missing or wrong");
    const wrong = await user.send("POST", "/admin/organizations", {
      form: { organization_id: orgId, name: "Acme", _csrf: `${fields._csrf}x` },
    });
    expect(wrong.status).toBe(403);
    const crossSite = await user.send("POST", "/admin/organizations", {
      origin: "https://evil.example",
      form: { ...fields, organization_id: orgId, name: "Acme" },
    });
    expect(crossSite.status).toBe(403);
    await json("GET", `/api/organizations/${orgId}`, 404);

    const created = await user.submit(orgs, "/admin/organizations", { organization_id: orgId, name: "Acme" });
    expect(created.answer.headers.get("location")).toBe("/admin/organizations");
    expect(noticeOf(created.next.html)).toBe(`Organization &#39;${orgId}&#39; created`);
    expect((await json("GET", `/api/organizations/${orgId}`, 200)).name).toBe("Acme");

    // The same rules as /api: a duplicate (a new form, so a new idempotency key) shows the API's own message.
    const duplicate = await user.submit(created.next, "/admin/organizations", { organization_id: orgId, name: "Acme again" });
    expect(errorOf(duplicate.next.html)).toContain("already exists");
  });

  it("answers a form with a redirect to its page, which shows the outcome once", async () => {
    const user = await ConsoleUser.signIn();
    const team = await createTeam({ credits: 5 });
    const teamPage = await user.open(`/admin/teams/${team.teamId}`);
    const { answer, next } = await user.submit(teamPage, `/admin/teams/${team.teamId}/credits`, { credits: "10" });
    expect(answer.headers.get("location")).toBe(`/admin/teams/${team.teamId}`);
    // The message rides in a sealed cookie: nothing readable in it, and the page shows it once.
    expect(answer.headers.get("set-cookie")).toMatch(
      /^gateway_console_flash=[^;]+; Max-Age=60; Path=\/admin; HttpOnly; Secure; SameSite=Strict/,
    );
    expect(answer.headers.get("set-cookie")).not.toContain("credits");
    expect(noticeOf(next.html)).toBe("10 credits added");
    expect(noticeOf((await user.open(`/admin/teams/${team.teamId}`)).html)).toBe("");
    expect(await balanceOf(team.teamId)).toBe(15);
  });

  it("applies the same form sent twice (a refresh, a double click) once", async () => {
    const user = await ConsoleUser.signIn();
    const team = await createTeam({ credits: 5 });
    const teamPage = await user.open(`/admin/teams/${team.teamId}`);
    const first = await user.submit(teamPage, `/admin/teams/${team.teamId}/credits`, { credits: "10" });
    const again = await user.submit(teamPage, `/admin/teams/${team.teamId}/credits`, { credits: "10" });
    expect(await balanceOf(team.teamId)).toBe(15);
    expect(noticeOf(first.next.html)).toBe("10 credits added");
    expect(noticeOf(again.next.html)).toBe("This form had already been sent; it was applied once. 10 credits added");
    // A form rendered afresh is a new request: it adds again.
    await user.submit(first.next, `/admin/teams/${team.teamId}/credits`, { credits: "10" });
    expect(await balanceOf(team.teamId)).toBe(25);
  });

  it("shows a refusal with the API's message, the form filled in again as typed", async () => {
    const user = await ConsoleUser.signIn();
    const team = await createTeam({ credits: 5 });
    const teamPage = await user.open(`/admin/teams/${team.teamId}`);
    const { next } = await user.submit(teamPage, `/admin/teams/${team.teamId}/credits`, { credits: "-1", reason: "oops" });
    expect(errorOf(next.html)).toBe("field &#39;credits&#39; must be a positive integer");
    expect(next.html).toMatch(/<input id="f-credits" name="credits" type="number" value="-1"/);
    expect(next.html).toMatch(/<input id="f-reason" name="reason" type="text" value="oops"/);
    expect(await balanceOf(team.teamId)).toBe(5);
  });

  it("shows a new team's key once, adds credits and suspends through the API", async () => {
    const user = await ConsoleUser.signIn();
    const orgId = uid("console-org");
    const teamId = uid("console-team");
    await json("POST", "/api/organizations/create", 200, { body: { organization_id: orgId, name: "Org" } });

    const teams = await user.open("/admin/teams");
    const created = await user.submit(teams, "/admin/teams", {
      organization_id: orgId,
      team_id: teamId,
      model_groups: "",
      credits_allocated: "5",
    });
    const key = secretOf(created.next.html);
    expect(key).toMatch(/^sk-[0-9a-f]{64}$/);
    expect((await json("GET", `/api/credits/teams/${teamId}/balance`, 200, { key })).credits_remaining).toBe(5);
    expect((await user.open(created.answer.headers.get("location") ?? "")).html).not.toContain(key);

    const teamPage = await user.open(`/admin/teams/${teamId}`);
    expect(teamPage.html).not.toContain(key);
    await user.submit(teamPage, `/admin/teams/${teamId}/credits`, { credits: "7" });
    expect(await balanceOf(teamId)).toBe(12);

    await user.submit(teamPage, `/admin/teams/${teamId}/suspend`);
    expect((await json("GET", `/api/teams/${teamId}`, 200)).status).toBe("suspended");
  });
});

describe("console writes in the audit log", () => {
  it("record the browser's address, as /api writes do", async () => {
    const user = await ConsoleUser.signIn();
    const team = await createTeam({ credits: 5 });
    const teamPage = await user.open(`/admin/teams/${team.teamId}`);
    await user.submit(teamPage, `/admin/teams/${team.teamId}/credits`, { credits: "3" }, { "cf-connecting-ip": "203.0.113.7" });
    const log = await json("GET", `/api/audit-log?action=credits.add&resource_id=${team.teamId}`, 200);
    expect(log.entries).toHaveLength(1);
    expect(log.entries[0]).toMatchObject({ actor_name: "bootstrap", status: 200, client_ip: "203.0.113.7" });
  });
});

describe("named admin keys in the console", () => {
  it("sign in, show who is signed in and what the role allows, and act with exactly that role", async () => {
    const name = uid("console-viewer");
    const viewer = await json("POST", "/api/admin-keys", 201, { body: { name, role: "viewer" } });
    const user = await ConsoleUser.signIn(viewer.admin_key);
    const teams = await user.open("/admin/teams");
    expect(teams.status).toBe(200);
    expect(teams.html).toContain(`signed in as ${name} (viewer)`);
    expect(teams.html).toContain("<li>teams.read</li>");
    expect(teams.html).not.toContain("<li>credits.write</li>");
    expect(teams.html).not.toContain(viewer.admin_key);

    const team = await createTeam({ credits: 3 });
    // A viewer's pages offer no form it may not send ...
    const teamPage = await user.open(`/admin/teams/${team.teamId}`);
    expect(teamPage.html).not.toContain(`action="/admin/teams/${team.teamId}/credits"`);
    expect(teamPage.html).not.toContain('<h2 id="actions">');
    expect(teams.html).not.toContain('method="post" action="/admin/teams"');
    // ... and the API refuses one sent anyway.
    const refused = await user.send("POST", `/admin/teams/${team.teamId}/credits`, {
      form: { ...hiddenFields(teams.html, "/admin/sign-out"), credits: "7" },
    });
    expect(refused.status).toBe(303);
    const after = await user.open(refused.headers.get("location") ?? "");
    expect(errorOf(after.html)).toBe("This admin key (role viewer) lacks the permission credits.write");
    expect(await balanceOf(team.teamId)).toBe(3);
  });

  it("a scoped key sees only its organization; revoking a key ends its sessions at once", async () => {
    const own = uid("console-own");
    const other = uid("console-other");
    for (const id of [own, other]) await json("POST", "/api/organizations/create", 200, { body: { organization_id: id, name: id } });
    const scoped = await json("POST", "/api/admin-keys", 201, { body: { name: uid("scoped"), role: "admin", organization_id: own } });
    const user = await ConsoleUser.signIn(scoped.admin_key);
    const orgs = await user.open("/admin/organizations");
    expect(orgs.status).toBe(200);
    expect(orgs.html).toContain(own);
    expect(orgs.html).not.toContain(other);

    await json("DELETE", `/api/admin-keys/${scoped.key_id}`, 200);
    const after = await user.send("GET", "/admin/teams");
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
