// Reading an upstream's JSON without trusting its shape, and rebuilding what a team is sent from
// an allowlist of fields: shared by every dialect.

export type Json = Record<string, unknown>;

export const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value);

/** Copies the listed keys that are present (null included), and nothing else. */
export function keep(source: Json, keys: readonly string[]): Json {
  const kept: Json = {};
  for (const key of keys) if (source[key] !== undefined) kept[key] = source[key];
  return kept;
}

/** A JSON object parsed from text, or null when the text is not one. */
export function parseObject(text: string): Json | null {
  try {
    const value: unknown = JSON.parse(text);
    return isObject(value) ? value : null;
  } catch {
    return null;
  }
}

/** A non-negative count, rounded; null when the value is not one. */
export function countOf(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? Math.round(value) : null;
}

/** A cost LiteLLM reported in a body (USD), when it is a finite non-negative number. */
export function reportedCost(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : null;
}
