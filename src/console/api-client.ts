import type { ExecutionContext } from "hono";
import { actAs } from "../http/middleware/acting-admin";
import type { AdminIdentity } from "./admin-identity";

// Every console page reads and every console action writes through the gateway's own /api
// routes, in process, as the signed-in admin: the same validation, rules and errors as /api.

export type ApiFetch = (request: Request, env: Env, executionCtx: ExecutionContext) => Response | Promise<Response>;

export type ApiResult<T> =
  | { ok: true; status: number; data: T /** The API replayed the answer kept for this form's idempotency key. */; replayed: boolean }
  | { ok: false; status: number; detail: string };

export type WriteMethod = "POST" | "PUT" | "PATCH" | "DELETE";

export interface ApiCaller {
  get<T>(path: string): Promise<ApiResult<T>>;
  /** A write; with the form's one-time key as its `Idempotency-Key`, so the API applies a resent form once. */
  send<T>(method: WriteMethod, path: string, body?: unknown, idempotencyKey?: string): Promise<ApiResult<T>>;
  /** The API's answer as it is (a CSV download). */
  raw(path: string): Promise<Response>;
}

/** Headers of the browser's request that the API reads as it would from the browser itself (the audit log's client_ip). */
const PASSED_THROUGH = ["cf-connecting-ip"] as const;

/** The API's message for a failure: its `detail`, or each field's message of a 422. */
export function detailOf(body: unknown, status: number): string {
  const detail = (body as { detail?: unknown } | null)?.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((d: { loc?: unknown[]; msg?: string }) => {
        const field = (d.loc ?? []).filter((part) => part !== "body").join(".");
        return field && !d.msg?.includes(`'${field}'`) ? `${field}: ${d.msg}` : (d.msg ?? "invalid");
      })
      .join("; ");
  }
  return `The API answered ${status}`;
}

export function apiCaller(
  apiFetch: ApiFetch,
  browserRequest: Request,
  env: Env,
  executionCtx: ExecutionContext,
  admin: AdminIdentity,
): ApiCaller {
  const origin = new URL(browserRequest.url).origin;
  const passed: Record<string, string> = {};
  for (const name of PASSED_THROUGH) {
    const value = browserRequest.headers.get(name);
    if (value !== null) passed[name] = value;
  }
  const fetchApi = (method: string, path: string, headers: Record<string, string>, body?: string) =>
    apiFetch(actAs(new Request(`${origin}${path}`, { method, headers: { ...passed, ...headers }, body }), admin), env, executionCtx);

  const call = async <T>(method: string, path: string, body?: unknown, idempotencyKey?: string): Promise<ApiResult<T>> => {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers["content-type"] = "application/json";
    if (idempotencyKey) headers["idempotency-key"] = idempotencyKey;
    const response = await fetchApi(method, path, headers, body === undefined ? undefined : JSON.stringify(body));
    const parsed: unknown = await response.json().catch(() => null);
    if (!response.ok) return { ok: false, status: response.status, detail: detailOf(parsed, response.status) };
    return { ok: true, status: response.status, data: parsed as T, replayed: response.headers.get("idempotent-replayed") === "true" };
  };
  return {
    get: (path) => call("GET", path),
    send: (method, path, body, idempotencyKey) => call(method, path, body, idempotencyKey),
    raw: (path) => Promise.resolve(fetchApi("GET", path, {})),
  };
}
