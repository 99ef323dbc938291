import { z } from "@hono/zod-openapi";

/** What no id may be: a path segment URLs resolve away (`/api/teams/..` is `/api/`), so it could never be read back. */
const isDotSegment = (segment: string) => segment === "." || segment === "..";

/** Ids chosen by clients (organization, team, model group): 1 to 128 of [A-Za-z0-9._-], and not '.' or '..'. */
export const ClientId = z
  .string()
  .min(1, { error: "must not be empty" })
  .max(128, { error: "must be at most 128 characters" })
  .regex(/^[A-Za-z0-9._-]+$/, { error: "may contain only letters, digits, '.', '_' and '-'" })
  .refine((id) => !isDotSegment(id), { error: "must not be '.' or '..'" });

/**
 * A model name as LiteLLM knows it (`gpt-4o-mini`, `openai/gpt-4o`): in a path it is sent
 * URL-encoded (`openai%2Fgpt-4o`); no part between slashes may be '.' or '..'.
 */
export const ModelName = z
  .string()
  .min(1, { error: "must not be empty" })
  .max(200, { error: "must be at most 200 characters" })
  .regex(/^[A-Za-z0-9._:/@+=-]+$/, { error: "may contain only letters, digits and . _ : / @ + = -" })
  .refine((name) => !name.split("/").some(isDotSegment), { error: "must not be '.' or '..', nor have such a part between slashes" });

/** Ids made by the server (job, call, transaction). */
export const ServerId = z.uuid({ error: "must be a UUID" });

export const MAX_METADATA_BYTES = 16 * 1024;
const MAX_METADATA_DEPTH = 8;

function depthOf(value: unknown): number {
  if (value === null || typeof value !== "object") return 0;
  let deepest = 0;
  for (const child of Object.values(value)) deepest = Math.max(deepest, depthOf(child));
  return deepest + 1;
}

/** Free-form JSON object, bounded in size and depth so one tenant cannot bloat storage. */
export const Metadata = z
  .record(z.string(), z.unknown())
  .refine((m) => new TextEncoder().encode(JSON.stringify(m)).byteLength <= MAX_METADATA_BYTES, {
    error: `must be at most ${MAX_METADATA_BYTES} bytes of JSON`,
  })
  .refine((m) => depthOf(m) <= MAX_METADATA_DEPTH, { error: `must be nested at most ${MAX_METADATA_DEPTH} levels deep` })
  .openapi({ type: "object", additionalProperties: true, example: { customer_id: "customer_12345" } });

export const Timestamp = z.string().openapi({ format: "date-time", example: "2026-11-27T12:00:00.000Z" });

export const ErrorBody = z.object({ detail: z.string() }).openapi("Error");

export const ValidationErrorBody = z
  .object({
    detail: z.array(
      z.object({
        loc: z.array(z.union([z.string(), z.number()])),
        msg: z.string(),
        type: z.string(),
      }),
    ),
  })
  .openapi("ValidationError");

export const Pagination = z.object({
  limit: z.coerce
    .number({ error: "must be an integer" })
    .int({ error: "must be an integer" })
    .min(1, { error: "must be at least 1" })
    .max(200, { error: "must be at most 200" })
    .default(50),
  offset: z.coerce
    .number({ error: "must be an integer" })
    .int({ error: "must be an integer" })
    .min(0, { error: "must not be negative" })
    .max(1_000_000, { error: "must be at most 1000000" })
    .default(0),
});

export const PageInfo = {
  limit: z.number().int(),
  offset: z.number().int(),
  has_more: z.boolean(),
};

function errorResponse(description: string) {
  return { description, content: { "application/json": { schema: ErrorBody } } };
}

/** The error responses a route may give, by status, for the OpenAPI document. */
export const errors = {
  400: errorResponse("Duplicate, or a rule broken"),
  401: errorResponse("Missing, unknown or revoked key"),
  402: errorResponse("Not enough credits"),
  403: errorResponse(
    "Forbidden: another team's data, a suspended team, a model group not assigned, or a permission the admin key's role or organization scope lacks",
  ),
  404: errorResponse("Not found"),
  409: errorResponse("State conflict"),
  413: errorResponse("Request body larger than 1 MiB"),
  422: { description: "Invalid input", content: { "application/json": { schema: ValidationErrorBody } } },
  429: errorResponse("Paused team or rate limited (see Retry-After)"),
  502: errorResponse("Every model in the group failed"),
  503: errorResponse("A dependency (D1, the team's ledger, configuration) is unavailable"),
  504: errorResponse("LiteLLM timed out"),
} as const;

/** The error responses a route lists in the OpenAPI document, from the table above. */
export function errorResponses<K extends keyof typeof errors>(...codes: K[]): Pick<typeof errors, K> {
  const out = {} as Pick<typeof errors, K>;
  for (const code of codes) out[code] = errors[code];
  return out;
}

/** A JSON request body that must be present (otherwise validation is skipped without a Content-Type). */
export function jsonBody<T extends z.ZodType>(schema: T) {
  return { content: { "application/json": { schema } }, required: true } as const;
}

export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } } as const;
}

type SecurityRequirement = Record<string, string[]>;
/** OpenAPI security requirements: which keys a route accepts. */
export const security: Record<"admin" | "team" | "teamOrAdmin", SecurityRequirement[]> = {
  admin: [{ bearer: [] }, { adminKey: [] }],
  team: [{ bearer: [] }],
  teamOrAdmin: [{ bearer: [] }, { adminKey: [] }],
};

/** What every /v1 call route says about its job and its labels. */
export const V1_JOB_DESCRIPTION =
  "With `X-Job-Id` the call is made in that open job of the team (as `POST /api/jobs/{id}/llm-call`; the team completes the job). " +
  "Without it the request is its own job (type `X-Job-Type`, default `api`), opened, called and completed by the gateway " +
  "(as create-and-call: charged when the call succeeds, released when it fails); the answer's `x-job-id` header names it. " +
  "With an `Idempotency-Key` a retry never opens a second job nor calls the model twice (as create-and-call). " +
  "`X-Gateway-Tags` and `X-End-User-Id` label the call (recorded on it, reported by the team's usage), as the body's own fields do.";

/** What every LLM call route says about its hold (docs/money.md "Hard budgets"; src/ledger/rules/holds.ts). */
export const HOLD_DESCRIPTION =
  " Hard budget: under the team's `overdraft: none` in a consumption mode, admitting the call holds its worst case before anything goes " +
  "upstream (every prompt-side field: messages, tools, functions, tool_choice, response_format, 4 characters a token, each image 1,600 tokens; " +
  "plus `n` × `max_tokens`; for embeddings the whole input; at the group's dearest prices, with the markup); a worst case the free credits " +
  "cannot hold is 402 and never reaches the model. A call without `max_tokens` gets the largest the free credits pay for (at most 4096), " +
  "sent upstream and named in the `X-Budget-Max-Tokens` response header. Recording the call captures its actual cost and releases the rest; " +
  "a call not recorded by its deadline (its group's attempts, a stream's longest run, and a margin) is settled from its hold as `unrecorded`, " +
  "billed its worst case. A team's `tpm_limit` counts prompt + `n` × `max_tokens` at admission (429 beyond it).";

/** How a call meets its group's response cache (docs/cache.md). */
export const CACHE_DESCRIPTION =
  " Response cache: for a model group with `cache` set, an identical request (same scope, group and models, same parameters) is " +
  "answered from the cache with `x-gateway-cache: HIT` and `age`, recorded in the job as a call with `cached: true` and billed " +
  "hit_price_percent of the original (only that price is held). `Cache-Control: no-cache` skips the lookup and stores the fresh answer; " +
  "`no-store` neither reads nor writes (both answer `BYPASS`). Only complete, successful answers are stored.";

/** The response headers of an LLM call: the max_tokens the gateway chose for its hold, and how it met the response cache. */
export const BUDGET_HEADERS = {
  "X-Budget-Max-Tokens": {
    description: "The max_tokens the gateway chose and sent upstream, when the request had none and its hold was worked out for it",
    schema: { type: "string", pattern: "^[0-9]+$" },
  },
  "X-Gateway-Cache": {
    description:
      "For a model group with a response cache: HIT (answered from it), MISS (from upstream, now stored) or BYPASS (Cache-Control)",
    schema: { type: "string", enum: ["HIT", "MISS", "BYPASS"] as string[] },
  },
  Age: {
    description: "On a cache hit: seconds since the answer was stored",
    schema: { type: "string", pattern: "^[0-9]+$" },
  },
} as const;

/** `?format=csv` (or `json`) on a route that can answer CSV; without it, `Accept: text/csv` decides. */
export const CsvFormat = z.object({
  format: z
    .enum(["json", "csv"], { error: "must be 'json' or 'csv'" })
    .optional()
    .openapi({ description: "`csv` answers `text/csv` (as `Accept: text/csv` does); default JSON" }),
}).shape;

/** A response's OpenAPI content for CSV (described next to the JSON one). */
export function csvContent(description: string) {
  return { "text/csv": { schema: z.string().openapi({ description }) } };
}

export const Health = z.object({ status: z.literal("healthy"), service: z.string() });
