import type { Hook } from "@hono/zod-openapi";
import type { AppEnv } from "./context";
import { type ValidationIssue, validationError } from "./errors";

const TARGET_LOC: Record<string, string> = { json: "body", query: "query", param: "path", header: "header" };

interface ZodIssueLike {
  path: PropertyKey[];
  message: string;
  code: string;
}

/** Zod issues in FastAPI's 422 shape: {loc: ["body", "credits"], msg: "field 'credits' ...", type}. */
export function toValidationIssues(target: string, issues: ReadonlyArray<ZodIssueLike>): ValidationIssue[] {
  return issues.map((issue) => {
    const path = issue.path.map((p) => (typeof p === "number" ? p : String(p)));
    const field = path.length > 0 ? `field '${path.join(".")}'` : (TARGET_LOC[target] ?? target);
    const missing = issue.code === "invalid_type" && /received undefined/.test(issue.message);
    return {
      loc: [TARGET_LOC[target] ?? target, ...path],
      msg: missing ? `${field} is required` : `${field} ${issue.message}`,
      type: missing ? "missing" : issue.code,
    };
  });
}

// biome-ignore lint/suspicious/noExplicitAny: the hook is shared by every route's schemas
export const validationHook: Hook<any, AppEnv, any, any> = (result) => {
  if (!result.success) {
    throw validationError(toValidationIssues(result.target, result.error.issues as ZodIssueLike[]));
  }
};
