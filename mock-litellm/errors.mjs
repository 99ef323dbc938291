// mock-litellm/errors.mjs: the error bodies LiteLLM (proxy mode) or OpenAI (upstream mode) sends,
// word for word, for simulated failures and bad requests.

import { CONTEXT_WINDOWS } from "./steering.mjs";

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/** LiteLLM's ProxyException envelope: code is the status as a string. */
export function proxyError(status, message, type = "None", param = "None") {
  return { status, body: { error: { message, type, param, code: String(status) } } };
}

/** OpenAI's own envelope, used in upstream mode. */
function openaiError(status, message, type, param = null, code = null) {
  return { status, body: { error: { message, type, param, code } } };
}

/** LiteLLM (1.106.12) appends the router's verdict to upstream errors. */
function routerSuffix(model) {
  return `\n\nLiteLLM: model group '${model}' failed with the error above. No fallback was attempted.`;
}

/** The upstream's (OpenAI's) 500 message, which LiteLLM passes on. */
const UPSTREAM_500_TEXT = "The server had an error while processing your request. Sorry about that!";

function contextLengthText(base) {
  const max = CONTEXT_WINDOWS[base].max_input_tokens;
  return `This model's maximum context length is ${max} tokens. However, your messages resulted in ${max + 1904} tokens. Please reduce the length of the messages.`;
}

/** The error for `fail=<status>` (and midstream), as the proxy or the provider words it. */
export function simulatedError(kind, mode, parsed) {
  const { name, base } = parsed;
  if (mode === "upstream") {
    switch (kind) {
      case "503":
        return openaiError(503, "The server is overloaded or not ready yet.", "server_error");
      case "429":
        return openaiError(
          429,
          `Rate limit reached for ${base} in organization org-mock on requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in 120ms.`,
          "requests",
          null,
          "rate_limit_exceeded",
        );
      case "408":
        return openaiError(408, "Request timed out.", "timeout");
      case "400":
        return openaiError(400, contextLengthText(base), "invalid_request_error", "messages", "context_length_exceeded");
      case "401":
        return openaiError(
          401,
          "Incorrect API key provided: sk-mock***. You can find your API key at https://platform.openai.com/account/api-keys.",
          "invalid_request_error",
          null,
          "invalid_api_key",
        );
      default:
        return openaiError(500, UPSTREAM_500_TEXT, "server_error");
    }
  }
  // What LiteLLM 1.106.12 answers when the upstream fails this way (checked by
  // test/litellm/contract.test.ts against the real proxy): a mapped class, a
  // `type` per class, `param` null.
  switch (kind) {
    case "503":
      return proxyError(
        503,
        `litellm.ServiceUnavailableError: ServiceUnavailableError: OpenAIException - The server is overloaded or not ready yet.${routerSuffix(name)}`,
        "internal_server_error",
        null,
      );
    case "429":
      return proxyError(
        429,
        `litellm.RateLimitError: RateLimitError: OpenAIException - Rate limit reached for ${base} in organization org-mock on requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in 120ms.${routerSuffix(name)}`,
        "throttling_error",
        null,
      );
    case "408":
      return proxyError(
        408,
        `litellm.Timeout: APITimeoutError - Request timed out. Error_str: Error code: 408 - {'error': {'message': 'Request timed out.', 'type': 'timeout', 'param': None, 'code': None}}\n\nDeployment Info: request_timeout: None\ntimeout: None${routerSuffix(name)}`,
        "invalid_request_error",
        null,
      );
    case "400":
      return proxyError(
        400,
        `litellm.ContextWindowExceededError: litellm.BadRequestError: ContextWindowExceededError: OpenAIException - ${contextLengthText(base)}\nmodel=${name}. context_window_fallbacks=None. fallbacks=None.\n\nSet 'context_window_fallback' - https://docs.litellm.ai/docs/routing#fallbacks${routerSuffix(name)}`,
        "invalid_request_error",
        null,
      );
    case "401":
      return proxyError(
        401,
        `litellm.AuthenticationError: AuthenticationError: OpenAIException - Incorrect API key provided: sk-mock***. You can find your API key at https://platform.openai.com/account/api-keys.${routerSuffix(name)}`,
        "authentication_error",
        null,
      );
    default:
      return proxyError(
        500,
        `litellm.InternalServerError: InternalServerError: OpenAIException - ${UPSTREAM_500_TEXT}${routerSuffix(name)}`,
        "internal_server_error",
        null,
      );
  }
}

const EXCEPTION_CLASSES = {
  503: "ServiceUnavailableError",
  429: "RateLimitError",
  408: "Timeout",
  400: "BadRequestError",
  401: "AuthenticationError",
  500: "InternalServerError",
};

/**
 * The error for `fail=<status>` on LiteLLM's Responses-based routes (/v1/responses, and
 * /v1/messages, which LiteLLM 1.106.12 serves through the upstream's /v1/responses): the
 * provider's JSON body quoted whole after the exception class, then the router's verdict. In
 * upstream mode, OpenAI's own error. Returns { status, message, type, body } (body: OpenAI's envelope).
 */
export function responsesRouteError(kind, mode, parsed) {
  const status = EXCEPTION_CLASSES[kind] ? Number(kind) : 500;
  const upstream = simulatedError(String(status), "upstream", parsed);
  if (mode === "upstream") return upstream;
  const cls = EXCEPTION_CLASSES[status];
  const message = `litellm.${cls}: ${cls}: OpenAIException - ${JSON.stringify(upstream.body)}${routerSuffix(parsed.name)}`;
  const type = simulatedError(String(status), "proxy", parsed).body.error.type;
  return proxyError(status, message, type, null);
}

/**
 * The event LiteLLM sends when the upstream breaks after the stream started
 * (then the stream ends, with no [DONE]); serialised with Python's json.dumps.
 */
export function midstreamErrorEvent() {
  return {
    error: {
      message: `litellm.APIConnectionError: APIConnectionError: OpenAIException - ${UPSTREAM_500_TEXT}`,
      type: null,
      param: null,
      code: "500",
    },
  };
}

export function invalidModelError(mode, model, route = "/chat/completions") {
  if (mode === "upstream") {
    return openaiError(
      404,
      `The model \`${model}\` does not exist or you do not have access to it.`,
      "invalid_request_error",
      null,
      "model_not_found",
    );
  }
  // LiteLLM 1.106.12: the plain message (older releases repr()'d the detail
  // dict), type invalid_request_error, param null, and the detail again under
  // provider_specific_fields.
  const shown = model === undefined || model === null ? "None" : model;
  const message = `${route}: Invalid model name passed in model=${shown}. Call \`/v1/models\` to view available models for your key.`;
  const error = proxyError(400, message, "invalid_request_error", null);
  error.body.error.provider_specific_fields = { error: message };
  return error;
}

export function missingMessagesError(mode) {
  if (mode === "upstream") {
    return openaiError(400, "Missing required parameter: 'messages'.", "invalid_request_error", "messages", "missing_required_parameter");
  }
  return proxyError(400, "/chat/completions: Missing required parameter: 'messages'.", "invalid_request_error", "messages");
}

export function invalidJsonError(mode, detail) {
  if (mode === "upstream") {
    return openaiError(
      400,
      "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
      "invalid_request_error",
    );
  }
  return proxyError(400, `Invalid JSON payload: ${detail}`, "invalid_request_error", "request_body");
}

export const LOAD_BALANCER_502 =
  "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
