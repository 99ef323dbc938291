import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../context";
import { apiError } from "../errors";

// JSON bodies are refused beyond a nesting depth before anything reads them: the audit summary,
// metadata checks and canonical JSON all walk a value recursively, and a body of 1 MiB can nest
// half a million levels. No request the API documents comes near the limit (metadata allows 8,
// a tool's JSON schema a few dozen).

export const MAX_JSON_DEPTH = 64;

const OPEN_BRACKET = 0x5b; // [
const OPEN_BRACE = 0x7b; // {
const CLOSE_BRACKET = 0x5d; // ]
const CLOSE_BRACE = 0x7d; // }
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

/**
 * Whether JSON text nests arrays and objects deeper than `max`, by one pass over its characters
 * (brackets inside strings do not count). Text that is not JSON is left to the parser to refuse.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === BACKSLASH) i++;
      else if (ch === QUOTE) inString = false;
    } else if (ch === QUOTE) {
      inString = true;
    } else if (ch === OPEN_BRACKET || ch === OPEN_BRACE) {
      if (++depth > max) return true;
    } else if (ch === CLOSE_BRACKET || ch === CLOSE_BRACE) {
      depth--;
    }
  }
  return false;
}

/** 422 for a JSON body nested deeper than MAX_JSON_DEPTH (after the body-size limit, before any route reads it). */
export const limitJsonDepth = createMiddleware<AppEnv>(async (c, next) => {
  if (c.req.method !== "GET" && /json/i.test(c.req.header("content-type") ?? "")) {
    // Hono keeps the text: the validator, the audit and the idempotency hash read it again from there.
    if (nestsDeeperThan(await c.req.text(), MAX_JSON_DEPTH)) {
      throw apiError(422, [{ loc: ["body"], msg: `body is nested more than ${MAX_JSON_DEPTH} levels deep`, type: "json_too_deep" }]);
    }
  }
  return next();
});
