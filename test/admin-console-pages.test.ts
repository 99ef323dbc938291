// The admin console's pages, each against what its /api route says: the dashboard's figures,
// admin keys (shown once, revoked), the audit log (filters, CSV), webhooks (set, rotate, remove,
// deliveries), a team's status buttons, shown only where they apply, and a team's usage per tag
// and per end user.
import { env, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import { buttonsOf, ConsoleUser, errorOf, factOf, noticeOf, request, secretOf } from "./console-user";
import { api, createTeam, json, uid, userMessage } from "./helpers";

describe("the dashboard page", () => {
  it("shows the figures GET /api/stats/dashboard gives, for all organizations or one", async () => {
    const team = await createTeam({ credits: 20 });
    const user = await ConsoleUser.signIn();
    const page = await user.open(`/admin/dashboard?organization_id=${team.organizationId}`);
    const figures = await json("GET", `/api/stats/dashboard?organization_id=${team.organizationId}`, 200);
    expect(page.html).toContain(`Organization ${team.organizationId}: ${figures.period}`);
    expect(factOf(page.html, "Organizations")).toBe("1");
    expect(factOf(page.html, "Teams")).toBe("1");
    expect(factOf(page.html, "Teams active")).toBe("1");
    expect(factOf(page.html, "Teams suspended")).toBe("0");
    expect(factOf(page.html, "Jobs this month")).toBe(String(figures.jobs_this_month));
    expect(factOf(page.html, "Credits charged this month")).toBe(String(figures.credits_charged_this_month));
    const all = await user.open("/admin/dashboard");
    const everything = await json("GET", "/api/stats/dashboard", 200);
    expect(all.html).toContain("All organizations");
    expect(Number(factOf(all.html, "Organizations"))).toBeGreaterThanOrEqual(everything.organizations);
    // The API's refusal, with its status.
    const unknown = await user.open("/admin/dashboard?organization_id=no-such-org");
    expect(unknown.status).toBe(404);
    expect(errorOf(unknown.html)).toBe("Organization &#39;no-such-org&#39; not found");
  });
});

describe("the usage page's tags and end users", () => {
  it("tabulates the calls per tag and per end user as GET /api/teams/{id}/usage?group_by= gives them", async () => {
    const team = await createTeam({ credits: 20 });
    for (const [tags, user] of [
      ["checkout,beta", "alice"],
      ["checkout", "bob"],
      ["", ""],
    ]) {
      const headers: Record<string, string> = {};
      if (tags) headers["X-Gateway-Tags"] = tags;
      if (user) headers["X-End-User-Id"] = user;
      const res = await api("POST", "/v1/chat/completions", {
        key: team.key,
        headers,
        body: { model: team.groups[0], messages: userMessage() },
      });
      expect(res.status).toBe(200);
    }
    const user = await ConsoleUser.signIn();
    const page = await user.open(`/admin/teams/${team.teamId}/usage`);
    const byTag = await json("GET", `/api/teams/${team.teamId}/usage?group_by=tag`, 200);
    const tagTable = page.html.slice(
      page.html.indexOf("<caption>Calls per tag</caption>"),
      page.html.indexOf("</table>", page.html.indexOf("Calls per tag")),
    );
    for (const [tag, usage] of Object.entries<any>(byTag.tags)) {
      expect(tagTable).toMatch(new RegExp(`<td>${tag.replace(/[()]/g, "\\$&")}</td><td class="num">${usage.calls}</td>`));
    }
    expect(Object.keys(byTag.tags).sort()).toEqual(["(none)", "beta", "checkout"]);
    const endUsers = page.html.slice(page.html.indexOf("<caption>Calls per end user</caption>"));
    expect(endUsers).toContain("<td>alice</td>");
    expect(endUsers).toContain("<td>bob</td>");
    expect(endUsers).toContain("<td>(none)</td>");
  });
});

describe("the admin keys page", () => {
  it("creates a key shown once, applies the same form once, and revokes it: the key then cannot sign in", async () => {
    const user = await ConsoleUser.signIn();
    const name = uid("console-billing");
    const keys = await user.open("/admin/admin-keys");
    const created = await user.submit(keys, "/admin/admin-keys", { name, role: "billing", organization_id: "" });
    expect(noticeOf(created.next.html)).toBe(`Admin key &#39;${name}&#39; created (billing)`);
    const key = secretOf(created.next.html);
    expect(key).toMatch(/^sk-admin-/);
    // The same form again: the API replays its answer and makes no second key.
    await user.submit(keys, "/admin/admin-keys", { name, role: "billing", organization_id: "" });
    const listed = (await json("GET", "/api/admin-keys?limit=200", 200)).admin_keys.filter((k: { name: string }) => k.name === name);
    expect(listed).toHaveLength(1);

    const reloaded = await user.open("/admin/admin-keys");
    expect(reloaded.html).not.toContain(key);
    expect(reloaded.html).toContain(`aria-label="Revoke the key ${name}"`);
    expect((await ConsoleUser.signIn(key)).cookie).toContain("gateway_console=");

    const revoked = await user.submit(reloaded, `/admin/admin-keys/${listed[0].key_id}/revoke`);
    expect(noticeOf(revoked.next.html)).toBe("Admin key revoked: it is refused from now on");
    expect(revoked.next.html).not.toContain(`aria-label="Revoke the key ${name}"`);
    expect(revoked.next.html).toMatch(/revoked \d{4}-/);
    expect((await request("POST", "/admin/sign-in", { form: { admin_key: key } })).status).toBe(401);
  });

  it("is not offered to a key that may not manage keys", async () => {
    const admin = await json("POST", "/api/admin-keys", 201, { body: { name: uid("console-admin"), role: "admin" } });
    const user = await ConsoleUser.signIn(admin.admin_key);
    const teams = await user.open("/admin/teams");
    expect(teams.html).not.toContain('href="/admin/admin-keys"');
    expect(teams.html).toContain('href="/admin/audit-log"');
    const page = await user.open("/admin/admin-keys");
    expect(page.status).toBe(403);
    expect(buttonsOf(page.html)).toEqual(["Sign out"]);
  });
});

describe("the audit log page", () => {
  it("lists the rows the API's filters select, and downloads the same selection as CSV", async () => {
    const user = await ConsoleUser.signIn();
    const team = await createTeam({ credits: 5 });
    const teamPage = await user.open(`/admin/teams/${team.teamId}`);
    await user.submit(
      teamPage,
      `/admin/teams/${team.teamId}/credits`,
      { credits: "4", reason: "audit me" },
      { "cf-connecting-ip": "198.51.100.9" },
    );

    const filters = `action=credits.add&resource_id=${team.teamId}`;
    const page = await user.open(`/admin/audit-log?${filters}`);
    expect(page.status).toBe(200);
    const rows = [...page.html.matchAll(/<tr><td>\d{4}-[^<]*<\/td>(.*?)<\/tr>/g)].map((m) => m[1]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain("<td>credits.add</td>");
    expect(rows[0]).toContain("198.51.100.9");
    expect(rows[0]).toContain("audit me");
    expect(page.html).toContain(`href="/admin/audit-log.csv?${filters.replace("&", "&amp;")}"`);

    const csv = await user.send("GET", `/admin/audit-log.csv?${filters}`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toMatch(/^text\/csv/);
    expect(csv.headers.get("content-disposition")).toContain("audit-log.csv");
    const lines = (await csv.text()).trim().split("\r\n");
    expect(lines[0]).toMatch(/^seq,at,actor_key_id,/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(team.teamId);
    expect(lines[1]).toContain("198.51.100.9");

    // A date-time picked in the form is UTC; the API's own message for what it refuses.
    const future = await user.open(`/admin/audit-log?${filters}&since=2999-01-01T00:00`);
    expect(future.html).toContain("No audit rows match.");
    const bad = await user.open(`/admin/audit-log?since=yesterday`);
    expect(bad.status).toBe(422);
    expect(errorOf(bad.html)).toContain("must be an ISO 8601 date-time");
    const badCsv = await user.send("GET", "/admin/audit-log.csv?since=yesterday");
    expect(badCsv.status).toBe(303);
    expect(errorOf((await user.open(badCsv.headers.get("location") ?? "")).html)).toContain("must be an ISO 8601 date-time");
  });
});

const receiver = inject("webhookReceiverUrl");

describe("the webhook pages", () => {
  it("set a team's webhook (secret shown once), rotate its secret, list its deliveries and remove it", async () => {
    const user = await ConsoleUser.signIn();
    const team = await createTeam({ credits: 5 });
    const path = `/admin/teams/${team.teamId}/webhook`;
    const empty = await user.open(path);
    expect(empty.html).toContain("No webhook is set for this team.");
    expect(buttonsOf(empty.html)).toEqual(["Sign out", "Save webhook"]);

    const url = `${receiver}/hook/${uid("console")}`;
    const saved = await user.submit(empty, `${path}/set`, { url, events: "team.suspended,job.completed", low_balance_threshold: "" });
    const first = secretOf(saved.next.html);
    expect(first).toMatch(/^whsec_/);
    expect(factOf(saved.next.html, "URL")).toBe(url);
    expect(factOf(saved.next.html, "Events")).toBe("team.suspended, job.completed");
    expect(buttonsOf(saved.next.html)).toEqual(["Sign out", "Save webhook", "Rotate signing secret", "Remove webhook"]);
    expect((await user.open(path)).html).not.toContain(first);

    const rotated = await user.submit(saved.next, `${path}/rotate`);
    const second = secretOf(rotated.next.html);
    expect(second).toMatch(/^whsec_/);
    expect(second).not.toBe(first);
    expect(factOf(rotated.next.html, "Events")).toBe("team.suspended, job.completed");

    const teamPage = await user.open(`/admin/teams/${team.teamId}`);
    await user.submit(teamPage, `/admin/teams/${team.teamId}/suspend`);
    const stub = env.TEAM_LEDGER.getByName(team.teamId);
    for (let i = 0; i < 100; i++) {
      const listed = await json("GET", `/api/teams/${team.teamId}/webhook/deliveries`, 200);
      if (listed.items[0]?.state === "delivered") break;
      await runDurableObjectAlarm(stub);
      await new Promise((r) => setTimeout(r, 50));
    }
    const withDelivery = await user.open(path);
    expect(withDelivery.html).toMatch(
      /<tr><td>team\.suspended<\/td><td>team<\/td><td><span class="delivery-delivered">delivered<\/span><\/td><td class="num">1<\/td>/,
    );

    const removed = await user.submit(withDelivery, `${path}/remove`);
    expect(noticeOf(removed.next.html)).toBe("Webhook of team removed");
    expect(removed.next.html).toContain("No webhook is set for this team.");
    await json("GET", `/api/teams/${team.teamId}/webhook`, 404);
  });

  it("set an organization's webhook, refused with the API's message and the form filled in again", async () => {
    const user = await ConsoleUser.signIn();
    const team = await createTeam();
    const path = `/admin/organizations/${team.organizationId}/webhook`;
    const page = await user.open(path);
    const refused = await user.submit(page, `${path}/set`, {
      url: "https://10.0.0.1/hook",
      events: "job.failed",
      low_balance_threshold: "",
    });
    expect(errorOf(refused.next.html)).toMatch(/^field &#39;url&#39; must not point to a private/);
    expect(refused.next.html).toContain('value="https://10.0.0.1/hook"');
    expect(refused.next.html).toMatch(/value="job.failed" checked=""/);
    expect(refused.next.html).not.toMatch(/value="job.completed" checked=""/);

    const saved = await user.submit(refused.next, `${path}/set`, {
      url: "https://example.com/hook",
      events: "balance.low",
      low_balance_threshold: "10",
    });
    expect(secretOf(saved.next.html)).toMatch(/^whsec_/);
    expect((await json("GET", `/api/organizations/${team.organizationId}/webhook`, 200)).low_balance_threshold).toBe(10);
  });
});

describe("the team page's status buttons", () => {
  it("offer only the changes that apply to the team's status", async () => {
    const user = await ConsoleUser.signIn();
    const team = await createTeam();
    const base = `/admin/teams/${team.teamId}`;
    const statusButtons = (html: string) => buttonsOf(html).filter((b) => ["Suspend", "Pause", "Resume"].includes(b));
    const active = await user.open(base);
    expect(factOf(active.html, "Status")).toBe("active");
    expect(statusButtons(active.html)).toEqual(["Pause", "Suspend"]);
    const paused = (await user.submit(active, `${base}/pause`)).next;
    expect(factOf(paused.html, "Status")).toBe("paused");
    expect(statusButtons(paused.html)).toEqual(["Resume", "Suspend"]);
    const suspended = (await user.submit(paused, `${base}/suspend`)).next;
    expect(statusButtons(suspended.html)).toEqual(["Resume"]);
    const resumed = (await user.submit(suspended, `${base}/resume`)).next;
    expect(noticeOf(resumed.html)).toBe(`Team &#39;${team.teamId}&#39; resumed`);
    expect(statusButtons(resumed.html)).toEqual(["Pause", "Suspend"]);
  });
});

describe("the team page's keys", () => {
  it("lists the keys with their budgets and spend bars; creates one (shown once), rotates and revokes it", async () => {
    const team = await createTeam({ credits: 20, models: [["gpt-4o-mini"], ["gpt-4"]] });
    const user = await ConsoleUser.signIn();
    const page = await user.open(`/admin/teams/${team.teamId}`);
    expect(page.html).toContain("The team&#39;s keys, oldest first");
    expect(page.html).toContain(`aria-label="Rotate the key default"`);

    const created = await user.submit(page, `/admin/teams/${team.teamId}/keys`, {
      name: "batch",
      budget_credits: "3",
      budget_period: "day",
      model_groups: team.groups[0],
      expires_at: "",
    });
    expect(noticeOf(created.next.html)).toBe("Key &#39;batch&#39; created");
    const key = secretOf(created.next.html);
    expect(key).toMatch(/^sk-[0-9a-f]{64}$/);
    const [, batch] = (await json("GET", `/api/teams/${team.teamId}/keys`, 200)).keys;
    expect(batch).toMatchObject({ name: "batch", model_groups: [team.groups[0]], budget: { credits: 3, period: "day" } });

    // The key spends: its bar shows what it spent of its budget.
    const job = await json("POST", "/api/jobs/create", 200, { key, body: { job_type: "t" } });
    await json("POST", `/api/jobs/${job.job_id}/complete`, 200, { key, body: { status: "completed" } });
    const spent = await user.open(`/admin/teams/${team.teamId}`);
    expect(spent.html).not.toContain(key);
    expect(spent.html).toMatch(/<meter min="0" max="3" value="1"[^>]*aria-label="Spent by the key batch this day"/);
    expect(spent.html).toContain("1 of 3");

    const rotated = await user.submit(spent, `/admin/teams/${team.teamId}/keys/${batch.key_id}/rotate`, { grace_seconds: "0" });
    const newKey = secretOf(rotated.next.html);
    expect(newKey).toMatch(/^sk-[0-9a-f]{64}$/);
    expect(
      (await request("GET", `/api/credits/teams/${team.teamId}/balance`, { headers: { authorization: `Bearer ${key}` } })).status,
    ).toBe(401);
    expect(
      (await request("GET", `/api/credits/teams/${team.teamId}/balance`, { headers: { authorization: `Bearer ${newKey}` } })).status,
    ).toBe(200);

    const revoked = await user.submit(rotated.next, `/admin/teams/${team.teamId}/keys/${batch.key_id}/revoke`);
    expect(noticeOf(revoked.next.html)).toBe("Key revoked: it is refused from now on");
    expect(revoked.next.html).not.toContain(`aria-label="Revoke the key batch"`);
    expect(
      (await request("GET", `/api/credits/teams/${team.teamId}/balance`, { headers: { authorization: `Bearer ${newKey}` } })).status,
    ).toBe(401);

    // The API's refusal comes back with the form as typed.
    const refused = await user.submit(revoked.next, `/admin/teams/${team.teamId}/keys`, {
      name: "default",
      budget_credits: "",
      budget_period: "day",
    });
    expect(errorOf(refused.next.html)).toContain("already exists");
  });
});
