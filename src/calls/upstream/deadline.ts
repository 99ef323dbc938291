// Every wait on LiteLLM is bounded. One helper races a promise against a timer and always
// clears the timer, so an answered wait leaves nothing running.

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
