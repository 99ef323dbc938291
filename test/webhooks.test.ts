import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import { verifyWebhook } from "../src/webhooks/verify";
import { api, createJob, createOrg, createTeam, json, llmCall, type TestTeam, uid } from "./helpers";

// Signed webhooks against a real local receiver (test/webhook-receiver.ts): events born in the
// team's object with the change they tell of, delivered by its alarm, signed as Standard Webhooks.

const receiver = inject("webhookReceiverUrl");

interface Received {
  headers: Record<string, string>;
  body: string;
  received_at_ms: number;
  answered: number | null;
}

/** A fresh receiver path, with its steering query (`fail=N`, `hang=1`). */
function hookUrl(query = "") {
  const path = `/hook/${uid("h")}`;
  return { path, url: `${receiver}${path}${query ? `?${query}` : ""}` };
}

async function received(path: string): Promise<Received[]> {
  const res = await fetch(`${receiver}/_received?path=${encodeURIComponent(path)}`);
  return (await res.json()) as Received[];
}

const eventOf = (r: Received) => JSON.parse(r.body);
const headersOf = (r: Received) => ({
  "webhook-id": r.headers["webhook-id"],
  "webhook-timestamp": r.headers["webhook-timestamp"],
  "webhook-signature": r.headers["webhook-signature"],
});

/** Runs the team's alarm (as the runtime would) until `done` holds; at most ~10 s. */
async function until<T>(teamId: string, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const stub = env.TEAM_LEDGER.getByName(teamId);
  for (let i = 0; i < 200; i++) {
    const value = await read();
    if (done(value)) return value;
    await runDurableObjectAlarm(stub);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("timed out waiting for webhook deliveries");
}

async function setTeamWebhook(team: TestTeam, body: Record<string, unknown>) {
  return json("PUT", `/api/teams/${team.teamId}/webhook`, 200, { body });
}

async function deliveries(teamId: string) {
  return json("GET", `/api/teams/${teamId}/webhook/deliveries`, 200);
}

async function finishedJob(team: TestTeam, status: "completed" | "failed" = "completed") {
  const jobId = await createJob(team);
  expect((await llmCall(team, jobId)).status).toBe(200);
  await json("POST", `/api/jobs/${jobId}/complete`, 200, { key: team.key, body: { status } });
  return jobId;
}

describe("webhooks: balance.low", () => {
  it("a team that runs low gets exactly one balance.low, correctly signed, and another after a top-up", async () => {
    const team = await createTeam({ credits: 5 });
    const hook = hookUrl();
    const saved = await setTeamWebhook(team, { url: hook.url, events: ["balance.low"], low_balance_threshold: 3 });
    expect(saved.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);

    // 5 → 4 → 3 (not below) → 2 (crossing) → 1 (still below): one crossing.
    for (let i = 0; i < 4; i++) await finishedJob(team);
    const got = await until(
      team.teamId,
      () => received(hook.path),
      (r) => r.length >= 1,
    );
    // Every event is delivered by now (nothing pending): only one ever existed.
    const listed = await until(
      team.teamId,
      () => deliveries(team.teamId),
      (d) => d.items.every((i: any) => i.state === "delivered"),
    );
    expect(listed.items).toHaveLength(1);
    expect((await received(hook.path)).length).toBe(1);

    const event = eventOf(got[0]);
    expect(event).toMatchObject({
      type: "balance.low",
      data: {
        team_id: team.teamId,
        organization_id: team.organizationId,
        low_balance_threshold: 3,
        balance: { credits_remaining: 3, credits_reserved: 1, credits_available: 2 },
      },
    });
    expect(event.id).toBe(got[0].headers["webhook-id"]);
    expect(Date.parse(event.timestamp)).not.toBeNaN();
    expect(await verifyWebhook(saved.secret, headersOf(got[0]), got[0].body)).toBe(true);

    // A top-up re-arms it; the next crossing fires once more.
    await json("POST", `/api/credits/teams/${team.teamId}/add`, 200, { body: { credits: 10, reason: "top-up" } });
    for (let i = 0; i < 10; i++) await finishedJob(team);
    const after = await until(
      team.teamId,
      () => received(hook.path),
      (r) => r.length >= 2,
    );
    await until(
      team.teamId,
      () => deliveries(team.teamId),
      (d) => d.items.every((i: any) => i.state === "delivered"),
    );
    expect((await received(hook.path)).length).toBe(2);
    expect(eventOf(after[1]).data.balance.credits_available).toBe(2);
    expect(eventOf(after[1]).id).not.toBe(event.id);
  });

  it("concurrent jobs crossing the threshold together fire one balance.low, and one balance.exhausted at zero", async () => {
    const team = await createTeam({ credits: 8 });
    const hook = hookUrl();
    await setTeamWebhook(team, { url: hook.url, events: ["balance.low", "balance.exhausted"], low_balance_threshold: 5 });
    const created = await Promise.all(
      Array.from({ length: 10 }, () => api("POST", "/api/jobs/create", { key: team.key, body: { team_id: team.teamId, job_type: "t" } })),
    );
    expect(created.filter((r) => r.status === 200)).toHaveLength(8);
    const listed = await until(
      team.teamId,
      () => deliveries(team.teamId),
      (d) => d.items.length === 2 && d.items.every((i: any) => i.state === "delivered"),
    );
    const got = await received(hook.path);
    expect(got.map((r) => eventOf(r).type)).toEqual(["balance.low", "balance.exhausted"]);
    expect(eventOf(got[1]).data.balance.credits_available).toBe(0);
    expect(listed.items.map((i: any) => i.type)).toEqual(["balance.exhausted", "balance.low"]); // newest first
  });
});

describe("webhooks: delivery", () => {
  it("a receiver that fails twice then succeeds gets the event on the third try, and later events wait for it", async () => {
    const team = await createTeam({ credits: 50 });
    const hook = hookUrl("fail=2");
    await setTeamWebhook(team, { url: hook.url, events: ["job.completed", "job.failed"] });
    const first = await finishedJob(team);
    const second = await finishedJob(team, "failed");

    const got = await until(
      team.teamId,
      () => received(hook.path),
      (r) => r.filter((x) => x.answered === 204).length >= 2,
    );
    // Attempts 1-2 (500) and 3 (204) are the first event; the second only went after it.
    expect(got.map((r) => r.answered)).toEqual([500, 500, 204, 204]);
    expect(new Set(got.slice(0, 3).map((r) => r.headers["webhook-id"])).size).toBe(1);
    expect(got.slice(0, 3).map((r) => eventOf(r).data.job_id)).toEqual([first, first, first]);
    expect(eventOf(got[3])).toMatchObject({ type: "job.failed", data: { job_id: second, credits_charged: 0 } });
    expect(eventOf(got[0])).toMatchObject({ type: "job.completed", data: { job_id: first, credits_charged: 1 } });

    const listed = await deliveries(team.teamId);
    const firstEvent = listed.items.find((i: any) => i.type === "job.completed");
    expect(firstEvent).toMatchObject({ state: "delivered", attempts: 3, last_status_code: 204, next_retry_at: null });
    expect(firstEvent.recent_attempts.map((a: any) => a.status_code)).toEqual([500, 500, 204]);
    expect(firstEvent.recent_attempts[0].error).toBe("receiver answered 500");
  });

  it("a receiver that hangs does not delay calls; the attempt times out and is retried", async () => {
    const team = await createTeam({ credits: 50 });
    const hook = hookUrl("hang=1");
    await setTeamWebhook(team, { url: hook.url, events: ["job.completed"] });
    await finishedJob(team);
    await until(
      team.teamId,
      () => received(hook.path),
      (r) => r.length === 1,
    );

    // While that delivery is still waiting for an answer, the team works as usual.
    await finishedJob(team);
    expect((await received(hook.path))[0].answered).toBeNull();

    // The attempt is given up after WEBHOOK_ATTEMPT_TIMEOUT_MS and retried; the first event still comes first.
    const listed = await until(
      team.teamId,
      () => deliveries(team.teamId),
      (d) => d.items.some((i: any) => i.attempts >= 1),
    );
    const waiting = listed.items.find((i: any) => i.attempts >= 1);
    expect(waiting).toMatchObject({ state: "pending", last_status_code: null, last_error: "no answer within 2000 ms" });
    expect(Date.parse(waiting.next_retry_at)).not.toBeNaN();
    await fetch(`${receiver}/_release?path=${encodeURIComponent(hook.path)}`, { method: "POST" });
  });
});

describe("webhooks: retry window and job.expired", () => {
  it("an event still failing 24 hours after it was born is marked failed, and the next one goes", async () => {
    const team = await createTeam({ credits: 20 });
    const hook = hookUrl("fail=1000");
    await setTeamWebhook(team, { url: hook.url, events: ["job.completed"] });
    await finishedJob(team);
    await until(
      team.teamId,
      () => received(hook.path),
      (r) => r.length >= 1,
    );
    // Age the event instead of waiting a day: its next failure ends its retries.
    await runInDurableObject(env.TEAM_LEDGER.getByName(team.teamId), (_instance, state) => {
      state.storage.sql.exec("UPDATE webhook_outbox SET created_at_ms = created_at_ms - 86400000");
    });
    await finishedJob(team);
    const listed = await until(
      team.teamId,
      () => deliveries(team.teamId),
      (d) => d.items.some((i: any) => i.state === "failed") && d.items.some((i: any) => i.state === "pending" && i.attempts >= 1),
    );
    const [newer, older] = listed.items;
    expect(older).toMatchObject({ state: "failed", last_status_code: 500, next_retry_at: null });
    expect(newer).toMatchObject({ state: "pending", last_status_code: 500 });
    expect(Date.parse(newer.next_retry_at)).toBeGreaterThan(Date.parse(newer.last_attempt_at));
  });

  it("a job the alarm expires is told as job.expired, with the balance after its release", async () => {
    const team = await createTeam({ credits: 5 });
    const hook = hookUrl();
    await setTeamWebhook(team, { url: hook.url, events: ["job.expired"] });
    const job = await createJob(team);
    const stub = env.TEAM_LEDGER.getByName(team.teamId);
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec("UPDATE jobs SET expires_at_ms = ? WHERE job_id = ?", Date.now() - 1000, job);
    });
    const [got] = await until(
      team.teamId,
      () => received(hook.path),
      (r) => r.length === 1,
    );
    expect(eventOf(got)).toMatchObject({
      type: "job.expired",
      data: { team_id: team.teamId, job_id: job, credits_charged: 0, balance: { credits_available: 5, credits_reserved: 0 } },
    });
  });
});

describe("webhooks: verification snippet", () => {
  it("rejects a tampered body, another secret, an old timestamp and a malformed signature", async () => {
    const team = await createTeam({ credits: 10 });
    const hook = hookUrl();
    const saved = await setTeamWebhook(team, { url: hook.url, events: ["job.completed"] });
    await finishedJob(team);
    const [delivery] = await until(
      team.teamId,
      () => received(hook.path),
      (r) => r.length === 1,
    );
    const headers = headersOf(delivery);
    const ts = Number(headers["webhook-timestamp"]);

    expect(await verifyWebhook(saved.secret, headers, delivery.body, ts)).toBe(true);
    expect(await verifyWebhook(saved.secret, headers, delivery.body.replace('"credits_charged":1', '"credits_charged":0'), ts)).toBe(false);
    const other = await json("PUT", `/api/teams/${(await createTeam()).teamId}/webhook`, 200, {
      body: { url: hook.url, events: ["job.failed"] },
    });
    expect(await verifyWebhook(other.secret, headers, delivery.body, ts)).toBe(false);
    expect(await verifyWebhook(saved.secret, headers, delivery.body, ts + 10 * 60)).toBe(false);
    expect(await verifyWebhook(saved.secret, { ...headers, "webhook-id": "evt_other" }, delivery.body, ts)).toBe(false);
    expect(await verifyWebhook(saved.secret, { ...headers, "webhook-signature": "v1,not*base64" }, delivery.body, ts)).toBe(false);
    expect(
      await verifyWebhook(
        saved.secret,
        { ...headers, "webhook-signature": `v0,${headers["webhook-signature"].slice(3)}` },
        delivery.body,
        ts,
      ),
    ).toBe(false);
  });
});

describe("webhooks: configuration", () => {
  it("refuses URLs that are not https or point to private addresses (422), and unknown events", async () => {
    const team = await createTeam();
    for (const [url, msg] of [
      ["http://example.com/hook", "https://"],
      ["https://10.1.2.3/hook", "private"],
      ["https://169.254.169.254/latest", "private"],
      ["https://[::1]/hook", "private"],
      ["https://[fd00::1]/hook", "private"],
      ["https://metadata.google.internal/", "private"],
      ["not a url", "absolute URL"],
    ]) {
      const res = await json("PUT", `/api/teams/${team.teamId}/webhook`, 422, { body: { url, events: ["job.completed"] } });
      expect(res.detail[0].loc).toEqual(["body", "url"]);
      expect(res.detail[0].msg).toContain(msg);
    }
    const bad = await json("PUT", `/api/teams/${team.teamId}/webhook`, 422, {
      body: { url: "https://example.com/h", events: ["job.done"] },
    });
    expect(bad.detail[0].msg).toContain("must be one of");
    const noThreshold = await json("PUT", `/api/teams/${team.teamId}/webhook`, 422, { body: { url: "https://example.com/h" } });
    expect(noThreshold.detail[0].loc).toEqual(["body", "low_balance_threshold"]);
    await json("PUT", "/api/teams/no-such-team/webhook", 404, { body: { url: "https://example.com/h", events: ["job.completed"] } });
    // Only the admin sets webhooks: the team's own key is refused, and nothing is set.
    await json("PUT", `/api/teams/${team.teamId}/webhook`, 403, {
      key: team.key,
      body: { url: "https://example.com/h", events: ["job.completed"] },
    });
    await json("GET", `/api/teams/${team.teamId}/webhook`, 404);
    // A public https URL is accepted.
    await setTeamWebhook(team, { url: "https://hooks.example.com/gateway", events: ["job.completed"] });
  });

  it("shows the secret once; GET never shows it; DELETE stops deliveries", async () => {
    const team = await createTeam({ credits: 10 });
    const hook = hookUrl();
    const saved = await setTeamWebhook(team, { url: hook.url, events: ["job.completed"] });
    const shown = await json("GET", `/api/teams/${team.teamId}/webhook`, 200);
    expect(shown).toMatchObject({
      scope: "team",
      owner_id: team.teamId,
      url: hook.url,
      events: ["job.completed"],
      low_balance_threshold: null,
    });
    expect(JSON.stringify(shown)).not.toContain(saved.secret);
    await finishedJob(team);
    await until(
      team.teamId,
      () => received(hook.path),
      (r) => r.length === 1,
    );
    expect(JSON.stringify(await deliveries(team.teamId))).not.toContain(saved.secret);

    await json("DELETE", `/api/teams/${team.teamId}/webhook`, 200);
    await json("GET", `/api/teams/${team.teamId}/webhook`, 404);
    await json("DELETE", `/api/teams/${team.teamId}/webhook`, 404);
    await finishedJob(team);
    await runDurableObjectAlarm(env.TEAM_LEDGER.getByName(team.teamId));
    expect(await received(hook.path)).toHaveLength(1);
  });

  it("an organization's webhook reaches its teams, those created later too, signed with its secret", async () => {
    const org = await createOrg();
    const group = (await createTeam()).groups[0];
    const newTeam = async (credits: number) => {
      const teamId = uid("team");
      const created = await json("POST", "/api/teams/create", 200, {
        body: { organization_id: org, team_id: teamId, model_groups: [group], credits_allocated: credits },
      });
      return { teamId, organizationId: org, key: created.virtual_key, groups: [group], created } as TestTeam;
    };
    const early = await newTeam(10);
    const hook = hookUrl();
    const saved = await json("PUT", `/api/organizations/${org}/webhook`, 200, {
      body: { url: hook.url, events: ["job.completed", "team.suspended"] },
    });
    const late = await newTeam(10);

    await finishedJob(early);
    await finishedJob(late);
    await json("PUT", `/api/teams/${late.teamId}/suspend`, 200);
    for (const t of [early, late]) await runDurableObjectAlarm(env.TEAM_LEDGER.getByName(t.teamId));
    const got = await until(
      late.teamId,
      () => received(hook.path),
      (r) => r.length >= 3,
    );
    const events = got.map(eventOf);
    expect(events.map((e) => `${e.type}:${e.data.team_id}`).sort()).toEqual(
      [`job.completed:${early.teamId}`, `job.completed:${late.teamId}`, `team.suspended:${late.teamId}`].sort(),
    );
    for (const r of got) expect(await verifyWebhook(saved.secret, headersOf(r), r.body)).toBe(true);
    expect((await deliveries(late.teamId)).items.every((i: any) => i.scope === "organization")).toBe(true);

    await json("DELETE", `/api/organizations/${org}/webhook`, 200);
    await finishedJob(early);
    await runDurableObjectAlarm(env.TEAM_LEDGER.getByName(early.teamId));
    expect(await received(hook.path)).toHaveLength(3);
    await json("PUT", "/api/organizations/no-such-org/webhook", 404, { body: { url: hook.url, events: ["job.completed"] } });
  });
});

describe("webhooks: documentation", () => {
  it("docs/webhooks.md quotes the verification code the tests use, exactly", async () => {
    const page = (await import("../docs/webhooks.md?raw")).default as string;
    const snippet = (await import("../src/webhooks/verify.ts?raw")).default as string;
    expect(snippet).toContain("export async function verifyWebhook");
    expect(page).toContain(`\`\`\`ts\n${snippet}\`\`\``);
  });
});
