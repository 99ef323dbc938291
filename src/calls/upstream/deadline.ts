import type { CallTimeLimits } from "../../ledger/rules/holds";
import type { UpstreamConfig } from "./litellm-client";

// Every wait on LiteLLM is bounded. One helper races a promise against a timer and always
// clears the timer, so an answered wait leaves nothing running. And so is a whole call: its
// time limits tell the team's object by when its record must come (holds.ts holdDeadlineMs).

/** A call's time limits: each model's try, and (streams) the longest it may run once opened. */
export function callTimeLimits(config: Pick<UpstreamConfig, "timeoutMs" | "streamMaxMs">, stream: boolean): CallTimeLimits {
  return { attemptMs: config.timeoutMs, answerMs: stream ? config.streamMaxMs : 0 };
}

/** `promise`'s value, or `onTimeout` if it has not settled within `ms` (the promise is then abandoned). */
export async function settleWithin<T, F>(promise: Promise<T>, ms: number, onTimeout: F): Promise<T | F> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const limit = new Promise<F>((resolve) => {
    timer = setTimeout(() => resolve(onTimeout), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** One read, or "timeout" if nothing came within `ms` (the read is then abandoned). */
export function readWithin<T>(reader: ReadableStreamDefaultReader<T>, ms: number): Promise<ReadableStreamReadResult<T> | "timeout"> {
  return settleWithin(reader.read(), ms, "timeout" as const);
}

/** `promise`'s value, or null if it takes longer than `ms`. */
export function withinLimit<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  return settleWithin(promise, ms, null);
}
