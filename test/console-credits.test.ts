import { describe, expect, it } from "vitest";
import { ConsoleUser, errorOf, factOf, noticeOf } from "./console-user";
import { allTransactions, createJob, createTeam, json } from "./helpers";

// A team's Credits page in the console, against what its /api routes say: credits by source,
// the grants (add one with an expiry, void one), the plan allowance (set, remove) and the
// month's statement with its CSV.

describe("the team's credits page", () => {
  it("adds a grant with an expiry, voids one, sets and removes the allowance, and shows the month's statement as the API does", async () => {
    const team = await createTeam({ credits: 12 });
    const user = await ConsoleUser.signIn();
    const path = `/admin/teams/${team.teamId}/credits`;
    let page = await user.open(path);
    expect(page.status).toBe(200);
    expect(factOf(page.html, "Paid")).toBe("12");
    expect(page.html).toContain("No plan allowance: nothing renews.");

    // A promotional grant expiring at a UTC date-time picked in the form.
    const added = await user.submit(page, `${path}/grants`, {
      credits: "30",
      source: "promotional",
      expires_at: "2099-06-30T12:00",
      priority: "10",
      reason: "summer promo",
    });
    expect(noticeOf(added.next.html)).toBe("Grant of 30 promotional credits made");
    const grants = (await json("GET", `/api/credits/teams/${team.teamId}/grants`, 200)).grants;
    const promo = grants.find((g: any) => g.source === "promotional");
    expect(promo).toMatchObject({ credits: 30, priority: 10, expires_at: "2099-06-30T12:00:00.000Z", reason: "summer promo" });
    expect(factOf(added.next.html, "Promotional")).toBe("30");
    expect(factOf(added.next.html, "Next expiry")).toBe("30 promotional at 2099-06-30 12:00:00Z");
    expect(added.next.html).toContain("summer promo");
    // A refused grant shows the API's message with the form as typed.
    const refused = await user.submit(added.next, `${path}/grants`, { credits: "5", source: "paid", expires_at: "2001-01-01T00:00" });
    expect(errorOf(refused.next.html)).toBe("field &#39;expires_at&#39; must be in the future");
    expect(refused.next.html).toContain('value="2001-01-01T00:00"');

    // A job's charge comes from the promotion (priority 10), then the promotion is voided.
    const jobId = await createJob(team);
    await json("POST", `/api/jobs/${jobId}/complete`, 200, { key: team.key, body: { status: "completed" } });
    page = await user.open(path);
    expect(page.html).toContain(`aria-label="Void the promotional grant of 30 credits (summer promo)"`);
    const voided = await user.submit(page, `${path}/grants/${promo.grant_id}/void`);
    expect(noticeOf(voided.next.html)).toBe("Grant voided: what remained of it left the balance");
    expect((await allTransactions(team))[0]).toMatchObject({ kind: "void", amount: -29 });
    expect(voided.next.html).not.toContain("Void the promotional grant");
    expect(factOf(voided.next.html, "Promotional")).toBe("0");

    // The plan allowance.
    const set = await user.submit(voided.next, `${path}/allowance`, { credits: "100", period: "week", anchor: "3", rollover_max: "20" });
    expect(noticeOf(set.next.html)).toBe("Plan allowance: 100 credits each week");
    const allowance = (await json("GET", `/api/credits/teams/${team.teamId}/allowance`, 200)).allowance;
    expect(allowance).toMatchObject({ credits: 100, period: "week", anchor: 3, rollover: { max: 20 } });
    expect(factOf(set.next.html, "Credits per period")).toBe("100");
    expect(factOf(set.next.html, "Rollover")).toBe("up to 20");
    expect(factOf(set.next.html, "Left this period")).toBe("100");
    const removed = await user.submit(set.next, `${path}/allowance/remove`);
    expect(noticeOf(removed.next.html)).toContain("Plan allowance removed");
    expect((await json("GET", `/api/credits/teams/${team.teamId}/balance`, 200)).next_renewal).toBeNull();

    // The month's statement, and its CSV, are the API's.
    const month = new Date().toISOString().slice(0, 7);
    const statement = await json("GET", `/api/credits/teams/${team.teamId}/statement?period=${month}`, 200);
    page = await user.open(`${path}?period=${month}`);
    for (const [label, key] of [
      ["Opening balance", "opening"],
      ["Granted", "granted"],
      ["Consumed", "consumed"],
      ["Voided", "voided"],
      ["Closing balance", "closing"],
    ] as const) {
      expect(factOf(page.html, label), label).toBe(String(statement[key]));
    }
    expect(statement).toMatchObject({ granted: 142, consumed: 1, voided: 29, closing: 112 });
    const csv = await user.send("GET", `${path}/statement.csv?period=${month}`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toContain("text/csv");
    const lines = (await csv.text()).trim().split("\r\n");
    expect(lines.at(-1)).toBe(`total,,,Statement ${month},,,0,142,1,0,0,29,112`);
  });

  it("shows a read-only key the figures and no forms; another team's page is the API's 404", async () => {
    const team = await createTeam({ credits: 3 });
    const viewer = await json("POST", "/api/admin-keys", 201, { body: { name: "credits-viewer", role: "viewer" } });
    const user = await ConsoleUser.signIn(viewer.admin_key);
    const page = await user.open(`/admin/teams/${team.teamId}/credits`);
    expect(page.status).toBe(200);
    expect(factOf(page.html, "Paid")).toBe("3");
    expect(page.html).not.toContain(`action="/admin/teams/${team.teamId}/credits/`);
    const missing = await user.open("/admin/teams/no-such-team/credits");
    expect(missing.status).toBe(404);
  });
});
