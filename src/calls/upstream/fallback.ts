import type { Attempt } from "./litellm-client";

// Fallback down a model group: the same rules for a plain and a streamed call. What counts as
// "opened" is the caller's: an answer for a plain call, a first byte for a stream.

/** What one try of one model came to. */
export type ModelTry<T> =
  | { ok: true; attempt: Attempt; opened: T }
  /** `status` is the upstream's, when it answered with an error. */
  | { ok: false; attempt: Attempt; message: string; retryable: boolean; status?: number };

export type FallbackOutcome<T> =
  | { ok: true; model: string; attempts: Attempt[]; opened: T }
  /** The last failure's message, retryability and status, with every attempt made. */
  | { ok: false; attempts: Attempt[]; message: string; retryable: boolean; status?: number };

/**
 * Tries each model in priority order until one opens. A failure the next model may not have
 * (rate limit, outage, timeout) moves on; one it would have too (the request itself was
 * rejected, or the client left) stops there.
 */
export async function fallBackInOrder<T>(models: string[], tryModel: (model: string) => Promise<ModelTry<T>>): Promise<FallbackOutcome<T>> {
  const attempts: Attempt[] = [];
  let last: Extract<ModelTry<T>, { ok: false }> | undefined;
  for (const model of models) {
    const tried = await tryModel(model);
    attempts.push(tried.attempt);
    if (tried.ok) return { ok: true, model, attempts, opened: tried.opened };
    last = tried;
    if (!tried.retryable) break;
  }
  return {
    ok: false,
    attempts,
    message: last?.message ?? "the model group has no models",
    retryable: last?.retryable ?? true,
    status: last?.status,
  };
}
