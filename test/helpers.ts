import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import type { CallBudget } from "../src/ledger/rules/holds";

export const ADMIN_KEY = "sk-admin-test-0f3c9a2b7d4e4c1f9a8b6d5e";
const BASE = "http://gateway.test";

let counter = 0;
/** A fresh client-chosen id, so each test owns its data. */
export function uid(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}-${crypto.randomUUID().slice(0, 8)}`;
}

/**
 * A call's budget as the Worker hands it to the ledger's beginCall: a plain chat call with a
 * small prompt, no max_tokens, one choice, the test config's 3 s per attempt. Record the call
 * under the same `callId`, or its hold is settled as unrecorded when its job ends.
 */
export function callBudget(callId: string = crypto.randomUUID(), overrides: Partial<CallBudget> = {}): CallBudget {
  return {
    callId,
    promptTokens: 20,
    maxTokens: null,
    choices: 1,
    limits: { attemptMs: 3_000, answerMs: 0 },
    stream: false,
    ...overrides,
  };
}

export interface CallOptions {
  key?: string | null;
  body?: unknown;
  headers?: Record<string, string>;
  rawBody?: BodyInit;
}

/** One request to the gateway, in-process (no server), the way clients send it. */
export async function api(method: string, path: string, options: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key !== null) headers.authorization ??= `Bearer ${options.key ?? ADMIN_KEY}`;
  let body: BodyInit | undefined = options.rawBody;
  if (options.body !== undefined) {
    headers["content-type"] ??= "application/json";
    body = JSON.stringify(options.body);
  }
  return exports.default.fetch(new Request(`${BASE}${path}`, { method, headers, body }));
}

/** Like api(), but expects `status` and returns the parsed JSON body. */
export async function json<T = any>(method: string, path: string, status: number, options: CallOptions = {}): Promise<T> {
  const res = await api(method, path, options);
  const text = await res.text();
  expect(res.status, `${method} ${path} → ${res.status}: ${text}`).toBe(status);
  return text ? JSON.parse(text) : (undefined as T);
}

export async function createOrg(id = uid("org")): Promise<string> {
  await json("POST", "/api/organizations/create", 200, { body: { organization_id: id, name: `Org ${id}` } });
  return id;
}

export async function createGroup(models: string[], name = uid("group")): Promise<string> {
  await json("POST", "/api/model-groups/create", 200, {
    body: { group_name: name, models: models.map((model_name, priority) => ({ model_name, priority })) },
  });
  return name;
}

export interface TestTeam {
  teamId: string;
  organizationId: string;
  key: string;
  groups: string[];
  created: any;
}

export async function createTeam(
  options: { credits?: number; models?: string[][]; extra?: Record<string, unknown> } = {},
): Promise<TestTeam> {
  const organizationId = await createOrg();
  const groups: string[] = [];
  for (const models of options.models ?? [["gpt-4o-mini"]]) groups.push(await createGroup(models));
  const teamId = uid("team");
  const created = await json("POST", "/api/teams/create", 200, {
    body: {
      organization_id: organizationId,
      team_id: teamId,
      model_groups: groups,
      credits_allocated: options.credits ?? 100,
      ...options.extra,
    },
  });
  return { teamId, organizationId, key: created.virtual_key, groups, created };
}

export async function createJob(team: TestTeam, jobType = "test_job"): Promise<string> {
  const job = await json("POST", "/api/jobs/create", 200, { key: team.key, body: { team_id: team.teamId, job_type: jobType } });
  return job.job_id;
}

export function userMessage(content = "How do I reset my password?") {
  return [{ role: "user", content }];
}

export async function llmCall(team: TestTeam, jobId: string, group = team.groups[0], extra: Record<string, unknown> = {}) {
  return api("POST", `/api/jobs/${jobId}/llm-call`, { key: team.key, body: { model_group: group, messages: userMessage(), ...extra } });
}

export async function balance(team: TestTeam) {
  return json("GET", `/api/credits/teams/${team.teamId}/balance`, 200, { key: team.key });
}

export async function allTransactions(team: TestTeam): Promise<any[]> {
  const rows: any[] = [];
  for (let offset = 0; ; offset += 200) {
    const page = await json("GET", `/api/credits/teams/${team.teamId}/transactions?limit=200&offset=${offset}`, 200);
    rows.push(...page.transactions);
    if (!page.has_more) return rows;
  }
}

async function openJobsReserved(team: TestTeam): Promise<number> {
  let open = 0;
  for (const status of ["pending", "in_progress"]) {
    for (let offset = 0; ; offset += 200) {
      const page = await json("GET", `/api/teams/${team.teamId}/jobs?status=${status}&limit=200&offset=${offset}`, 200);
      open += page.jobs.length;
      if (!page.has_more) break;
    }
  }
  return open; // each open job holds a reservation of 1 credit
}

/**
 * The money invariant: remaining = Σ ledger amounts; reserved = Σ reserved changes = what the
 * open jobs hold; held (calls in flight) = Σ held changes; available is net of reservations and
 * holds (exactly remaining − held with no job open); every row chains to the previous one; no
 * negative balance unless the test is about the documented consumption overrun.
 */
export async function expectLedgerConsistent(team: TestTeam, options: { allowOverrun?: boolean; callsEnded?: boolean } = {}) {
  const [b, rows, openReserved] = await Promise.all([
    json("GET", `/api/credits/teams/${team.teamId}/balance`, 200),
    allTransactions(team),
    openJobsReserved(team),
  ]);
  const sum = rows.reduce((s, r) => s + r.amount, 0);
  const reserved = rows.reduce((s, r) => s + r.reserved_change, 0);
  expect(b.credits_remaining).toBe(sum);
  expect(b.credits_reserved).toBe(reserved);
  expect(b.credits_reserved).toBe(openReserved);
  // What calls in flight hold: hold rows add it, capture rows take it away, in micro-credits.
  const heldMicro = rows.reduce((s, r) => s + r.held_change_micro, 0);
  expect(heldMicro).toBeGreaterThanOrEqual(0);
  expect(b.credits_held).toBe(Math.ceil(heldMicro / 1_000_000));
  // Once every call of the team has ended (recorded), nothing is held any more.
  if (options.callsEnded) expect({ credits_held: b.credits_held, held_micro: heldMicro }).toEqual({ credits_held: 0, held_micro: 0 });
  if (!options.allowOverrun) expect(b.credits_remaining).toBeGreaterThanOrEqual(0);
  // What the team can spend is net of everything its open jobs hold: their reservations and what their calls in flight hold.
  expect(b.credits_available).toBeLessThanOrEqual(b.credits_remaining - b.credits_reserved);
  expect(b.credits_available).toBeLessThanOrEqual(b.credits_remaining - b.credits_held);
  if (openReserved === 0) expect(b.credits_available).toBe(b.credits_remaining - b.credits_held);
  const chronological = [...rows].reverse();
  for (let i = 1; i < chronological.length; i++) {
    expect(chronological[i].balance_before).toBe(chronological[i - 1].balance_after);
  }
  for (const r of rows) expect(r.balance_after - r.balance_before).toBe(r.amount);
  return b;
}

/** Mock LiteLLM's request log, filtered by the `user` (team id) the gateway sent. */
export async function upstreamRequests(mockUrl: string, teamId: string): Promise<any[]> {
  const res = await fetch(`${mockUrl}/__mock/requests?user=${encodeURIComponent(teamId)}`);
  return ((await res.json()) as { requests: any[] }).requests;
}

/** Every model name the mock knows, as a team might see it leak. */
export const BASE_MODELS = ["gpt-3.5-turbo", "gpt-4o-mini", "gpt-4-turbo", "gpt-4"];

/** A job as its team sees it, with the raw text for leak checks. */
export async function jobView(team: TestTeam, jobId: string) {
  const res = await api("GET", `/api/jobs/${jobId}`, { key: team.key });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return { job: JSON.parse(text), text };
}

export function expectNoModelNames(text: string) {
  for (const model of BASE_MODELS) expect(text).not.toContain(model);
}

/** One SSE event block: its `event` name (null for unnamed events) and its `data` lines joined. */
export function parseSseBlock(block: string): { event: string | null; data: string } {
  const lines = block.split("\n");
  const event =
    lines
      .find((l) => l.startsWith("event:"))
      ?.slice(6)
      .trim() ?? null;
  const data = lines
    .filter((l) => l.startsWith("data:"))
    .map((l) => l.slice(5).trimStart())
    .join("\n");
  return { event, data };
}

/** The events of a whole SSE answer, read to its end. */
export async function sseEventsOf(res: Response): Promise<Array<{ event: string | null; data: string }>> {
  const text = await res.text();
  return text
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map(parseSseBlock);
}

/** Polls `check` until it gives a value (work that ends in the background, such as a stream's record), or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The JSON of an answer without the model's own text (the mock names its model in it), for checks that nothing of the provider leaks. */
export function withoutText(value: unknown): string {
  return JSON.stringify(value, (key, v) => (["text", "delta", "output_text", "partial_json", "arguments"].includes(key) ? undefined : v));
}
