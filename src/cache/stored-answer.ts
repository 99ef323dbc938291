// What the response cache keeps (answer-cache.ts is its object): the Worker's side reads and
// writes these values with no workerd import, so the pure modules that use them run anywhere.

/** How an answer was delivered: a plain call's JSON body, or a streamed call's SSE events. */
export type AnswerForm = "json" | "sse";

/** An upstream answer as kept, with the facts its hits are recorded and priced from. */
export interface StoredAnswer {
  form: AnswerForm;
  /** The upstream's answer as it arrived: the JSON text, or the SSE text up to its end. */
  body: string;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  usageEstimated: boolean;
  /** What the original call cost upstream (nano-USD; null when unpriced). */
  providerCostNano: number | null;
  /** The model that answered the original. */
  modelUsed: string;
  storedAtMs: number;
}

/** The largest answer kept (UTF-8 bytes): well under a SQLite value's 2 MB limit in a Durable Object. */
export const MAX_STORED_ANSWER_BYTES = 1024 * 1024;
