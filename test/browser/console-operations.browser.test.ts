// The operator's pages in Chromium against `npm start`: the dashboard's figures, admin keys
// (created and shown once, signed in with, revoked), the audit log (filters, the CSV download)
// and webhooks (a team's and an organization's: set, rotate the secret, deliveries, remove).
// Screenshots go to test/browser/screenshots/ like the rest of the suite.
import { readFileSync } from "node:fs";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WEBHOOK_EVENTS } from "../../src/webhooks/events";
import {
  api,
  type ConsoleBrowser,
  closeConsoleBrowser,
  dumpOnFailure,
  error,
  expectNothingFromOutside,
  fact,
  LOCAL_ADMIN_KEY,
  newSecret,
  notice,
  openConsoleBrowser,
  shoot,
  signIn,
  submit,
} from "./console-browser";

let b: ConsoleBrowser;
let page: Page;
const ORG = "globex";
const TEAM = "team-ops";
const call = (method: string, path: string, body?: unknown, key = LOCAL_ADMIN_KEY) => api(b.gateway, method, path, key, body);

beforeAll(async () => {
  b = await openConsoleBrowser();
  page = b.page;
  expect((await call("POST", "/api/organizations/create", { organization_id: ORG, name: "Globex" })).status).toBe(200);
  expect((await call("POST", "/api/model-groups/create", { group_name: "fast", models: [{ model_name: "gpt-4o-mini" }] })).status).toBe(
    200,
  );
  const team = await call("POST", "/api/teams/create", {
    organization_id: ORG,
    team_id: TEAM,
    model_groups: ["fast"],
    credits_allocated: 40,
  });
  expect(team.status).toBe(200);
  const done = await call(
    "POST",
    "/api/jobs/create-and-call",
    { team_id: TEAM, job_type: "triage", model_group: "fast", messages: [{ role: "user", content: "hi" }] },
    team.json.virtual_key,
  );
  expect(done.status).toBe(200);
});

afterAll(() => closeConsoleBrowser(b));

describe("the operator's pages in Chromium", () => {
  it("opens on the dashboard, with the figures the API gives, for all organizations or one", async () => {
    dumpOnFailure(b);
    await signIn(page, b.gateway.origin);
    await expect(page.locator("h1").textContent()).resolves.toBe("Dashboard");
    // The usage totals reach D1 a few seconds after the job: wait for the API to count it.
    let figures = await call("GET", `/api/stats/dashboard?organization_id=${ORG}`);
    for (let i = 0; i < 60 && figures.json.jobs_today < 1; i++) {
      await new Promise((r) => setTimeout(r, 500));
      figures = await call("GET", `/api/stats/dashboard?organization_id=${ORG}`);
    }
    expect(figures.json.jobs_today).toBe(1);
    await expect(page.locator("#this-month").textContent()).resolves.toMatch(/^All organizations: \d{4}-\d{2}/);
    await page.getByLabel("Organization", { exact: true }).selectOption(ORG);
    await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Filter" }).click()]);
    await expect(fact(page, "Teams").textContent()).resolves.toBe("1");
    await expect(fact(page, "Teams active").textContent()).resolves.toBe("1");
    await expect(fact(page, "Jobs today").textContent()).resolves.toBe("1");
    await expect(fact(page, "Credits charged this month").textContent()).resolves.toBe(String(figures.json.credits_charged_this_month));
    await expect(fact(page, "Tokens this month").textContent()).resolves.toBe(String(figures.json.tokens_this_month));
    await shoot(page, "dashboard");
  });

  it("creates an admin key shown once, which signs in with its role, then revokes it", async () => {
    dumpOnFailure(b);
    await page.getByRole("link", { name: "Admin keys" }).click();
    await page.getByLabel("Name").fill("support desk");
    await page.getByLabel("Role").selectOption("viewer");
    await page.getByLabel("Organization", { exact: true }).selectOption(ORG);
    expect(await submit(page, page.getByRole("button", { name: "Create admin key" }))).toBe(200);
    await expect(notice(page).textContent()).resolves.toBe(`Admin key 'support desk' created (viewer, organization ${ORG})`);
    const key = await newSecret(page);
    expect(key).toMatch(/^sk-admin-/);
    expect((await call("GET", "/api/admin-keys/self", undefined, key)).json).toMatchObject({
      name: "support desk",
      role: "viewer",
      organization_id: ORG,
    });
    await shoot(page, "admin-keys");
    await page.reload();
    expect(await page.content()).not.toContain(key);

    // The key signs in (in a second window) with exactly its role: no write form is offered.
    const other = await b.browser.newContext({ viewport: { width: 1280, height: 900 } });
    const viewer = await other.newPage();
    await signIn(viewer, b.gateway.origin, key);
    await viewer.goto(`${b.gateway.origin}/admin/teams/${TEAM}`);
    await expect(viewer.getByRole("button").allTextContents()).resolves.toEqual(["Sign out"]);
    await expect(viewer.getByRole("link", { name: "Admin keys" }).count()).resolves.toBe(0);

    await page.getByRole("button", { name: "Revoke the key support desk" }).click();
    await page.waitForLoadState();
    await expect(notice(page).textContent()).resolves.toBe("Admin key revoked: it is refused from now on");
    await expect(page.getByRole("button", { name: "Revoke the key support desk" }).count()).resolves.toBe(0);
    await viewer.reload();
    expect(new URL(viewer.url()).pathname).toBe("/admin/sign-in");
    await other.close();
  });

  it("filters the audit log as the API does, records the browser's address, and downloads the rows as CSV", async () => {
    dumpOnFailure(b);
    await page.getByRole("link", { name: "Audit log" }).click();
    await page.getByLabel("Action").selectOption("admin_key.create");
    await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Filter" }).click()]);
    const rows = page.getByRole("table", { name: "Admin writes, newest first" }).locator("tbody tr");
    await expect(rows.count()).resolves.toBe(1);
    await expect(rows.first().textContent()).resolves.toContain("support desk");
    // A console write records the browser's address, as a write sent to /api from this machine does.
    const direct = await call("GET", "/api/audit-log?action=organization.create");
    const consoleWrite = await call("GET", "/api/audit-log?action=admin_key.create");
    expect(direct.json.entries[0].client_ip).not.toBeNull();
    expect(consoleWrite.json.entries[0].client_ip).toBe(direct.json.entries[0].client_ip);
    await expect(rows.first().textContent()).resolves.toContain(direct.json.entries[0].client_ip);
    await shoot(page, "audit-log");

    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("link", { name: "Download these rows as CSV" }).click(),
    ]);
    expect(download.suggestedFilename()).toBe("audit-log.csv");
    const lines = readFileSync((await download.path())!, "utf8")
      .trim()
      .split("\r\n");
    expect(lines[0]).toMatch(/^seq,at,actor_key_id,actor_name,/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain("admin_key.create");

    await page.getByLabel("Since (UTC)").fill("2999-01-01T00:00");
    await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Filter" }).click()]);
    await expect(page.getByText("No audit rows match.").count()).resolves.toBe(1);
  });

  it("sets a team's webhook with its secret shown once, lists its deliveries, rotates the secret and removes it", async () => {
    dumpOnFailure(b);
    await page.goto(`${b.gateway.origin}/admin/teams/${TEAM}`);
    await page.getByRole("navigation", { name: "Team" }).getByRole("link", { name: "Webhook" }).click();
    await expect(page.getByText("No webhook is set for this team.").count()).resolves.toBe(1);
    await expect(page.getByRole("button", { name: "Rotate signing secret" }).count()).resolves.toBe(0);
    await page.getByLabel("URL").fill("https://hooks.example.com/gateway");
    // Every event but one, so the only delivery is the suspension below.
    for (const event of WEBHOOK_EVENTS.filter((e) => e !== "team.suspended")) {
      await page.getByRole("checkbox", { name: event }).uncheck();
    }
    expect(await submit(page, page.getByRole("button", { name: "Save webhook" }))).toBe(200);
    const first = await newSecret(page);
    expect(first).toMatch(/^whsec_/);
    await expect(fact(page, "Events").textContent()).resolves.toBe("team.suspended");

    // An event: suspending the team. Its delivery (to a host this machine cannot reach) is listed with its attempts.
    expect((await call("PUT", `/api/teams/${TEAM}/suspend`)).status).toBe(200);
    let deliveries = await call("GET", `/api/teams/${TEAM}/webhook/deliveries`);
    for (let i = 0; i < 60 && (deliveries.json.items[0]?.attempts ?? 0) < 1; i++) {
      await new Promise((r) => setTimeout(r, 500));
      deliveries = await call("GET", `/api/teams/${TEAM}/webhook/deliveries`);
    }
    await page.reload();
    const row = page.getByRole("table", { name: "Recent events, newest first" }).locator("tbody tr");
    await expect(row.count()).resolves.toBe(1);
    await expect(row.first().textContent()).resolves.toContain("team.suspended");
    await expect(row.first().textContent()).resolves.toContain(deliveries.json.items[0].state);
    await shoot(page, "webhook-team");

    expect(await submit(page, page.getByRole("button", { name: "Rotate signing secret" }))).toBe(200);
    const second = await newSecret(page);
    expect(second).toMatch(/^whsec_/);
    expect(second).not.toBe(first);
    await expect(fact(page, "Events").textContent()).resolves.toBe("team.suspended");

    expect(await submit(page, page.getByRole("button", { name: "Remove webhook" }))).toBe(200);
    await expect(notice(page).textContent()).resolves.toBe("Webhook of team removed");
    expect((await call("GET", `/api/teams/${TEAM}/webhook`)).status).toBe(404);
  });

  it("sets an organization's webhook; a refused URL shows the API's message with the form as typed", async () => {
    dumpOnFailure(b);
    await page.getByRole("link", { name: "Organizations" }).click();
    await page.getByRole("link", { name: `Webhook of ${ORG}` }).click();
    await page.getByLabel("URL").fill("https://192.168.1.10/hook");
    await page.getByLabel("Low balance threshold (credits)").fill("5");
    await submit(page, page.getByRole("button", { name: "Save webhook" }));
    await expect(error(page).textContent()).resolves.toMatch(/^field 'url' must not point to a private/);
    await expect(page.getByLabel("URL").inputValue()).resolves.toBe("https://192.168.1.10/hook");
    await expect(page.getByLabel("Low balance threshold (credits)").inputValue()).resolves.toBe("5");
    await page.getByLabel("URL").fill("https://hooks.example.com/org");
    expect(await submit(page, page.getByRole("button", { name: "Save webhook" }))).toBe(200);
    expect(await newSecret(page)).toMatch(/^whsec_/);
    const saved = await call("GET", `/api/organizations/${ORG}/webhook`);
    expect(saved.json).toMatchObject({ url: "https://hooks.example.com/org", low_balance_threshold: 5 });
    await shoot(page, "webhook-organization");
  });

  it("loaded nothing from outside the gateway", () => {
    expectNothingFromOutside(b);
  });
});
