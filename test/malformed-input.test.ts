import { env } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import {
  ADMIN_KEY,
  allTransactions,
  api,
  createJob,
  createTeam,
  expectLedgerConsistent,
  json,
  type TestTeam,
  upstreamRequests,
  userMessage,
} from "./helpers";

// Garbage in, a specific 4xx out, and nothing written: every request here is malformed in one
// way, gets `{"detail": ...}` (422: a list of {loc, msg, type} naming the field), and leaves D1,
// the team's ledger, its job and the upstream exactly as they were.

const mockUrl = inject("mockLiteLLMUrl");
const D1_TABLES = [
  "organizations",
  "model_groups",
  "model_group_models",
  "teams",
  "team_model_groups",
  "api_keys",
  "model_pricing",
  "idempotency_records",
];
const MiB = 1024 * 1024;

interface Fixture {
  team: TestTeam;
  jobId: string;
}

async function d1RowCounts(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of D1_TABLES) {
    counts[table] = (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table}`).first<number>("n")) ?? 0;
  }
  return counts;
}

/** Everything a malformed request could have changed: D1 rows, the ledger, the job, the upstream log. */
async function snapshot({ team, jobId }: Fixture) {
  return {
    d1: await d1RowCounts(),
    balance: await json("GET", `/api/credits/teams/${team.teamId}/balance`, 200),
    transactions: (await allTransactions(team)).length,
    job: await json("GET", `/api/jobs/${jobId}`, 200, { key: team.key }),
    upstream: (await upstreamRequests(mockUrl, team.teamId)).length,
  };
}

type Loc = Array<string | number>;

interface Case {
  name: string;
  method: string;
  path: (f: Fixture) => string;
  /** Which key sends it (default: admin). */
  as?: "admin" | "team";
  body?: (f: Fixture) => unknown;
  rawBody?: BodyInit | (() => BodyInit);
  headers?: Record<string, string>;
  status: number;
  /** For 422: the loc one of the issues must have. */
  loc?: Loc;
  /** For string details: what it must say. */
  detail?: RegExp;
}

const team = (f: Fixture) => f.team.teamId;
const callBody = (f: Fixture, extra: Record<string, unknown> = {}) => ({
  model_group: f.team.groups[0],
  messages: userMessage(),
  ...extra,
});
const createOrg = (extra: Record<string, unknown>) => () => ({
  organization_id: `org-${crypto.randomUUID().slice(0, 8)}`,
  name: "Acme",
  ...extra,
});
const createTeamBody = (extra: Record<string, unknown>) => (f: Fixture) => ({
  organization_id: f.team.organizationId,
  team_id: `t-${crypto.randomUUID().slice(0, 8)}`,
  model_groups: f.team.groups,
  credits_allocated: 10,
  ...extra,
});
const nested = (depth: number): Record<string, unknown> => (depth === 0 ? { leaf: true } : { level: nested(depth - 1) });
const SQL_IDS = ["acme corp", "acme/corp", "acme'corp", 'acme"corp', "x'; DROP TABLE teams; --", "1 OR 1=1", "a\u0000b", "", "😀"];

const CASES: Case[] = [
  // --- the body is not a JSON object
  {
    name: "invalid JSON",
    method: "POST",
    path: () => "/api/organizations/create",
    rawBody: '{"organization_id": "x", ',
    headers: { "content-type": "application/json" },
    status: 422,
    loc: ["body"],
  },
  {
    name: "JSON with a trailing comma",
    method: "POST",
    path: () => "/api/jobs/create",
    as: "team",
    rawBody: '{"team_id": "x", "job_type": "t",}',
    headers: { "content-type": "application/json" },
    status: 422,
    loc: ["body"],
  },
  {
    name: "an empty body",
    method: "POST",
    path: () => "/api/organizations/create",
    rawBody: "",
    headers: { "content-type": "application/json" },
    status: 422,
    loc: ["body"],
  },
  {
    name: "JSON null",
    method: "POST",
    path: () => "/api/organizations/create",
    rawBody: "null",
    headers: { "content-type": "application/json" },
    status: 422,
    loc: ["body"],
  },
  {
    name: "a JSON array instead of an object",
    method: "POST",
    path: () => "/api/jobs/create",
    as: "team",
    body: (f) => [{ team_id: team(f), job_type: "t" }],
    status: 422,
    loc: ["body"],
  },
  {
    name: "a JSON string instead of an object",
    method: "POST",
    path: (f) => `/api/credits/teams/${team(f)}/add`,
    body: () => "10",
    status: 422,
    loc: ["body"],
  },
  {
    name: "wrong content type (text/plain)",
    method: "POST",
    path: () => "/api/organizations/create",
    rawBody: JSON.stringify({ organization_id: "ct-plain", name: "x" }),
    headers: { "content-type": "text/plain" },
    status: 422,
    loc: ["body"],
  },
  {
    name: "wrong content type (form)",
    method: "POST",
    path: (f) => `/api/credits/teams/${team(f)}/add`,
    rawBody: "credits=10",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    status: 422,
    loc: ["body"],
  },
  {
    name: "no content type",
    method: "POST",
    path: (f) => `/api/jobs/${f.jobId}/complete`,
    as: "team",
    rawBody: JSON.stringify({ status: "completed" }),
    status: 422,
    loc: ["body"],
  },
  {
    name: "no body at all",
    method: "POST",
    path: (f) => `/api/jobs/${f.jobId}/llm-call`,
    as: "team",
    status: 422,
    loc: ["body", "messages"],
  },
  {
    name: "JSON with a BOM and a charset is read, and its bad field named",
    method: "POST",
    path: (f) => `/api/credits/teams/${team(f)}/add`,
    rawBody: '\uFEFF{"credits": -1}',
    headers: { "content-type": "application/json; charset=utf-8" },
    status: 422,
    loc: ["body", "credits"],
  },

  // --- wrong types
  {
    name: "credits as a string",
    method: "POST",
    path: (f) => `/api/credits/teams/${team(f)}/add`,
    body: () => ({ credits: "10" }),
    status: 422,
    loc: ["body", "credits"],
  },
  {
    name: "credits as a boolean",
    method: "POST",
    path: (f) => `/api/credits/teams/${team(f)}/add`,
    body: () => ({ credits: true }),
    status: 422,
    loc: ["body", "credits"],
  },
  {
    name: "organization_id as a number",
    method: "POST",
    path: () => "/api/organizations/create",
    body: () => ({ organization_id: 42, name: "x" }),
    status: 422,
    loc: ["body", "organization_id"],
  },
  {
    name: "model_groups as a string",
    method: "POST",
    path: () => "/api/teams/create",
    body: createTeamBody({ model_groups: "fast" }),
    status: 422,
    loc: ["body", "model_groups"],
  },
  {
    name: "messages as a string",
    method: "POST",
    path: (f) => `/api/jobs/${f.jobId}/llm-call`,
    as: "team",
    body: (f) => callBody(f, { messages: "hello" }),
    status: 422,
    loc: ["body", "messages"],
  },
  {
    name: "a message without a role",
    method: "POST",
    path: (f) => `/api/jobs/${f.jobId}/llm-call`,
    as: "team",
    body: (f) => callBody(f, { messages: [{ content: "hi" }] }),
    status: 422,
    loc: ["body", "messages", 0, "role"],
  },
  {
    name: "temperature as a string",
    method: "POST",
    path: (f) => `/api/jobs/${f.jobId}/llm-call`,
    as: "team",
    body: (f) => callBody(f, { temperature: "hot" }),
    status: 422,
    loc: ["body", "temperature"],
  },
  {
    name: "metadata as an array",
    method: "POST",
    path: () => "/api/jobs/create",
    as: "team",
    body: (f) => ({ team_id: team(f), job_type: "t", metadata: [1, 2] }),
    status: 422,
    loc: ["body", "metadata"],
  },
  {
    name: "metadata as a string",
    method: "POST",
    path: () => "/api/organizations/create",
    body: createOrg({ metadata: "{}" }),
    status: 422,
    loc: ["body", "metadata"],
  },
  {
    name: "grace_seconds as a string",
    method: "POST",
    path: (f) => `/api/teams/${team(f)}/keys/rotate`,
    body: () => ({ grace_seconds: "60" }),
    status: 422,
    loc: ["body", "grace_seconds"],
  },

  // --- missing fields
  {
    name: "organization without a name",
    method: "POST",
    path: () => "/api/organizations/create",
    body: () => ({ organization_id: "no-name" }),
    status: 422,
    loc: ["body", "name"],
  },
  {
    name: "job without a job_type",
    method: "POST",
    path: () => "/api/jobs/create",
    as: "team",
    body: (f) => ({ team_id: team(f) }),
    status: 422,
    loc: ["body", "job_type"],
  },
  {
    name: "job with a team_id that is not a string (it may be left out: the key names the team)",
    method: "POST",
    path: () => "/api/jobs/create",
    as: "team",
    body: () => ({ team_id: 7, job_type: "t" }),
    status: 422,
    loc: ["body", "team_id"],
  },
  {
    name: "call without messages",
    method: "POST",
    path: (f) => `/api/jobs/${f.jobId}/llm-call`,
    as: "team",
    body: (f) => ({ model_group: f.team.groups[0] }),
    status: 422,
    loc: ["body", "messages"],
  },
  {
    name: "call without a model group",
    method: "POST",
    path: (f) => `/api/jobs/${f.jobId}/llm-call`,
    as: "team",
    body: () => ({ messages: userMessage() }),
    status: 422,
    loc: ["body", "model_group"],
  },
  {
    name: "call with no messages",
    method: "POST",
    path: (f) => `/api/jobs/${f.jobId}/llm-call`,
    as: "team",
    body: (f) => callBody(f, { messages: [] }),
    status: 422,
    loc: ["body", "messages"],
  },
  {
    name: "complete without a status",
    method: "POST",
    path: (f) => `/api/jobs/${f.jobId}/complete`,
    as: "team",
    body: () => ({ error_message: null }),
    status: 422,
    loc: ["body", "status"],
  },
  {
    name: "add credits without credits",
    method: "POST",
    path: (f) => `/api/credits/teams/${team(f)}/add`,
    body: () => ({ reason: "gift" }),
    status: 422,
    loc: ["body", "credits"],
  },
  {
    name: "group without models",
    method: "POST",
    path: () => "/api/model-groups/create",
    body: () => ({ group_name: "g-no-models" }),
    status: 422,
    loc: ["body", "models"],
  },

  // --- ids with spaces, slashes, quotes, SQL
  ...SQL_IDS.map(
    (id): Case => ({
      name: `organization_id ${JSON.stringify(id)}`,
      method: "POST",
      path: () => "/api/organizations/create",
      body: () => ({ organization_id: id, name: "x" }),
      status: 422,
      loc: ["body", "organization_id"],
    }),
  ),
  ...SQL_IDS.map(
    (id): Case => ({
      name: `team_id ${JSON.stringify(id)}`,
      method: "POST",
      path: () => "/api/teams/create",
      body: createTeamBody({ team_id: id }),
      status: 422,
      loc: ["body", "team_id"],
    }),
  ),
  {
    name: "group_name with SQL",
    method: "POST",
    path: () => "/api/model-groups/create",
    body: () => ({ group_name: "g' OR '1'='1", models: [{ model_name: "gpt-4" }] }),
    status: 422,
    loc: ["body", "group_name"],
  },
  {
    name: "model_name with a space",
    method: "POST",
    path: () => "/api/model-groups/create",
    body: () => ({ group_name: "g-space", models: [{ model_name: "gpt 4" }] }),
    status: 422,
    loc: ["body", "models", 0, "model_name"],
  },
  {
    name: "model group with SQL in a call",
    method: "POST",
    path: (f) => `/api/jobs/${f.jobId}/llm-call`,
    as: "team",
    body: (f) => callBody(f, { model_group: "fast'; DELETE FROM teams; --" }),
    status: 422,
    loc: ["body", "model_group"],
  },
  { name: "path team_id with a space", method: "GET", path: () => "/api/teams/acme%20corp", status: 422, loc: ["path", "team_id"] },
  {
    name: "path team_id with an encoded slash",
    method: "GET",
    path: () => "/api/credits/teams/a%2Fb/balance",
    status: 422,
    loc: ["path", "team_id"],
  },
  {
    name: "path team_id with quotes and SQL",
    method: "PUT",
    path: () => `/api/teams/${encodeURIComponent("x' OR '1'='1")}/suspend`,
    status: 422,
    loc: ["path", "team_id"],
  },
  {
    name: "path organization_id with SQL",
    method: "GET",
    path: () => `/api/organizations/${encodeURIComponent("1; DROP TABLE organizations")}`,
    status: 422,
    loc: ["path", "organization_id"],
  },
  {
    name: "path group_name with a quote",
    method: "DELETE",
    path: () => `/api/model-groups/${encodeURIComponent('g"1')}`,
    status: 422,
    loc: ["path", "group_name"],
  },
  {
    name: "query organization_id with SQL",
    method: "GET",
    path: () => `/api/teams?organization_id=${encodeURIComponent("' OR 1=1 --")}`,
    status: 422,
    loc: ["query", "organization_id"],
  },

  // --- negative, fractional and huge numbers
  {
    name: "negative credits",
    method: "POST",
    path: (f) => `/api/credits/teams/${team(f)}/add`,
    body: () => ({ credits: -5 }),
    status: 422,
    loc: ["body", "credits"],
  },
  {
    name: "zero credits",
    method: "POST",
    path: (f) => `/api/credits/teams/${team(f)}/add`,
    body: () => ({ credits: 0 }),
    status: 422,
    loc: ["body", "credits"],
  },
  {
    name: "fractional credits",
    method: "POST",
    path: (f) => `/api/credits/teams/${team(f)}/add`,
    body: () => ({ credits: 1.5 }),
    status: 422,
    loc: ["body", "credits"],
  },
  {
    name: "huge credits",
    method: "POST",
    path: (f) => `/api/credits/teams/${team(f)}/add`,
    body: () => ({ credits: 1e20 }),
    status: 422,
    loc: ["body", "credits"],
  },
  {
    name: "credits beyond float precision",
    method: "POST",
    path: (f) => `/api/credits/teams/${team(f)}/add`,
    rawBody: '{"credits": 123456789012345678901234567890}',
    headers: { "content-type": "application/json" },
    status: 422,
    loc: ["body", "credits"],
  },
  {
    name: "credits 1e400 (Infinity)",
    method: "POST",
    path: (f) => `/api/credits/teams/${team(f)}/add`,
    rawBody: '{"credits": 1e400}',
    headers: { "content-type": "application/json" },
    status: 422,
    loc: ["body", "credits"],
  },
  {
    name: "negative opening credits",
    method: "POST",
    path: () => "/api/teams/create",
    body: createTeamBody({ credits_allocated: -1 }),
    status: 422,
    loc: ["body", "credits_allocated"],
  },
  {
    name: "fractional opening credits",
    method: "POST",
    path: () => "/api/teams/create",
    body: createTeamBody({ credits_allocated: 0.5 }),
    status: 422,
    loc: ["body", "credits_allocated"],
  },
  {
    name: "temperature above 2",
    method: "POST",
    path: (f) => `/api/jobs/${f.jobId}/llm-call`,
    as: "team",
    body: (f) => callBody(f, { temperature: 5 }),
    status: 422,
    loc: ["body", "temperature"],
  },
  {
    name: "negative max_tokens",
    method: "POST",
    path: (f) => `/api/jobs/${f.jobId}/llm-call`,
    as: "team",
    body: (f) => callBody(f, { max_tokens: -1 }),
    status: 422,
    loc: ["body", "max_tokens"],
  },
  {
    name: "fractional max_tokens",
    method: "POST",
    path: (f) => `/api/jobs/${f.jobId}/llm-call`,
    as: "team",
    body: (f) => callBody(f, { max_tokens: 0.5 }),
    status: 422,
    loc: ["body", "max_tokens"],
  },
  {
    name: "huge max_tokens",
    method: "POST",
    path: (f) => `/api/jobs/${f.jobId}/llm-call`,
    as: "team",
    body: (f) => callBody(f, { max_tokens: 1e12 }),
    status: 422,
    loc: ["body", "max_tokens"],
  },
  {
    name: "negative priority",
    method: "POST",
    path: () => "/api/model-groups/create",
    body: () => ({ group_name: "g-neg", models: [{ model_name: "gpt-4", priority: -1 }] }),
    status: 422,
    loc: ["body", "models", 0, "priority"],
  },
  {
    name: "negative grace_seconds",
    method: "POST",
    path: (f) => `/api/teams/${team(f)}/keys/rotate`,
    body: () => ({ grace_seconds: -1 }),
    status: 422,
    loc: ["body", "grace_seconds"],
  },
  {
    name: "negative price",
    method: "PUT",
    path: () => "/api/pricing",
    body: () => ({ model_name: "gpt-4", input_per_million_usd: -1, output_per_million_usd: 1 }),
    status: 422,
    loc: ["body", "input_per_million_usd"],
  },
  {
    name: "limit=0",
    method: "GET",
    path: (f) => `/api/credits/teams/${team(f)}/transactions?limit=0`,
    status: 422,
    loc: ["query", "limit"],
  },
  { name: "limit=abc", method: "GET", path: () => "/api/organizations?limit=abc", status: 422, loc: ["query", "limit"] },
  { name: "limit=1.5", method: "GET", path: () => "/api/model-groups?limit=1.5", status: 422, loc: ["query", "limit"] },
  { name: "limit=1e9", method: "GET", path: () => "/api/teams?limit=1000000000", status: 422, loc: ["query", "limit"] },
  {
    name: "offset=-1",
    method: "GET",
    path: (f) => `/api/teams/${team(f)}/jobs?offset=-1`,
    as: "team",
    status: 422,
    loc: ["query", "offset"],
  },
  {
    name: "period=2026-13",
    method: "GET",
    path: (f) => `/api/teams/${team(f)}/usage?period=2026-13`,
    as: "team",
    status: 422,
    loc: ["query", "period"],
  },

  // --- over-long strings
  {
    name: "organization_id of 129 characters",
    method: "POST",
    path: () => "/api/organizations/create",
    body: () => ({ organization_id: "a".repeat(129), name: "x" }),
    status: 422,
    loc: ["body", "organization_id"],
  },
  {
    name: "organization name of 10,000 characters",
    method: "POST",
    path: () => "/api/organizations/create",
    body: createOrg({ name: "n".repeat(10_000) }),
    status: 422,
    loc: ["body", "name"],
  },
  {
    name: "job_type of 101 characters",
    method: "POST",
    path: () => "/api/jobs/create",
    as: "team",
    body: (f) => ({ team_id: team(f), job_type: "j".repeat(101) }),
    status: 422,
    loc: ["body", "job_type"],
  },
  {
    name: "purpose of 201 characters",
    method: "POST",
    path: (f) => `/api/jobs/${f.jobId}/llm-call`,
    as: "team",
    body: (f) => callBody(f, { purpose: "p".repeat(201) }),
    status: 422,
    loc: ["body", "purpose"],
  },
  {
    name: "error_message of 1001 characters",
    method: "POST",
    path: (f) => `/api/jobs/${f.jobId}/complete`,
    as: "team",
    body: () => ({ status: "failed", error_message: "e".repeat(1001) }),
    status: 422,
    loc: ["body", "error_message"],
  },
  {
    name: "credit reason of 501 characters",
    method: "POST",
    path: (f) => `/api/credits/teams/${team(f)}/add`,
    body: () => ({ credits: 5, reason: "r".repeat(501) }),
    status: 422,
    loc: ["body", "reason"],
  },
  {
    name: "path team_id of 129 characters",
    method: "GET",
    path: () => `/api/teams/${"t".repeat(129)}`,
    status: 422,
    loc: ["path", "team_id"],
  },

  // --- deeply nested or oversized metadata
  {
    name: "metadata nested 20 levels deep",
    method: "POST",
    path: () => "/api/jobs/create",
    as: "team",
    body: (f) => ({ team_id: team(f), job_type: "t", metadata: nested(20) }),
    status: 422,
    loc: ["body", "metadata"],
  },
  {
    name: "metadata nested 2000 levels deep (the body is refused past 64 levels, before anything reads it)",
    method: "POST",
    path: () => "/api/organizations/create",
    body: createOrg({ metadata: nested(2000) }),
    status: 422,
    loc: ["body"],
  },
  {
    name: "metadata of 17 KiB",
    method: "POST",
    path: () => "/api/organizations/create",
    body: createOrg({ metadata: { blob: "x".repeat(17 * 1024) } }),
    status: 422,
    loc: ["body", "metadata"],
  },
  {
    name: "metadata of 17 KiB in a completion",
    method: "POST",
    path: (f) => `/api/jobs/${f.jobId}/complete`,
    as: "team",
    body: () => ({ status: "completed", metadata: { blob: "x".repeat(17 * 1024) } }),
    status: 422,
    loc: ["body", "metadata"],
  },
  {
    name: "team metadata with 5,000 keys",
    method: "POST",
    path: () => "/api/teams/create",
    body: createTeamBody({ metadata: Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i])) }),
    status: 422,
    loc: ["body", "metadata"],
  },

  // --- bodies over 1 MiB
  {
    name: "a 2 MiB body",
    method: "POST",
    path: () => "/api/organizations/create",
    body: createOrg({ metadata: { blob: "x".repeat(2 * MiB) } }),
    status: 413,
    detail: /larger than 1048576 bytes/,
  },
  {
    name: "a 2 MiB call",
    method: "POST",
    path: (f) => `/api/jobs/${f.jobId}/llm-call`,
    as: "team",
    body: (f) => callBody(f, { messages: [{ role: "user", content: "y".repeat(2 * MiB) }] }),
    status: 413,
    detail: /larger than/,
  },
  {
    name: "a 2 MiB body streamed without Content-Length",
    method: "POST",
    path: () => "/api/jobs/create",
    as: "team",
    headers: { "content-type": "application/json" },
    rawBody: () => {
      const chunk = new TextEncoder().encode(" ".repeat(64 * 1024));
      let sent = 0;
      return new ReadableStream({
        pull(controller) {
          if (sent >= 2 * MiB) return controller.close();
          sent += chunk.byteLength;
          controller.enqueue(chunk);
        },
      });
    },
    status: 413,
    detail: /larger than/,
  },

  // --- invalid UUIDs in paths (and in bodies)
  {
    name: "job id that is not a UUID",
    method: "GET",
    path: () => "/api/jobs/not-a-uuid",
    as: "team",
    status: 422,
    loc: ["path", "job_id"],
  },
  {
    name: "job id with SQL",
    method: "POST",
    path: () => `/api/jobs/${encodeURIComponent("' OR 1=1 --")}/complete`,
    as: "team",
    body: () => ({ status: "completed" }),
    status: 422,
    loc: ["path", "job_id"],
  },
  {
    name: "job id of a UUID with a suffix",
    method: "POST",
    path: (f) => `/api/jobs/${f.jobId}x/llm-call`,
    as: "team",
    body: (f) => callBody(f),
    status: 422,
    loc: ["path", "job_id"],
  },
  {
    name: "job id of a UUID without dashes",
    method: "GET",
    path: (f) => `/api/jobs/${f.jobId.replaceAll("-", "")}`,
    as: "team",
    status: 422,
    loc: ["path", "job_id"],
  },
  {
    name: "refund of a job id that is not a UUID",
    method: "POST",
    path: (f) => `/api/credits/teams/${team(f)}/refund`,
    body: () => ({ job_id: "123", reason: "oops" }),
    status: 422,
    loc: ["body", "job_id"],
  },

  // --- statuses and modes in the wrong case
  {
    name: "status COMPLETED",
    method: "POST",
    path: (f) => `/api/jobs/${f.jobId}/complete`,
    as: "team",
    body: () => ({ status: "COMPLETED" }),
    status: 422,
    loc: ["body", "status"],
  },
  {
    name: "status Completed",
    method: "POST",
    path: (f) => `/api/jobs/${f.jobId}/complete`,
    as: "team",
    body: () => ({ status: "Completed" }),
    status: 422,
    loc: ["body", "status"],
  },
  {
    name: "status 'done'",
    method: "POST",
    path: (f) => `/api/jobs/${f.jobId}/complete`,
    as: "team",
    body: () => ({ status: "done" }),
    status: 422,
    loc: ["body", "status"],
  },
  {
    name: "status filter PENDING",
    method: "GET",
    path: (f) => `/api/teams/${team(f)}/jobs?status=PENDING`,
    as: "team",
    status: 422,
    loc: ["query", "status"],
  },
  {
    name: "budget mode JOB_BASED",
    method: "PATCH",
    path: (f) => `/api/credits/teams/${team(f)}/budget-mode`,
    body: () => ({ budget_mode: "JOB_BASED" }),
    status: 422,
    loc: ["body", "budget_mode"],
  },
  {
    name: "message role USER",
    method: "POST",
    path: (f) => `/api/jobs/${f.jobId}/llm-call`,
    as: "team",
    body: (f) => callBody(f, { messages: [{ role: "USER", content: "hi" }] }),
    status: 422,
    loc: ["body", "messages", 0, "role"],
  },
];

function expectErrorBody(c: Case, res: Response, body: any) {
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  expect(Object.keys(body)).toEqual(["detail"]);
  if (c.status === 422) {
    expect(Array.isArray(body.detail), JSON.stringify(body)).toBe(true);
    expect(body.detail.length).toBeGreaterThan(0);
    for (const issue of body.detail) {
      expect(Object.keys(issue).sort()).toEqual(["loc", "msg", "type"]);
      expect(typeof issue.msg).toBe("string");
      expect(typeof issue.type).toBe("string");
    }
    expect(body.detail.map((d: any) => d.loc)).toContainEqual(c.loc);
    const field = c.loc!.slice(1).join(".");
    if (field) {
      const issue = body.detail.find((d: any) => JSON.stringify(d.loc) === JSON.stringify(c.loc));
      expect(issue.msg).toContain(`'${field}'`);
    }
  } else {
    expect(typeof body.detail).toBe("string");
    if (c.detail) expect(body.detail).toMatch(c.detail);
  }
  // Never a stack trace or an internal path.
  expect(JSON.stringify(body)).not.toMatch(/\bat .*\(|node_modules|src\/|Error:/);
}

describe("malformed requests: a specific 4xx, {detail}, and nothing changed", () => {
  it.each(CASES.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const team = await createTeam({ credits: 10 });
    const fixture: Fixture = { team, jobId: await createJob(team) };
    const before = await snapshot(fixture);

    const res = await api(c.method, c.path(fixture), {
      key: c.as === "team" ? team.key : ADMIN_KEY,
      body: c.body?.(fixture),
      rawBody: typeof c.rawBody === "function" ? c.rawBody() : c.rawBody,
      headers: c.headers,
    });
    const text = await res.text();
    expect(res.status, text.slice(0, 500)).toBe(c.status);
    expectErrorBody(c, res, JSON.parse(text));

    expect(await snapshot(fixture)).toEqual(before);
    await expectLedgerConsistent(team);
  });
});

describe("unknown fields are ignored", () => {
  it("unknown top-level fields are ignored on creation and never echoed", async () => {
    const id = `org-${crypto.randomUUID().slice(0, 8)}`;
    const created = await json("POST", "/api/organizations/create", 200, {
      body: { organization_id: id, name: "Acme", is_admin: true, status: "deleted" },
    });
    expect(created).toMatchObject({ organization_id: id, name: "Acme", status: "active" });
    expect(created).not.toHaveProperty("is_admin");
  });

  it("redirecting or credential-carrying fields never reach LiteLLM: the call goes to the configured mock, unchanged", async () => {
    const team = await createTeam({ models: [["gpt-4o-mini"]] });
    const job = await createJob(team);
    const hostile = {
      api_base: "http://127.0.0.1:1/steal",
      base_url: "http://attacker.example/v1",
      api_key: "sk-attacker-owned-key",
      extra_headers: { authorization: "Bearer sk-attacker", "x-forwarded-host": "attacker.example" },
      mock_response: "pwned",
      model_list: [{ model_name: "x", litellm_params: { api_base: "http://attacker.example" } }],
      metadata: { team_id: "someone-else" },
      user: "someone-else",
      stream: true,
    };
    const res = await api("POST", `/api/jobs/${job}/llm-call`, {
      key: team.key,
      body: {
        model_group: team.groups[0],
        model: "gpt-4",
        messages: [{ role: "user", content: "What is 2 + 2?", ...hostile }],
        temperature: 0.2,
        ...hostile,
      },
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    const answer = JSON.parse(text);
    expect(answer.response.content).toMatch(/^Mock answer from gpt-4o-mini: /);
    expect(answer.response.content).not.toContain("pwned");

    const forwarded = await upstreamRequests(mockUrl, team.teamId);
    expect(forwarded).toHaveLength(1);
    const { body, path, headers } = forwarded[0];
    expect(path).toBe("/chat/completions");
    expect(body.model).toBe("gpt-4o-mini");
    expect(body.messages).toEqual([{ role: "user", content: "What is 2 + 2?" }]);
    expect(body.temperature).toBe(0.2);
    expect(body.user).toBe(team.teamId);
    expect(body.metadata.team_id).toBe(team.teamId);
    expect(body.stream).toBeUndefined();
    for (const key of ["api_base", "base_url", "api_key", "extra_headers", "mock_response", "model_list"]) {
      expect(body).not.toHaveProperty(key);
    }
    expect(JSON.stringify(body)).not.toMatch(/attacker|pwned/);
    expect(JSON.stringify(headers)).not.toMatch(/attacker/);
    expect(headers.authorization).toBe("present");
    await expectLedgerConsistent(team);
  });
});
