// Small statistics helpers. All times are milliseconds (floats).

/** Nearest-rank percentile of an already sorted array. */
export function percentileSorted(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function median(values) {
  const v = values.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

export function mean(values) {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
}

/** { n, p50, p95, p99, mean, max } of a list of latencies. */
export function summarize(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: percentileSorted(sorted, 50),
    p95: percentileSorted(sorted, 95),
    p99: percentileSorted(sorted, 99),
    mean: mean(sorted),
    max: sorted.length ? sorted[sorted.length - 1] : null,
  };
}

export function ratio(a, b) {
  return typeof a === "number" && typeof b === "number" && b !== 0 ? a / b : null;
}

export function diff(a, b) {
  return typeof a === "number" && typeof b === "number" ? a - b : null;
}

/**
 * The median, leaf by leaf, of several result trees of the same shape (one per repeat).
 * Numbers become their median; objects recurse; anything else keeps the first run's value.
 */
export function medianTree(trees) {
  const present = trees.filter((t) => t !== undefined && t !== null);
  if (present.length === 0) return null;
  const first = present[0];
  if (typeof first === "number") return median(present);
  if (Array.isArray(first)) return first;
  if (typeof first === "object") {
    const keys = new Set(present.flatMap((t) => (typeof t === "object" ? Object.keys(t) : [])));
    const out = {};
    for (const k of keys) out[k] = medianTree(present.map((t) => (typeof t === "object" ? t[k] : undefined)));
    return out;
  }
  return first;
}

/** Rounds every number in a tree (for JSON output). */
export function roundTree(value, digits = 3) {
  if (typeof value === "number") return Number.isInteger(value) ? value : Number(value.toFixed(digits));
  if (Array.isArray(value)) return value.map((v) => roundTree(v, digits));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, roundTree(v, digits)]));
  return value;
}
