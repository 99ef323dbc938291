// A team's Credits page in Chromium against `npm start`: a grant added with an expiry picked in
// the form, listed, drawn on first by a job (its priority), voided; the plan allowance set and
// shown with its period; the month's statement and its CSV download. Screenshots go to
// test/browser/screenshots/ like the rest of the suite.
import { readFileSync } from "node:fs";
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
  notice,
  openConsoleBrowser,
  shoot,
  signIn,
  submit,
} from "./console-browser";

let b: ConsoleBrowser;
let page: Page;
let teamKey: string;
const TEAM = "team-credits";
const call = (method: string, path: string, body?: unknown, key = LOCAL_ADMIN_KEY) => api(b.gateway, method, path, key, body);

beforeAll(async () => {
  b = await openConsoleBrowser();
  page = b.page;
  expect((await call("POST", "/api/organizations/create", { organization_id: "initech", name: "Initech" })).status).toBe(200);
  expect((await call("POST", "/api/model-groups/create", { group_name: "quick", models: [{ model_name: "gpt-4o-mini" }] })).status).toBe(
    200,
  );
  const team = await call("POST", "/api/teams/create", {
    organization_id: "initech",
    team_id: TEAM,
    model_groups: ["quick"],
    credits_allocated: 20,
  });
  expect(team.status).toBe(200);
  teamKey = team.json.virtual_key;
});

afterAll(() => closeConsoleBrowser(b));

describe("a team's credits in Chromium", () => {
  it("adds a grant with an expiry, which a job draws on first; voids it; sets the allowance; reads the statement and downloads it", async () => {
    dumpOnFailure(b);
    await signIn(page, b.gateway.origin);
    await page.goto(`${b.gateway.origin}/admin/teams/${TEAM}`);
    await Promise.all([
      page.waitForNavigation(),
      page.getByRole("navigation", { name: "Team" }).getByRole("link", { name: "Credits" }).click(),
    ]);
    await expect(page.locator("h1").textContent()).resolves.toBe(`Credits of ${TEAM}`);
    await expect(fact(page, "Paid").textContent()).resolves.toBe("20");

    await page.getByLabel("Credits", { exact: true }).fill("15");
    await page.getByLabel("Source", { exact: true }).selectOption("promotional");
    await page.getByLabel("Expires (UTC)").fill("2099-12-31T18:30");
    await page.getByLabel("Priority", { exact: true }).fill("5");
    await page.getByLabel("Reason", { exact: true }).fill("winter promo");
    expect(await submit(page, page.getByRole("button", { name: "Add grant" }))).toBe(200);
    await expect(notice(page).textContent()).resolves.toBe("Grant of 15 promotional credits made");
    const grants = page.getByRole("table", { name: "Grants, newest first" }).locator("tbody tr");
    await expect(grants.first().locator("td").allTextContents()).resolves.toEqual([
      "promotional",
      "15",
      "15",
      "5",
      "2099-12-31 18:30:00Z",
      "active",
      "winter promo",
      "Void",
    ]);
    await expect(fact(page, "Next expiry").textContent()).resolves.toBe("15 promotional at 2099-12-31 18:30:00Z");

    // A job's charge draws on the promotion first (priority 5 before the paid credits' 50).
    const job = await call("POST", "/api/jobs/create", { job_type: "report" }, teamKey);
    expect((await call("POST", `/api/jobs/${job.json.job_id}/complete`, { status: "completed" }, teamKey)).status).toBe(200);
    await page.reload();
    await expect(grants.first().locator("td").nth(2).textContent()).resolves.toBe("14");
    await expect(fact(page, "Paid").textContent()).resolves.toBe("20");

    expect(await submit(page, page.getByRole("button", { name: "Void the promotional grant of 15 credits (winter promo)" }))).toBe(200);
    await expect(notice(page).textContent()).resolves.toBe("Grant voided: what remained of it left the balance");
    await expect(grants.first().locator("td").nth(5).textContent()).resolves.toBe("voided");
    await expect(fact(page, "Promotional").textContent()).resolves.toBe("0");

    // A refused allowance comes back with the API's message and the form as typed.
    await page.getByLabel("Credits per period", { exact: true }).fill("50");
    await page.getByLabel("Period", { exact: true }).selectOption("day");
    await page.getByLabel("Anchor", { exact: true }).fill("2");
    expect(await submit(page, page.getByRole("button", { name: "Save allowance" }))).toBe(200);
    await expect(error(page).textContent()).resolves.toBe("field 'anchor' applies to week and month periods only");
    await expect(page.getByLabel("Credits per period", { exact: true }).inputValue()).resolves.toBe("50");
    await page.getByLabel("Period", { exact: true }).selectOption("month");
    await page.getByLabel("Anchor", { exact: true }).fill("1");
    await page.getByLabel("Rollover up to").fill("10");
    expect(await submit(page, page.getByRole("button", { name: "Save allowance" }))).toBe(200);
    await expect(notice(page).textContent()).resolves.toBe("Plan allowance: 50 credits each month");
    await expect(fact(page, "Left this period").textContent()).resolves.toBe("50");
    await expect(fact(page, "Rollover").textContent()).resolves.toBe("up to 10");
    await expect(fact(page, "Plan").textContent()).resolves.toBe("50");
    const balance = await call("GET", `/api/credits/teams/${TEAM}/balance`);
    await expect(fact(page, "Remaining").textContent()).resolves.toBe(String(balance.json.credits_remaining));

    // The month's statement, as the API gives it, and as CSV.
    const month = new Date().toISOString().slice(0, 7);
    const statement = await call("GET", `/api/credits/teams/${TEAM}/statement?period=${month}`);
    expect(statement.json).toMatchObject({ granted: 85, consumed: 1, voided: 14, closing: 70 });
    await expect(page.locator("#statement").textContent()).resolves.toBe(`Statement for ${month}`);
    await expect(fact(page, "Granted").textContent()).resolves.toBe("85");
    await expect(fact(page, "Voided").textContent()).resolves.toBe("14");
    await expect(fact(page, "Closing balance").textContent()).resolves.toBe("70");
    await shoot(page, "team-credits");
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("link", { name: "Download the statement as CSV" }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`statement-${TEAM}-${month}.csv`);
    const lines = readFileSync((await download.path())!, "utf8")
      .trim()
      .split("\r\n");
    expect(lines[0]).toBe("line,grant_id,source,reason,expires_at,status,opening,granted,consumed,refunded,expired,voided,closing");
    expect(lines.at(-1)).toBe(`total,,,Statement ${month},,,0,85,1,0,0,14,70`);
    expectNothingFromOutside(b);
  });
});
