// One Chromium against one `npm start`, for a browser suite file: start both, sign in, send a
// form by its button, read the page as a person does (a fact by its label, the notice, the
// error), call the API beside it, and screenshot a page at a phone and a desktop width.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from "playwright-core";
import { expect, onTestFailed } from "vitest";
import { type Gateway, LOCAL_ADMIN_KEY, startGateway } from "./gateway-server";

export { LOCAL_ADMIN_KEY };

const SCREENSHOTS = join(import.meta.dirname, "screenshots");
const WIDTHS = [
  { name: "phone", width: 390, height: 844 },
  { name: "desktop", width: 1280, height: 900 },
] as const;

export interface ConsoleBrowser {
  gateway: Gateway;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Every URL the browser asked for: none may leave the gateway (no CDN). */
  requested: string[];
}

export async function openConsoleBrowser(): Promise<ConsoleBrowser> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const gateway = await startGateway();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: true,
    // CI runs as root, where Chromium's sandbox cannot start.
    args: ["--no-sandbox"],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const requested: string[] = [];
  page.on("request", (request) => requested.push(request.url()));
  return { gateway, browser, context, page, requested };
}

export async function closeConsoleBrowser(b: ConsoleBrowser | undefined): Promise<void> {
  await b?.browser.close();
  await b?.gateway.stop();
}

export async function shoot(page: Page, name: string): Promise<void> {
  for (const size of WIDTHS) {
    await page.setViewportSize({ width: size.width, height: size.height });
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-${size.name}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

export async function api(
  gateway: Gateway,
  method: string,
  path: string,
  key: string,
  body?: unknown,
): Promise<{ status: number; json: any }> {
  const res = await fetch(`${gateway.origin}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

/** Submits a form by clicking its button and returns the status of the page the browser ends on. */
export async function submit(page: Page, button: Locator): Promise<number> {
  const [response] = await Promise.all([page.waitForNavigation(), button.click()]);
  return response?.status() ?? 0;
}

/** Signs in through the form; the console opens on the dashboard. */
export async function signIn(page: Page, origin: string, key = LOCAL_ADMIN_KEY): Promise<void> {
  await page.goto(`${origin}/admin/sign-in`);
  await page.getByLabel("Admin key").fill(key);
  await Promise.all([page.waitForURL("**/admin/dashboard"), page.getByRole("button", { name: "Sign in" }).click()]);
}

export const notice = (page: Page) => page.locator("p.notice");
export const error = (page: Page) => page.locator("p.error");
export const newSecret = async (page: Page) => ((await page.locator("[data-new-secret]").textContent()) ?? "").trim();

/** The value shown beside a label in a facts list. */
export const fact = (page: Page, label: string) =>
  page.locator("dl.facts > div", { has: page.locator("dt", { hasText: new RegExp(`^${label.replace(/[()]/g, "\\$&")}$`) }) }).locator("dd");

/** Prints the end of the gateway's output when the running test fails. */
export function dumpOnFailure(b: ConsoleBrowser | undefined): void {
  onTestFailed(() => {
    console.error(`---- npm start output (tail) ----\n${b?.gateway.output().slice(-6000) ?? "(not started)"}\n---- end ----`);
  });
}

/** Nothing the browser loaded came from outside the gateway. */
export function expectNothingFromOutside(b: ConsoleBrowser): void {
  const outside = b.requested.filter((url) => !url.startsWith(`${b.gateway.origin}/`));
  expect(outside).toEqual([]);
  expect(b.requested.length).toBeGreaterThan(10);
}
