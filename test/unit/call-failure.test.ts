import { describe, expect, it } from "vitest";
import { callFailureOf, describeFailure } from "../../src/calls/call-failure";
import type { Attempt } from "../../src/calls/upstream/litellm-client";

const attempt = (outcome: Attempt["outcome"], status?: number): Attempt => ({
  model: "openai/gpt-4o-mini",
  outcome,
  status,
  latency_ms: 5,
});
const models = ["openai/gpt-4o-mini", "anthropic/claude-3-haiku"];

describe("what a call that got no answer records", () => {
  it("a client that left: the gateway's words, nothing of the upstream", () => {
    expect(describeFailure([attempt("client_closed")], "client closed the connection", false, models)).toEqual({
      error: "The client closed the connection",
      upstreamError: null,
      rejection: null,
    });
  });

  it("every model failing: each attempt in a few words, and the upstream's text kept for admins with its secrets removed", () => {
    const attempts = [attempt("http_error", 429), attempt("timeout"), attempt("connection_error"), attempt("http_error", 503)];
    const described = describeFailure(attempts, "Upstream down, key sk-live-abcdef123456 refused", true, models);
    expect(described.error).toBe("Every model in the group failed: rate limited (HTTP 429); timed out; connection failed; HTTP 503");
    expect(described.upstreamError).toBe("Upstream down, key sk-*** refused");
    expect(described.rejection).toBeNull();
  });

  it("a rejected request: its status in the record, and the model's reason for the client without secrets or model names", () => {
    const described = describeFailure(
      [attempt("http_error", 400)],
      "gpt-4o-mini: messages too long; token Bearer abc123 rejected; see https://x.example/doc",
      false,
      models,
    );
    expect(described.error).toBe("The model rejected the request (HTTP 400)");
    expect(described.rejection).toBe("<model>: messages too long; token Bearer *** rejected; see <url>");
  });
});

describe("what the client is told", () => {
  const described = (error: string, rejection: string | null = null) => ({ error, upstreamError: null, rejection });

  it("LiteLLM refusing the gateway's own key is the operator's problem", () => {
    for (const status of [401, 403]) {
      const failure = callFailureOf("fast", [attempt("http_error", status)], described("x"), false, status);
      expect(failure.reason).toBe("credentials_refused");
      expect(failure.message).toMatch(/LITELLM_API_KEY/);
    }
  });

  it("a request the model rejected is the client's to fix, with the model's reason", () => {
    const failure = callFailureOf("fast", [attempt("http_error", 400)], described("rejected (HTTP 400)", "too long"), false, 400);
    expect(failure).toMatchObject({ reason: "request_rejected", message: "rejected (HTTP 400)", rejection: "too long" });
  });

  it("every model timing out is a timeout, naming the group", () => {
    const failure = callFailureOf("fast", [attempt("timeout"), attempt("timeout")], described("x"), true);
    expect(failure).toMatchObject({ reason: "timed_out", message: "Every model in group 'fast' timed out" });
  });

  it("any other mix is every model failing, with the number of attempts", () => {
    expect(callFailureOf("fast", [attempt("timeout"), attempt("http_error", 503)], described("x"), true).message).toBe(
      "Every model in group 'fast' failed (2 attempts)",
    );
    expect(callFailureOf("fast", [attempt("connection_error")], described("x"), true)).toMatchObject({
      reason: "every_model_failed",
      message: "Every model in group 'fast' failed (1 attempt)",
    });
  });

  it("a group with no models tried has failed, not timed out", () => {
    expect(callFailureOf("empty", [], described("x"), true).reason).toBe("every_model_failed");
  });
});
