// The admin console in a real Chromium against `npm start`: every step a person takes, as they
// take it (labels, buttons, the keyboard), checked against what the API then says. Screenshots of
// each page at a phone and a desktop width go to test/browser/screenshots/ for a person to look at.
//
// Run: npm run test:browser   (CHROMIUM_PATH overrides /usr/bin/chromium)
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { type Gateway, LOCAL_ADMIN_KEY, startGateway } from "./gateway-server";

const SCREENSHOTS = join(import.meta.dirname, "screenshots");
const WIDTHS = [
  { name: "phone", width: 390, height: 844 },
  { name: "desktop", width: 1280, height: 900 },
] as const;

let gateway: Gateway;
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** Every URL the browser asked for: none may leave the gateway (no CDN). */
const requested: string[] = [];
const state: { orgId: string; group: string; teamId: string; teamKey: string; jobId: string } = {
  orgId: "acme",
  group: "ChatFast",
  teamId: "team-browser",
  teamKey: "",
  jobId: "",
};

async function shoot(name: string): Promise<void> {
  for (const size of WIDTHS) {
    await page.setViewportSize({ width: size.width, height: size.height });
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-${size.name}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

async function api(method: string, path: string, key: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${gateway.origin}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

/** Submits a form by clicking its button and returns the answer's status. */
async function submit(button: ReturnType<Page["getByRole"]>): Promise<number> {
  const [response] = await Promise.all([page.waitForNavigation(), button.click()]);
  return response?.status() ?? 0;
}

const notice = () => page.locator("p.notice");
const error = () => page.locator("p.error");

function dumpOnFailure() {
  onTestFailed(() => {
    console.error(`---- npm start output (tail) ----\n${gateway?.output().slice(-6000) ?? "(not started)"}\n---- end ----`);
  });
}

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  gateway = await startGateway();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: true,
    // CI runs as root, where Chromium's sandbox cannot start.
    args: ["--no-sandbox"],
  });
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.on("request", (request) => requested.push(request.url()));
});

afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
});

describe("the admin console in Chromium", () => {
  it("sends a visitor to sign-in and refuses a wrong admin key", async () => {
    dumpOnFailure();
    await page.goto(`${gateway.origin}/admin`);
    expect(new URL(page.url()).pathname).toBe("/admin/sign-in");
    await shoot("sign-in");
    await page.getByLabel("Admin key").fill("sk-admin-wrong");
    expect(await submit(page.getByRole("button", { name: "Sign in" }))).toBe(401);
    await expect(error().textContent()).resolves.toContain("Invalid admin key");
    expect((await context.cookies()).map((c) => c.name)).not.toContain("gateway_console");
    // The key typed into the form is never put back into the page.
    expect(await page.content()).not.toContain("sk-admin-wrong");
  });

  it("signs in with the keyboard only; the session is an HttpOnly, Secure, SameSite=Strict cookie", async () => {
    dumpOnFailure();
    await page.goto(`${gateway.origin}/admin/sign-in`);
    await page.keyboard.press("Tab"); // the skip link
    await page.keyboard.press("Tab"); // the admin key field
    expect(await page.evaluate("document.activeElement?.id")).toBe("f-admin_key");
    await page.keyboard.type(LOCAL_ADMIN_KEY);
    await Promise.all([page.waitForURL("**/admin/teams"), page.keyboard.press("Enter")]);
    await expect(page.locator("header").textContent()).resolves.toContain("signed in as bootstrap (owner)");
    const session = (await context.cookies()).find((c) => c.name === "gateway_console");
    expect(session).toMatchObject({ httpOnly: true, secure: true, sameSite: "Strict", path: "/admin" });
    expect(session!.value).not.toContain(LOCAL_ADMIN_KEY);
    expect(session!.expires).toBeGreaterThan(Date.now() / 1000);
    // The page's JavaScript cannot read the session, and the key is nowhere in the page or URL.
    expect(await page.evaluate("document.cookie")).toBe("");
    expect(await page.content()).not.toContain(LOCAL_ADMIN_KEY);
    expect(page.url()).not.toContain(LOCAL_ADMIN_KEY);
  });

  it("creates an organization", async () => {
    dumpOnFailure();
    await page.getByRole("link", { name: "Organizations" }).click();
    await page.getByLabel("Organization id").fill(state.orgId);
    await page.getByLabel("Name").fill("Acme Inc");
    expect(await submit(page.getByRole("button", { name: "Create organization" }))).toBe(200);
    await expect(notice().textContent()).resolves.toContain(`Organization '${state.orgId}' created`);
    await expect(page.getByRole("cell", { name: "Acme Inc" }).count()).resolves.toBe(1);
    // The API's own rules and message: a second one with the same id.
    await page.getByLabel("Organization id").fill(state.orgId);
    await page.getByLabel("Name").fill("Acme again");
    expect(await submit(page.getByRole("button", { name: "Create organization" }))).toBe(400);
    await expect(error().textContent()).resolves.toContain("already exists");
    await shoot("organizations");
  });

  it("creates a model group and edits its models", async () => {
    dumpOnFailure();
    await page.getByRole("link", { name: "Model groups" }).click();
    await page.getByLabel("Group name").fill(state.group);
    await page.getByLabel("Display name").fill("Fast chat");
    await page.getByLabel(/^Models, one per line/).fill("gpt-4o-mini 0");
    expect(await submit(page.getByRole("button", { name: "Create model group" }))).toBe(200);
    await expect(notice().textContent()).resolves.toContain(`Model group '${state.group}' created`);
    await shoot("model-groups");
    await page.getByRole("link", { name: state.group }).click();
    // The mock LiteLLM fails a model named with +fail=500: every call falls back to the second.
    await page.getByLabel(/^Models, one per line/).fill("gpt-4+fail=500 0\ngpt-4o-mini 1");
    expect(await submit(page.getByRole("button", { name: "Save models" }))).toBe(200);
    await expect(notice().textContent()).resolves.toContain("Models saved");
    const group = await api("GET", `/api/model-groups/${state.group}`, LOCAL_ADMIN_KEY);
    expect(group.json.models).toEqual([
      { model_name: "gpt-4+fail=500", priority: 0 },
      { model_name: "gpt-4o-mini", priority: 1 },
    ]);
    await shoot("model-group");
  });

  it("sets a price", async () => {
    dumpOnFailure();
    await page.getByRole("link", { name: "Pricing" }).click();
    await page.getByLabel("Model", { exact: true }).fill("gpt-4o-mini");
    await page.getByLabel("Input per 1M tokens").fill("0.15");
    await page.getByLabel("Output per 1M tokens").fill("0.6");
    expect(await submit(page.getByRole("button", { name: "Save price" }))).toBe(200);
    const prices = await api("GET", "/api/pricing", LOCAL_ADMIN_KEY);
    expect(prices.json.prices).toContainEqual(expect.objectContaining({ model_name: "gpt-4o-mini", input_per_million_usd: 0.15 }));
    await shoot("pricing");
  });

  it("creates a team, shows its key once, and adds credits", async () => {
    dumpOnFailure();
    await page.getByRole("link", { name: "Teams" }).click();
    await page.locator("#f-organization_id").first().selectOption(state.orgId);
    await page.getByLabel("Team id").fill(state.teamId);
    await page.getByLabel("Model groups").fill(state.group);
    await page.getByLabel("Opening credits").fill("100");
    expect(await submit(page.getByRole("button", { name: "Create team" }))).toBe(200);
    state.teamKey = ((await page.locator("[data-new-key]").textContent()) ?? "").trim();
    expect(state.teamKey).toMatch(/^sk-[0-9a-f]{64}$/);
    await shoot("teams");
    await page.getByRole("link", { name: state.teamId }).click();
    expect(await page.content()).not.toContain(state.teamKey);
    await page.getByLabel("Credits to add").fill("50");
    await page.getByLabel("Reason").fill("welcome bonus");
    expect(await submit(page.getByRole("button", { name: "Add credits" }))).toBe(200);
    await expect(notice().textContent()).resolves.toContain("50 credits added");
    await expect(page.locator("[data-credits-available]").textContent()).resolves.toBe("150");
    expect((await api("GET", `/api/credits/teams/${state.teamId}/balance`, state.teamKey)).json.credits_remaining).toBe(150);
    await shoot("team");
  });

  it("shows a job made through the API, with its calls, in the jobs list, the ledger and the usage chart", async () => {
    dumpOnFailure();
    const job = await api("POST", "/api/jobs/create", state.teamKey, { team_id: state.teamId, job_type: "summarize" });
    expect(job.status).toBe(200);
    state.jobId = job.json.job_id;
    for (const text of ["first", "second"]) {
      const call = await api("POST", `/api/jobs/${state.jobId}/llm-call`, state.teamKey, {
        model_group: state.group,
        messages: [{ role: "user", content: `Summarize the ${text} page` }],
      });
      expect(call.status).toBe(200);
    }
    expect((await api("POST", `/api/jobs/${state.jobId}/complete`, state.teamKey, { status: "completed" })).status).toBe(200);
    const other = await api("POST", "/api/jobs/create-and-call", state.teamKey, {
      team_id: state.teamId,
      job_type: "translate",
      model_group: state.group,
      messages: [{ role: "user", content: "Translate: hello" }],
    });
    expect(other.status).toBe(200);

    await page.getByRole("link", { name: "Jobs" }).click();
    await page.getByLabel("Status").selectOption("completed");
    await page.getByLabel("Job type").fill("summarize");
    await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Filter" }).click()]);
    expect(new URL(page.url()).searchParams.get("job_type")).toBe("summarize");
    await expect(page.locator("tbody tr").count()).resolves.toBe(1);
    await shoot("jobs");
    await page.getByRole("link", { name: state.jobId }).click();
    const calls = page.locator("table[data-calls] tbody tr");
    await expect(calls.count()).resolves.toBe(2);
    const detail = await api("GET", `/api/jobs/${state.jobId}?team_id=${state.teamId}`, LOCAL_ADMIN_KEY);
    for (const call of detail.json.calls) {
      const row = page.locator("table[data-calls] tbody tr", { hasText: call.call_id });
      await expect(row.textContent()).resolves.toContain(String(call.total_tokens));
      await expect(row.textContent()).resolves.toContain(call.cost_usd.toFixed(6));
      // Both attempts: the failing model, then the fallback that answered.
      const attempts = await row.locator("ol.attempts li").allTextContents();
      expect(attempts).toHaveLength(2);
      expect(attempts[0]).toMatch(/^gpt-4\+fail=500: http_error 500/);
      expect(attempts[1]).toMatch(/^gpt-4o-mini: ok/);
    }
    await shoot("job");

    await page.getByRole("link", { name: "Ledger" }).click();
    const ledger = (await page.locator("tbody").textContent()) ?? "";
    expect(ledger).toContain("allocation");
    expect(ledger).toContain("welcome bonus");
    expect(ledger).toContain("deduction");
    await shoot("ledger");

    await page.getByRole("link", { name: "Usage" }).click();
    const usage = await api("GET", `/api/teams/${state.teamId}/usage`, LOCAL_ADMIN_KEY);
    await expect(page.locator("[data-usage-jobs]").textContent()).resolves.toBe("2");
    await expect(page.locator("[data-usage-credits]").textContent()).resolves.toBe(String(usage.json.summary.credits_charged));
    await expect(page.locator("[data-usage-tokens]").textContent()).resolves.toBe(String(usage.json.summary.total_tokens));
    const today = new Date().toISOString().slice(0, 10);
    const creditsPerDay = page.getByRole("img", { name: "Credits per day" });
    await expect(creditsPerDay.locator("rect").count()).resolves.toBe(1);
    await expect(creditsPerDay.locator("rect title").textContent()).resolves.toBe(`${today}: 2`);
    const tokensPerType = page.getByRole("img", { name: "Tokens per job type" });
    for (const [type, totals] of Object.entries<any>(usage.json.job_types)) {
      await expect(tokensPerType.locator("rect title", { hasText: `${type}:` }).textContent()).resolves.toBe(
        `${type}: ${totals.total_tokens}`,
      );
    }
    await shoot("usage");
  });

  it("rotates the key and shows the new one once", async () => {
    dumpOnFailure();
    await page.getByRole("link", { name: "Team", exact: true }).click();
    expect(await submit(page.getByRole("button", { name: "Rotate key" }))).toBe(200);
    const newKey = ((await page.locator("[data-new-key]").textContent()) ?? "").trim();
    expect(newKey).toMatch(/^sk-[0-9a-f]{64}$/);
    expect(newKey).not.toBe(state.teamKey);
    await shoot("team-rotated");
    expect((await api("GET", `/api/credits/teams/${state.teamId}/balance`, state.teamKey)).status).toBe(401);
    expect((await api("GET", `/api/credits/teams/${state.teamId}/balance`, newKey)).status).toBe(200);
    await page.goto(`${gateway.origin}/admin/teams/${state.teamId}`);
    expect(await page.content()).not.toContain(newKey);
    state.teamKey = newKey;
  });

  it("refuses a form posted without the CSRF token", async () => {
    dumpOnFailure();
    const before = (await api("GET", `/api/credits/teams/${state.teamId}/balance`, LOCAL_ADMIN_KEY)).json.credits_remaining;
    await page.getByLabel("Credits to add").fill("1000");
    await page.locator('form[action$="/credits"] input[name="_csrf"]').evaluate((field) => field.remove());
    expect(await submit(page.getByRole("button", { name: "Add credits" }))).toBe(403);
    await expect(error().textContent()).resolves.toContain("CSRF token is missing or wrong");
    expect((await api("GET", `/api/credits/teams/${state.teamId}/balance`, LOCAL_ADMIN_KEY)).json.credits_remaining).toBe(before);
  });

  it("suspends the team: the API then refuses its key", async () => {
    dumpOnFailure();
    await page.goto(`${gateway.origin}/admin/teams/${state.teamId}`);
    expect(await submit(page.getByRole("button", { name: "Suspend" }))).toBe(200);
    await expect(page.locator("[data-team-status]").textContent()).resolves.toBe("suspended");
    const refused = await api("POST", "/api/jobs/create", state.teamKey, { team_id: state.teamId, job_type: "x" });
    expect(refused.status).toBe(403);
  });

  it("signs out: the session cookie is gone and the pages ask to sign in again", async () => {
    dumpOnFailure();
    await Promise.all([page.waitForURL("**/admin/sign-in"), page.getByRole("button", { name: "Sign out" }).click()]);
    expect((await context.cookies()).map((c) => c.name)).not.toContain("gateway_console");
    await page.goto(`${gateway.origin}/admin/teams`);
    expect(new URL(page.url()).pathname).toBe("/admin/sign-in");
  });

  it("renders the API docs (/docs) from the gateway's own files", async () => {
    dumpOnFailure();
    await page.goto(`${gateway.origin}/docs`);
    await expect(page.locator(".swagger-ui .info .title").textContent({ timeout: 30_000 })).resolves.toContain("LLM job gateway");
    await expect(page.locator(".opblock").count()).resolves.toBeGreaterThan(20);
    await shoot("docs");
  });

  it("loaded nothing from outside the gateway", () => {
    const outside = requested.filter((url) => !url.startsWith(`${gateway.origin}/`));
    expect(outside).toEqual([]);
    expect(requested.length).toBeGreaterThan(10);
  });
});
