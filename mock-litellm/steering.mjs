// mock-litellm/steering.mjs: the models the mock serves, their prices and context windows, and the
// flags a test appends to a model name to steer the answer (`gpt-4o-mini+fail=500+delay=50`).

// ---------------------------------------------------------------------------
// Models and prices
// ---------------------------------------------------------------------------

/** USD per token, the same values as LiteLLM's bundled cost map. */
export const MODEL_PRICES = Object.freeze({
  "gpt-3.5-turbo": Object.freeze({ input_cost_per_token: 0.0000005, output_cost_per_token: 0.0000015 }),
  "gpt-4o-mini": Object.freeze({ input_cost_per_token: 0.00000015, output_cost_per_token: 0.0000006 }),
  "gpt-4": Object.freeze({ input_cost_per_token: 0.00003, output_cost_per_token: 0.00006 }),
  "gpt-4-turbo": Object.freeze({ input_cost_per_token: 0.00001, output_cost_per_token: 0.00003 }),
});

// Context windows (from the same cost map); used by /model/info and the
// context-length error message.
export const CONTEXT_WINDOWS = {
  "gpt-3.5-turbo": { max_input_tokens: 16385, max_output_tokens: 4096 },
  "gpt-4o-mini": { max_input_tokens: 128000, max_output_tokens: 16384 },
  "gpt-4": { max_input_tokens: 8192, max_output_tokens: 4096 },
  "gpt-4-turbo": { max_input_tokens: 128000, max_output_tokens: 4096 },
};

const FAIL_MODES = new Set(["500", "503", "429", "408", "400", "401", "timeout", "reset", "badjson", "html", "midstream", "malformed"]);
const INTEGER_OPTIONS = new Set(["ttfb", "delay", "chunks", "hang", "hugeevent", "hugebody"]);

/**
 * Parses `<base>[+key=value]...`. Returns null when the name is not one this
 * mock serves (unknown base, unknown option, bad value): a real proxy would
 * not have such a model group either, so the caller answers "Invalid model name".
 */
export function parseModelName(name) {
  if (typeof name !== "string" || name === "") return null;
  const [base, ...rawOptions] = name.split("+");
  if (!Object.hasOwn(MODEL_PRICES, base)) return null;
  const options = {};
  for (const raw of rawOptions) {
    const eq = raw.indexOf("=");
    if (eq <= 0) return null;
    const key = raw.slice(0, eq);
    const value = raw.slice(eq + 1);
    if (INTEGER_OPTIONS.has(key)) {
      if (!/^\d+$/.test(value)) return null;
      options[key] = Number(value);
    } else if (key === "fail" && FAIL_MODES.has(value)) {
      options.fail = value;
    } else if (key === "usagechoices" && (value === "empty" || value === "delta")) {
      options.usagechoices = value;
    } else {
      return null;
    }
  }
  return { name, base, options };
}
