// The admin console in a real Chromium against `npm start`: every step a person takes, as they
// take it (labels, buttons, the keyboard), checked against what the API then says. Screenshots of
// each page at a phone and a desktop width go to test/browser/screenshots/ for a person to look at.
// console-operations.browser.test.ts covers the operator's pages (dashboard, admin keys, audit
// log, webhooks).
//
// Run: npm run test:browser   (CHROMIUM_PATH overrides /usr/bin/chromium)
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
  submit,
} from "./console-browser";

let b: ConsoleBrowser;
let page: Page;
const state: { orgId: string; group: string; teamId: string; teamKey: string; jobId: string } = {
  orgId: "acme",
  group: "ChatFast",
  teamId: "team-browser",
  teamKey: "",
  jobId: "",
};
const call = (method: string, path: string, key: string, body?: unknown) => api(b.gateway, method, path, key, body);
const balance = async () => (await call("GET", `/api/credits/teams/${state.teamId}/balance`, LOCAL_ADMIN_KEY)).json.credits_remaining;

beforeAll(async () => {
  b = await openConsoleBrowser();
  page = b.page;
});

afterAll(() => closeConsoleBrowser(b));

describe("the admin console in Chromium", () => {
  it("sends a visitor to sign-in and refuses a wrong admin key", async () => {
    dumpOnFailure(b);
    await page.goto(`${b.gateway.origin}/admin`);
    expect(new URL(page.url()).pathname).toBe("/admin/sign-in");
    await shoot(page, "sign-in");
    await page.getByLabel("Admin key").fill("sk-admin-wrong");
    expect(await submit(page, page.getByRole("button", { name: "Sign in" }))).toBe(401);
    await expect(error(page).textContent()).resolves.toContain("Invalid admin key");
    expect((await b.context.cookies()).map((c) => c.name)).not.toContain("gateway_console");
    // The key typed into the form is never put back into the page.
    expect(await page.content()).not.toContain("sk-admin-wrong");
  });

  it("signs in with the keyboard only; the session is an HttpOnly, Secure, SameSite=Strict cookie", async () => {
    dumpOnFailure(b);
    await page.goto(`${b.gateway.origin}/admin/sign-in`);
    await page.keyboard.press("Tab"); // the skip link
    await page.keyboard.press("Tab"); // the admin key field
    expect(await page.evaluate("document.activeElement?.id")).toBe("f-admin_key");
    await page.keyboard.type(LOCAL_ADMIN_KEY);
    await Promise.all([page.waitForURL("**/admin/dashboard"), page.keyboard.press("Enter")]);
    await expect(page.locator("header").textContent()).resolves.toContain("signed in as bootstrap (owner)");
    const session = (await b.context.cookies()).find((c) => c.name === "gateway_console");
    expect(session).toMatchObject({ httpOnly: true, secure: true, sameSite: "Strict", path: "/admin" });
    expect(session!.value).not.toContain(LOCAL_ADMIN_KEY);
    expect(session!.expires).toBeGreaterThan(Date.now() / 1000);
    // The page's JavaScript cannot read the session, and the key is nowhere in the page or URL.
    expect(await page.evaluate("document.cookie")).toBe("");
    expect(await page.content()).not.toContain(LOCAL_ADMIN_KEY);
    expect(page.url()).not.toContain(LOCAL_ADMIN_KEY);
  });

  it("creates an organization; a refusal shows the API's message with the form as typed", async () => {
    dumpOnFailure(b);
    await page.getByRole("link", { name: "Organizations" }).click();
    await page.getByLabel("Organization id").fill(state.orgId);
    await page.getByLabel("Name").fill("Acme Inc");
    expect(await submit(page, page.getByRole("button", { name: "Create organization" }))).toBe(200);
    expect(new URL(page.url()).pathname).toBe("/admin/organizations");
    await expect(notice(page).textContent()).resolves.toContain(`Organization '${state.orgId}' created`);
    await expect(page.getByRole("cell", { name: "Acme Inc" }).count()).resolves.toBe(1);
    // The API's own rules and message: a second one with the same id.
    await page.getByLabel("Organization id").fill(state.orgId);
    await page.getByLabel("Name").fill("Acme again");
    await submit(page, page.getByRole("button", { name: "Create organization" }));
    await expect(error(page).textContent()).resolves.toContain("already exists");
    await expect(page.getByLabel("Name").inputValue()).resolves.toBe("Acme again");
    await shoot(page, "organizations");
  });

  it("creates a model group and edits its models", async () => {
    dumpOnFailure(b);
    await page.getByRole("link", { name: "Model groups" }).click();
    await page.getByLabel("Group name").fill(state.group);
    await page.getByLabel("Display name").fill("Fast chat");
    await page.getByLabel(/^Models, one per line/).fill("gpt-4o-mini 0");
    expect(await submit(page, page.getByRole("button", { name: "Create model group" }))).toBe(200);
    await expect(notice(page).textContent()).resolves.toContain(`Model group '${state.group}' created`);
    await shoot(page, "model-groups");
    await page.getByRole("link", { name: state.group }).click();
    // The mock LiteLLM fails a model named with +fail=500: every call falls back to the second.
    await page.getByLabel(/^Models, one per line/).fill("gpt-4+fail=500 0\ngpt-4o-mini 1");
    expect(await submit(page, page.getByRole("button", { name: "Save models" }))).toBe(200);
    await expect(notice(page).textContent()).resolves.toContain("Models saved");
    const group = await call("GET", `/api/model-groups/${state.group}`, LOCAL_ADMIN_KEY);
    expect(group.json.models).toEqual([
      { model_name: "gpt-4+fail=500", priority: 0 },
      { model_name: "gpt-4o-mini", priority: 1 },
    ]);
    await shoot(page, "model-group");
  });

  it("sets a price", async () => {
    dumpOnFailure(b);
    await page.getByRole("link", { name: "Pricing" }).click();
    await page.getByLabel("Model", { exact: true }).fill("gpt-4o-mini");
    await page.getByLabel("Input per 1M tokens").fill("0.15");
    await page.getByLabel("Output per 1M tokens").fill("0.6");
    expect(await submit(page, page.getByRole("button", { name: "Save price" }))).toBe(200);
    const prices = await call("GET", "/api/pricing", LOCAL_ADMIN_KEY);
    expect(prices.json.prices).toContainEqual(expect.objectContaining({ model_name: "gpt-4o-mini", input_per_million_usd: 0.15 }));
    await expect(page.getByRole("button", { name: "Remove the price of gpt-4o-mini" }).count()).resolves.toBe(1);
    await shoot(page, "pricing");
  });

  it("creates a team, shows its key once, and adds credits", async () => {
    dumpOnFailure(b);
    await page.getByRole("link", { name: "Teams", exact: true }).click();
    await page.getByRole("combobox", { name: "Organization" }).first().selectOption(state.orgId);
    await page.getByLabel("Team id").fill(state.teamId);
    await page.getByLabel("Model groups").fill(state.group);
    await page.getByLabel("Opening credits").fill("100");
    expect(await submit(page, page.getByRole("button", { name: "Create team" }))).toBe(200);
    state.teamKey = await newSecret(page);
    expect(state.teamKey).toMatch(/^sk-[0-9a-f]{64}$/);
    await shoot(page, "teams");
    await page.getByRole("link", { name: state.teamId }).click();
    expect(await page.content()).not.toContain(state.teamKey);
    await page.getByLabel("Credits to add").fill("50");
    await page.getByLabel("Reason").fill("welcome bonus");
    expect(await submit(page, page.getByRole("button", { name: "Add credits" }))).toBe(200);
    await expect(notice(page).textContent()).resolves.toContain("50 credits added");
    await expect(fact(page, "Credits available").textContent()).resolves.toBe("150");
    expect((await call("GET", `/api/credits/teams/${state.teamId}/balance`, state.teamKey)).json.credits_remaining).toBe(150);
    await shoot(page, "team");
  });

  it("adds credits once when the answer is refreshed or the same form is sent again", async () => {
    dumpOnFailure(b);
    const posted: { url: string; body: string }[] = [];
    page.on("request", (request) => {
      if (request.method() === "POST") posted.push({ url: request.url(), body: request.postData() ?? "" });
    });
    await page.getByLabel("Credits to add").fill("10");
    await submit(page, page.getByRole("button", { name: "Add credits" }));
    expect(await balance()).toBe(160);
    // The answer was a redirect: a refresh loads the team page again, it does not post the form.
    const reloaded = await page.reload();
    expect(reloaded?.request().method()).toBe("GET");
    await expect(notice(page).count()).resolves.toBe(0);
    expect(await balance()).toBe(160);
    // The very same form sent again (what a refresh of a POST or a double click sends) is applied once.
    const sent = posted.find((p) => p.url.endsWith("/credits"))!;
    const cookie = (await b.context.cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
    const again = await fetch(sent.url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: b.gateway.origin, cookie },
      body: sent.body,
      redirect: "manual",
    });
    expect(again.status).toBe(303);
    // The answer's flash cookie goes to the browser, as the browser would have kept it.
    const flash = again.headers.getSetCookie().find((line) => line.startsWith("gateway_console_flash="))!;
    await b.context.addCookies([
      {
        name: "gateway_console_flash",
        value: flash.split(";")[0].slice("gateway_console_flash=".length),
        domain: new URL(b.gateway.origin).hostname,
        path: "/admin",
        secure: true,
        httpOnly: true,
        sameSite: "Strict",
      },
    ]);
    expect(await balance()).toBe(160);
    await page.reload();
    await expect(notice(page).textContent()).resolves.toBe("This form had already been sent; it was applied once. 10 credits added");
  });

  it("shows a job made through the API, with its calls, in the jobs list, the ledger and the usage chart", async () => {
    dumpOnFailure(b);
    const job = await call("POST", "/api/jobs/create", state.teamKey, { team_id: state.teamId, job_type: "summarize" });
    expect(job.status).toBe(200);
    state.jobId = job.json.job_id;
    for (const text of ["first", "second"]) {
      const answer = await call("POST", `/api/jobs/${state.jobId}/llm-call`, state.teamKey, {
        model_group: state.group,
        messages: [{ role: "user", content: `Summarize the ${text} page` }],
      });
      expect(answer.status).toBe(200);
    }
    expect((await call("POST", `/api/jobs/${state.jobId}/complete`, state.teamKey, { status: "completed" })).status).toBe(200);
    const other = await call("POST", "/api/jobs/create-and-call", state.teamKey, {
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
    await shoot(page, "jobs");
    await page.getByRole("link", { name: state.jobId }).click();
    const calls = page.getByRole("table", { name: "Calls, in the order they were made" }).locator("tbody tr");
    await expect(calls.count()).resolves.toBe(2);
    const detail = await call("GET", `/api/jobs/${state.jobId}?team_id=${state.teamId}`, LOCAL_ADMIN_KEY);
    for (const c of detail.json.calls) {
      const row = calls.filter({ hasText: c.call_id });
      await expect(row.textContent()).resolves.toContain(String(c.total_tokens));
      await expect(row.textContent()).resolves.toContain(c.cost_usd.toFixed(6));
      // Both attempts: the failing model, then the fallback that answered.
      const attempts = await row.locator("ol.attempts li").allTextContents();
      expect(attempts).toHaveLength(2);
      expect(attempts[0]).toMatch(/^gpt-4\+fail=500: http_error 500/);
      expect(attempts[1]).toMatch(/^gpt-4o-mini: ok/);
    }
    await shoot(page, "job");

    await page.getByRole("link", { name: "Ledger" }).click();
    const ledger = (await page.locator("tbody").textContent()) ?? "";
    expect(ledger).toContain("allocation");
    expect(ledger).toContain("welcome bonus");
    expect(ledger).toContain("deduction");
    await shoot(page, "ledger");

    await page.getByRole("link", { name: "Usage" }).click();
    const usage = await call("GET", `/api/teams/${state.teamId}/usage`, LOCAL_ADMIN_KEY);
    await expect(fact(page, "Jobs").textContent()).resolves.toBe("2");
    await expect(fact(page, "Credits charged").textContent()).resolves.toBe(String(usage.json.summary.credits_charged));
    await expect(fact(page, "Tokens").textContent()).resolves.toBe(String(usage.json.summary.total_tokens));
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
    await shoot(page, "usage");
  });

  it("shows the calls per tag and per end user, as the usage report gives them", async () => {
    dumpOnFailure(b);
    for (const [user_id, tags] of [
      ["alice", ["checkout", "beta"]],
      ["bob", ["checkout"]],
    ] as const) {
      const answer = await call("POST", "/v1/messages", state.teamKey, {
        model: state.group,
        max_tokens: 50,
        messages: [{ role: "user", content: "Where is my order?" }],
        metadata: { user_id, tags },
      });
      expect(answer.status).toBe(200);
    }
    await page.reload();
    const byTag = (await call("GET", `/api/teams/${state.teamId}/usage?group_by=tag`, LOCAL_ADMIN_KEY)).json.tags;
    const tagRows = page.getByRole("table", { name: "Calls per tag" }).locator("tbody tr");
    for (const tag of ["checkout", "beta", "(none)"]) {
      const cells = await tagRows
        .filter({ has: page.getByRole("cell", { name: tag, exact: true }) })
        .locator("td")
        .allTextContents();
      expect(cells.slice(0, 3)).toEqual([tag, String(byTag[tag].calls), String(byTag[tag].total_tokens)]);
    }
    const userRows = page.getByRole("table", { name: "Calls per end user" }).locator("tbody tr");
    const users = await userRows.locator("td:first-child").allTextContents();
    expect(users.sort()).toEqual(["(none)", "alice", "bob"]);
    await shoot(page, "usage-labels");
  });

  it("sets the group's response cache; the group page shows it and its hit rate, the job page its cached call", async () => {
    dumpOnFailure(b);
    await page.goto(`${b.gateway.origin}/admin/model-groups/${state.group}`);
    await expect(fact(page, "Cache").textContent()).resolves.toBe("Off");
    await page.getByLabel("Time to live (seconds)").fill("600");
    await page.getByLabel("Shared by").selectOption("organization");
    await page.getByLabel("Hit price (% of the original)").fill("25");
    expect(await submit(page, page.getByRole("button", { name: "Save cache" }))).toBe(200);
    await expect(notice(page).textContent()).resolves.toContain("Response cache saved");
    const group = await call("GET", `/api/model-groups/${state.group}`, LOCAL_ADMIN_KEY);
    expect(group.json.cache).toEqual({ ttl_seconds: 600, scope: "organization", hit_price_percent: 25 });
    await expect(fact(page, "Cache").textContent()).resolves.toContain("600 s, shared by the organization, hits at 25 %");

    // The same question twice: the second is answered from the cache.
    const job = await call("POST", "/api/jobs/create", state.teamKey, { team_id: state.teamId, job_type: "faq" });
    const ask = { model_group: state.group, messages: [{ role: "user", content: "Opening hours?" }] };
    expect((await call("POST", `/api/jobs/${job.json.job_id}/llm-call`, state.teamKey, ask)).status).toBe(200);
    let hit = false;
    for (let i = 0; i < 20 && !hit; i++) {
      const again = await fetch(`${b.gateway.origin}/api/jobs/${job.json.job_id}/llm-call`, {
        method: "POST",
        headers: { authorization: `Bearer ${state.teamKey}`, "content-type": "application/json" },
        body: JSON.stringify(ask),
      });
      hit = again.headers.get("x-gateway-cache") === "HIT";
      await again.text();
    }
    expect(hit).toBe(true);
    // The teams' usage reaches D1 a few seconds later; the page then shows the API's figures.
    let usage = await call("GET", `/api/model-groups/${state.group}/usage`, LOCAL_ADMIN_KEY);
    for (let i = 0; i < 40 && usage.json.cache_hits < 1; i++) {
      await new Promise((r) => setTimeout(r, 500));
      usage = await call("GET", `/api/model-groups/${state.group}/usage`, LOCAL_ADMIN_KEY);
    }
    expect(usage.json.cache_hits).toBe(1);
    await page.reload();
    const rate = `${(usage.json.hit_rate * 100).toFixed(1)} % (1 of ${usage.json.calls} calls)`;
    await expect(
      page
        .locator("dl.facts dt", { hasText: /^Hit rate/ })
        .locator("xpath=..")
        .locator("dd")
        .textContent(),
    ).resolves.toBe(rate);
    await shoot(page, "model-group-cache");

    await page.goto(`${b.gateway.origin}/admin/teams/${state.teamId}/jobs/${job.json.job_id}`);
    const rows = page.getByRole("table", { name: "Calls, in the order they were made" }).locator("tbody tr");
    await expect(rows.count()).resolves.toBeGreaterThanOrEqual(2);
    await expect(rows.nth(0).textContent()).resolves.not.toContain("from the response cache");
    await expect(rows.last().textContent()).resolves.toContain("from the response cache");

    await page.goto(`${b.gateway.origin}/admin/model-groups/${state.group}`);
    expect(await submit(page, page.getByRole("button", { name: "Turn the cache off" }))).toBe(200);
    await expect(fact(page, "Cache").textContent()).resolves.toBe("Off");
    expect((await call("GET", `/api/model-groups/${state.group}`, LOCAL_ADMIN_KEY)).json.cache).toBeNull();
    // Back to the team, where the next steps begin.
    await page.goto(`${b.gateway.origin}/admin/teams/${state.teamId}`);
  });

  it("rotates the key and shows the new one once", async () => {
    dumpOnFailure(b);
    await page.getByRole("link", { name: "Team", exact: true }).click();
    expect(await submit(page, page.getByRole("button", { name: "Rotate the key default" }))).toBe(200);
    const newKey = await newSecret(page);
    expect(newKey).toMatch(/^sk-[0-9a-f]{64}$/);
    expect(newKey).not.toBe(state.teamKey);
    await shoot(page, "team-rotated");
    expect((await call("GET", `/api/credits/teams/${state.teamId}/balance`, state.teamKey)).status).toBe(401);
    expect((await call("GET", `/api/credits/teams/${state.teamId}/balance`, newKey)).status).toBe(200);
    await page.reload();
    expect(await page.content()).not.toContain(newKey);
    state.teamKey = newKey;
  });

  it("creates a key with a budget (shown once), shows its spend as a bar, rotates and revokes it", async () => {
    dumpOnFailure(b);
    await page.goto(`${b.gateway.origin}/admin/teams/${state.teamId}`);
    await page.getByLabel("Key name").fill("nightly-batch");
    await page.getByLabel("Budget (credits)").fill("4");
    await page.getByLabel("Budget period").selectOption("day");
    await page.getByRole("checkbox", { name: state.group }).check();
    expect(await submit(page, page.getByRole("button", { name: "Create key" }))).toBe(200);
    await expect(notice(page).textContent()).resolves.toContain("Key 'nightly-batch' created");
    const batchKey = await newSecret(page);
    expect(batchKey).toMatch(/^sk-[0-9a-f]{64}$/);
    const keys = (await call("GET", `/api/teams/${state.teamId}/keys`, LOCAL_ADMIN_KEY)).json.keys;
    const batch = keys.find((k: any) => k.name === "nightly-batch");
    expect(batch).toMatchObject({ model_groups: [state.group], budget: { credits: 4, period: "day", spent_credits: 0 } });

    // The key spends one credit; the page's bar and figures show it, as the API does.
    const job = await call("POST", "/api/jobs/create", batchKey, { job_type: "nightly" });
    await call("POST", `/api/jobs/${job.json.job_id}/complete`, batchKey, { status: "completed" });
    await page.reload();
    expect(await page.content()).not.toContain(batchKey);
    const bar = page.getByRole("meter", { name: "Spent by the key nightly-batch this day" });
    await expect(bar.getAttribute("value")).resolves.toBe("1");
    await expect(bar.getAttribute("max")).resolves.toBe("4");
    const row = page.getByRole("row", { name: /nightly-batch/ });
    await expect(row.textContent()).resolves.toContain("1 of 4");
    await shoot(page, "team-keys");

    expect(await submit(page, page.getByRole("button", { name: "Rotate the key nightly-batch" }))).toBe(200);
    const rotated = await newSecret(page);
    expect((await call("GET", `/api/credits/teams/${state.teamId}/balance`, batchKey)).status).toBe(401);
    expect((await call("GET", `/api/credits/teams/${state.teamId}/balance`, rotated)).status).toBe(200);
    expect(await submit(page, page.getByRole("button", { name: "Revoke the key nightly-batch" }))).toBe(200);
    await expect(notice(page).textContent()).resolves.toContain("Key revoked");
    await expect(page.getByRole("button", { name: "Revoke the key nightly-batch" }).count()).resolves.toBe(0);
    expect((await call("GET", `/api/credits/teams/${state.teamId}/balance`, rotated)).status).toBe(401);
    // The team's own key is untouched.
    expect((await call("GET", `/api/credits/teams/${state.teamId}/balance`, state.teamKey)).status).toBe(200);
  });

  it("refuses a form posted without the CSRF token", async () => {
    dumpOnFailure(b);
    const before = await balance();
    await page.getByLabel("Credits to add").fill("1000");
    await page.locator('form[action$="/credits"] input[name="_csrf"]').evaluate((field) => field.remove());
    expect(await submit(page, page.getByRole("button", { name: "Add credits" }))).toBe(403);
    await expect(error(page).textContent()).resolves.toContain("CSRF token is missing or wrong");
    expect(await balance()).toBe(before);
  });

  it("suspends the team: the API then refuses its key, and only Resume is offered", async () => {
    dumpOnFailure(b);
    await page.goto(`${b.gateway.origin}/admin/teams/${state.teamId}`);
    await expect(page.getByRole("button", { name: "Resume" }).count()).resolves.toBe(0);
    expect(await submit(page, page.getByRole("button", { name: "Suspend" }))).toBe(200);
    await expect(fact(page, "Status").textContent()).resolves.toBe("suspended");
    await expect(page.getByRole("button", { name: /^(Suspend|Pause|Resume)$/ }).allTextContents()).resolves.toEqual(["Resume"]);
    const refused = await call("POST", "/api/jobs/create", state.teamKey, { team_id: state.teamId, job_type: "x" });
    expect(refused.status).toBe(403);
    await shoot(page, "team-suspended");
  });

  it("signs out: the session cookie is gone and the pages ask to sign in again", async () => {
    dumpOnFailure(b);
    await Promise.all([page.waitForURL("**/admin/sign-in"), page.getByRole("button", { name: "Sign out" }).click()]);
    expect((await b.context.cookies()).map((c) => c.name)).not.toContain("gateway_console");
    await page.goto(`${b.gateway.origin}/admin/teams`);
    expect(new URL(page.url()).pathname).toBe("/admin/sign-in");
  });

  it("renders the API docs (/docs) from the gateway's own files", async () => {
    dumpOnFailure(b);
    await page.goto(`${b.gateway.origin}/docs`);
    await expect(page.locator(".swagger-ui .info .title").textContent({ timeout: 30_000 })).resolves.toContain("LLM job gateway");
    await expect(page.locator(".opblock").count()).resolves.toBeGreaterThan(20);
    await shoot(page, "docs");
  });

  it("loaded nothing from outside the gateway", () => {
    expectNothingFromOutside(b);
  });
});
