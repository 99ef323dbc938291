// mock-litellm/auth.mjs: the proxy's key check (a DB-less LiteLLM knows only its master key) and
// the headers that carry credentials, which the request log never records.

import { proxyError } from "./errors.mjs";

// ---------------------------------------------------------------------------
// Auth (proxy mode): LiteLLM's header order, master key only, no DB
// ---------------------------------------------------------------------------

const BARE_KEY_HEADERS = ["api-key", "x-api-key", "x-goog-api-key", "ocp-apim-subscription-key"];
export const SECRET_HEADERS = new Set(["authorization", "proxy-authorization", "cookie", "x-litellm-api-key", ...BARE_KEY_HEADERS]);

/** Returns the key the client sent, '' for a malformed one, or null for none. */
function presentedApiKey(headers) {
  const litellmKey = headers["x-litellm-api-key"];
  if (litellmKey !== undefined) return litellmKey.replace(/^[Bb]earer /, "").trim();
  const authorization = headers.authorization;
  if (authorization !== undefined) {
    // A bare key in Authorization becomes "" in LiteLLM (_get_bearer_token).
    const match = /^[Bb]earer (.*)$/s.exec(authorization);
    return match ? match[1].trim() : "";
  }
  for (const name of BARE_KEY_HEADERS) if (headers[name] !== undefined) return headers[name].trim();
  return null;
}

/** null when the request may pass, else the error LiteLLM would send. */
export function checkAuth(req, state) {
  if (state.mode !== "proxy" || !state.masterKey) return null;
  const key = presentedApiKey(req.headers);
  if (key === null) return proxyError(401, "Authentication Error, No api key passed in.", "auth_error");
  if (key === "") {
    return proxyError(401, "Authentication Error, Malformed API Key passed in. Ensure Key has `Bearer ` prefix.", "auth_error");
  }
  if (key !== state.masterKey) return proxyError(400, "No connected db.", "no_db_connection", null);
  return null;
}
