// Formatting helpers shared by the report's sections (lib/report*.mjs).
export const num = (v, digits = 2) => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(digits) : "—");
export const signed = (v, digits = 2) => (typeof v === "number" && Number.isFinite(v) ? `${v >= 0 ? "+" : ""}${v.toFixed(digits)}` : "—");
export const int = (v) => (typeof v === "number" && Number.isFinite(v) ? Math.round(v).toLocaleString("en-US") : "—");
export const x = (v) => (typeof v === "number" && Number.isFinite(v) ? `${v.toFixed(2)}×` : "—");
export const verdict = (ok) => (ok === null ? "not measured" : ok ? "**met**" : "**not met**");
export const get = (obj, path) => path.split(".").reduce((o, k) => (o === null || o === undefined ? undefined : o[k]), obj);

/** The parts of a results object most sections read. */
export function context(res) {
  const m = res.median ?? {};
  const br = m.breakdown ?? {};
  return {
    m,
    lat: m.latency ?? {},
    br,
    call: br.call ?? {},
    st: m.streaming ?? {},
    hist: m.history ?? {},
    adm: m.admissions_ledger ?? {},
  };
}

/**
 * History lives in the team's Durable Object, so "flat" is judged on the work inside the object
 * (the method run in the object, mean over many): the large-history figure within 25 % or
 * 0.05 ms of the small one. End-to-end p50s are shown beside it; on a shared machine they move
 * by more than that from one sample to the next.
 */
export function flat(entry) {
  const small = entry?.small?.in_object_ms;
  const large = entry?.large?.in_object_ms;
  if (typeof small !== "number" || typeof large !== "number") return null;
  return large <= small * 1.25 || large - small <= 0.05 + 1e-9;
}
