import { type AnswerForm, MAX_STORED_ANSWER_BYTES, type StoredAnswer } from "../../cache/stored-answer";
import { log } from "../../log";
import type { AdmittedCall, CallCache, CallContext } from "../call-context";
import type { Metered } from "../call-record";

// The Worker's side of the response cache: finding an entry in its scope's object, keeping a
// complete answer there, and the headers that say how an answer met the cache. A cache that
// cannot be reached is a miss and keeps nothing: the call goes on as if the group had none.

/** The entry for `key` in its scope, or null (none, expired, or the scope's object unreachable). */
export async function findAnswer(env: Env, scopeId: string, key: string, form: AnswerForm): Promise<StoredAnswer | null> {
  try {
    return await env.ANSWER_CACHE.getByName(scopeId).find(key, form);
  } catch (error) {
    log("warn", "response cache unreachable: looked up as a miss", { scope: scopeId, error: String(error) });
    return null;
  }
}

/**
 * Keeps a call's complete, successful answer as the upstream gave it, with what it used and cost,
 * in the background (the client is not kept waiting); nothing when the call keeps nothing, or
 * when the answer may have been cut short by the max_tokens the gateway chose.
 */
export function keepAnswer(
  ctx: CallContext,
  call: AdmittedCall,
  answer: { form: AnswerForm; body: string; modelUsed: string; metered: Metered },
): void {
  const keepAt = call.cache?.keepAt;
  if (!keepAt) return;
  const { fields } = answer.metered;
  // An answer that reached the max_tokens the gateway chose for this team may be cut short: another caller asked for all of it.
  if (keepAt.cappedAt !== null && fields.completionTokens >= keepAt.cappedAt) return;
  const stored: StoredAnswer = {
    form: answer.form,
    body: answer.body,
    promptTokens: fields.promptTokens,
    completionTokens: fields.completionTokens,
    totalTokens: fields.totalTokens,
    usageEstimated: fields.usageEstimated,
    providerCostNano: fields.providerCostNano,
    modelUsed: answer.modelUsed,
    storedAtMs: Date.now(),
  };
  const keeping = ctx.env.ANSWER_CACHE.getByName(keepAt.scopeId)
    .keep(keepAt.key, stored, keepAt.ttlSeconds)
    .catch((error: unknown) => {
      log("warn", "response cache unreachable: answer not kept", { scope: keepAt.scopeId, call_id: call.callId, error: String(error) });
    });
  ctx.work.waitUntil(keeping);
}

/** `x-gateway-cache` (HIT, MISS or BYPASS) and, on a hit, `age` in seconds; nothing for a group without a cache. */
export function cacheHeaders(cache: CallCache | null, nowMs = Date.now()): Record<string, string> {
  if (!cache) return {};
  const headers: Record<string, string> = { "x-gateway-cache": cache.status };
  if (cache.hit) headers.age = String(Math.max(0, Math.floor((nowMs - cache.hit.answer.storedAtMs) / 1000)));
  return headers;
}

/** A stream's bytes passed on unchanged, their text kept up to `maxBytes` (past it, nothing: the answer is too large to keep). */
export function streamedAnswerCopy(
  maxBytes = MAX_STORED_ANSWER_BYTES,
): TransformStream<Uint8Array, Uint8Array> & { text(): string | null } {
  const decoder = new TextDecoder();
  let text = "";
  let bytes = 0;
  let whole = true;
  const stream = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      bytes += chunk.byteLength;
      if (bytes > maxBytes) {
        whole = false;
        text = "";
      } else if (whole) text += decoder.decode(chunk, { stream: true });
      controller.enqueue(chunk);
    },
    flush() {
      if (whole) text += decoder.decode();
    },
  });
  return Object.assign(stream, { text: () => (whole ? text : null) });
}
