// A person using the admin console, in workerd with no browser: a cookie jar, pages opened by
// GET, and forms sent as a browser sends them (the page's hidden fields plus what is typed),
// with the redirect that answers them followed. Shared by the console's workerd tests.
import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import { ADMIN_KEY } from "./helpers";

export const ORIGIN = "http://gateway.test";

export interface RequestOptions {
  cookie?: string;
  form?: Record<string, string>;
  origin?: string | null;
  headers?: Record<string, string>;
}

/** One request to the Worker as a browser on the console's origin would send it (redirects not followed). */
export async function request(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.cookie) headers.cookie = options.cookie;
  if (options.origin !== null) headers.origin = options.origin ?? ORIGIN;
  let body: string | undefined;
  if (options.form) {
    headers["content-type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(options.form).toString();
  }
  return exports.default.fetch(new Request(`${ORIGIN}${path}`, { method, headers, body, redirect: "manual" }));
}

/** The hidden fields of the first form posting to `action` (its CSRF token and its one-time idempotency key). */
export function hiddenFields(html: string, action: string): Record<string, string> {
  const start = html.indexOf(`action="${action}"`);
  expect(start, `a form posting to ${action}`).toBeGreaterThan(-1);
  const form = html.slice(start, html.indexOf("</form>", start));
  return Object.fromEntries([...form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1], m[2]]));
}

/** The text of the page's notice, error or one-time secret ("" when there is none). */
export const noticeOf = (html: string) => /<p class="notice" role="status">([^<]*)<\/p>/.exec(html)?.[1] ?? "";
export const errorOf = (html: string) => /<p class="error" role="alert">([^<]*)<\/p>/.exec(html)?.[1] ?? "";
export const secretOf = (html: string) => /data-new-secret[^>]*>([^<]*)<\/p>/.exec(html)?.[1]?.trim() ?? "";

export interface Page {
  status: number;
  path: string;
  html: string;
}

export class ConsoleUser {
  private readonly cookies = new Map<string, string>();

  get cookie(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }

  private keep(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const cleared = attributes.some((a) => /^\s*max-age=0$/i.test(a));
      if (cleared || value === "") this.cookies.delete(name.trim());
      else this.cookies.set(name.trim(), value);
    }
  }

  static async signIn(adminKey = ADMIN_KEY): Promise<ConsoleUser> {
    const user = new ConsoleUser();
    const res = await request("POST", "/admin/sign-in", { form: { admin_key: adminKey } });
    expect(res.status).toBe(303);
    user.keep(res);
    return user;
  }

  async send(method: string, path: string, options: Omit<RequestOptions, "cookie"> = {}): Promise<Response> {
    const res = await request(method, path, { ...options, cookie: this.cookie });
    this.keep(res);
    return res;
  }

  async open(path: string): Promise<Page> {
    const res = await this.send("GET", path);
    return { status: res.status, path, html: await res.text() };
  }

  /**
   * Fills in the form posting to `action` on `page` and sends it, as a browser does: the page's
   * hidden fields, then `typed`. Returns the POST's answer and the page its redirect leads to.
   */
  async submit(
    page: Page,
    action: string,
    typed: Record<string, string> = {},
    headers: Record<string, string> = {},
  ): Promise<{ answer: Response; next: Page }> {
    const answer = await this.send("POST", action, { form: { ...hiddenFields(page.html, action), ...typed }, headers });
    expect(answer.status, `POST ${action}`).toBe(303);
    const next = await this.open(answer.headers.get("location") ?? "");
    return { answer, next };
  }
}

/** The value of the fact labelled `label` on the page ("" when there is none). */
export function factOf(html: string, label: string): string {
  const escaped = label.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`<dt>${escaped}</dt><dd[^>]*>([^<]*)</dd>`).exec(html)?.[1] ?? "";
}

/** The label of every button of a console form on the page, in order. */
export function buttonsOf(html: string): string[] {
  return [...html.matchAll(/<form method="post"[^>]*>.*?<button type="submit"[^>]*>([^<]*)<\/button>/g)].map((m) => m[1]);
}
