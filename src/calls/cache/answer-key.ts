import type { CallCacheSetting } from "../../ledger/types";
import type { AdmittedCall, CachePolicy } from "../call-context";
import type { CallRequest, Dialect } from "../dialect";

// What identifies a cached answer, and how a request says it may be served one. Pure but for
// the digest (crypto.subtle).

/** `no-store` neither reads nor writes; `no-cache` skips the lookup and stores the fresh answer. */
export function cachePolicyOf(cacheControl: string | null | undefined): CachePolicy {
  const directives = (cacheControl ?? "")
    .toLowerCase()
    .split(",")
    .map((d) => d.trim().split("=")[0]);
  if (directives.includes("no-store")) return "bypass";
  if (directives.includes("no-cache")) return "refresh";
  return "use";
}

/** Fields of an upstream body that do not change the answer: who asked, how it is delivered, the model tried. */
const NOT_ASKED = ["model", "user", "metadata", "litellm_metadata", "tags", "stream", "stream_options"] as const;

/** A call with nothing of its own, to read what a request asks before any call exists. */
const UNADMITTED: AdmittedCall = {
  teamId: "",
  jurisdiction: null,
  jobId: "",
  callId: "",
  modelGroup: "",
  models: [],
  purpose: null,
  labels: { tags: [], endUser: null },
  admission: {
    jobType: "",
    userId: null,
    endUser: null,
    markupPercentage: 0,
    budgetMaxTokens: null,
    models: [],
    cache: null,
    outlook: {
      speculative: false,
      freeMicro: 0,
      freeUntilMs: null,
      holds: null,
      budgets: { keyRoomMicro: null, endUserRoomMicro: null, endUsersBudgeted: false },
    },
  },
  cache: null,
};

/**
 * What a request asks of its group's models: the body its dialect would send LiteLLM, without
 * what does not change the answer. Parameters a dialect does not forward never reach it.
 */
export function questionOf<R extends CallRequest>(dialect: Dialect<never, R>, request: R): Record<string, unknown> {
  const body = dialect.upstreamBody(request, UNADMITTED, false);
  for (const field of NOT_ASKED) delete body[field];
  return body;
}

/** JSON with every object's keys in order and no whitespace: equal values, equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return v;
    return Object.fromEntries(
      Object.keys(v as object)
        .sort()
        .map((k) => [k, (v as Record<string, unknown>)[k]]),
    );
  });
}

/**
 * An entry's key: the scope (so it never crosses teams or organizations), the group and its
 * models as they are now (so a change of models leaves old entries behind), the upstream
 * endpoint, and the question. SHA-256, hex.
 */
export async function answerKey(
  setting: Pick<CallCacheSetting, "scopeId">,
  group: { name: string; models: string[] },
  upstreamPath: string,
  question: Record<string, unknown>,
): Promise<string> {
  const text = canonicalJson(["answer-cache/1", setting.scopeId, group.name, group.models, upstreamPath, question]);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
