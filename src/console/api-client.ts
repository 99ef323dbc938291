import type { ExecutionContext } from "hono";
import { actAs } from "../http/middleware/acting-admin";
import type { AdminIdentity } from "./admin-identity";

// Every console page reads and every console action writes through the gateway's own /api
// routes, in process, as the signed-in admin: the same validation, rules and errors as /api.

export type ApiFetch = (request: Request, env: Env, executionCtx: ExecutionContext) => Response | Promise<Response>;

export type ApiResult<T> = { ok: true; status: number; data: T } | { ok: false; status: number; detail: string };

export interface ApiCaller {
  get<T>(path: string): Promise<ApiResult<T>>;
  send<T>(method: "POST" | "PUT" | "PATCH" | "DELETE", path: string, body?: unknown): Promise<ApiResult<T>>;
}

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

export function apiCaller(apiFetch: ApiFetch, origin: string, env: Env, executionCtx: ExecutionContext, admin: AdminIdentity): ApiCaller {
  const call = async <T>(method: string, path: string, body?: unknown): Promise<ApiResult<T>> => {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { "content-type": "application/json" };
    }
    const response = await apiFetch(actAs(new Request(`${origin}${path}`, init), admin), env, executionCtx);
    const parsed: unknown = await response.json().catch(() => null);
    if (response.ok) return { ok: true, status: response.status, data: parsed as T };
    return { ok: false, status: response.status, detail: detailOf(parsed, response.status) };
  };
  return { get: (path) => call("GET", path), send: (method, path, body) => call(method, path, body) };
}
