import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { describe, expect, it } from "vitest";
import { LedgerRefusal } from "../../src/errors";
import type { AppEnv } from "../../src/http/context";
import { apiError, failureToHttp } from "../../src/http/errors";
import { anthropicErrorBody, openAIErrorBody, v1ErrorShape } from "../../src/http/middleware/v1-errors";

describe("OpenAI's error body for a status", () => {
  it("names OpenAI's type and code for each status the gateway answers", () => {
    expect(openAIErrorBody(401, "Invalid key")).toEqual({
      error: { message: "Invalid key", type: "invalid_request_error", param: null, code: "invalid_api_key" },
    });
    expect(openAIErrorBody(402, "No credits").error).toMatchObject({ type: "insufficient_quota", code: "insufficient_quota" });
    expect(openAIErrorBody(429, "Later").error).toMatchObject({ type: "rate_limit_error", code: "rate_limit_exceeded" });
    expect(openAIErrorBody(504, "Slow").error).toMatchObject({ type: "api_error", code: "upstream_timeout" });
  });

  it("falls back on the class of an unlisted status", () => {
    expect(openAIErrorBody(500, "Oops").error).toMatchObject({ type: "api_error", code: null });
    expect(openAIErrorBody(418, "Teapot").error).toMatchObject({ type: "invalid_request_error", code: null });
  });

  it("turns a validation list into one message, naming the first field as `param`", () => {
    const detail = [
      { loc: ["body", "messages"], msg: "field 'messages' is required", type: "missing" },
      { loc: ["body", "temperature"], msg: "must be between 0 and 2", type: "too_big" },
    ];
    expect(openAIErrorBody(422, detail).error).toEqual({
      message: "messages: field 'messages' is required; temperature: must be between 0 and 2",
      type: "invalid_request_error",
      param: "messages",
      code: "invalid_value",
    });
  });
});

describe("Anthropic's error body for a status", () => {
  it("names Anthropic's error type for each status its SDKs map to a class", () => {
    expect(anthropicErrorBody(401, "Invalid key")).toEqual({
      type: "error",
      error: { type: "authentication_error", message: "Invalid key" },
    });
    const types = [400, 402, 403, 404, 413, 422, 429, 500, 502, 503, 504].map((status) => anthropicErrorBody(status, "x").error.type);
    expect(types).toEqual([
      "invalid_request_error",
      "billing_error",
      "permission_error",
      "not_found_error",
      "request_too_large",
      "invalid_request_error",
      "rate_limit_error",
      "api_error",
      "api_error",
      "api_error",
      "timeout_error",
    ]);
  });

  it("names each invalid field in one message, and carries the request id when it has one", () => {
    const detail = [{ loc: ["body", "max_tokens"], msg: "field 'max_tokens' must be a positive integer", type: "too_small" }];
    expect(anthropicErrorBody(422, detail, "req-1")).toEqual({
      type: "error",
      error: { type: "invalid_request_error", message: "max_tokens: field 'max_tokens' must be a positive integer" },
      request_id: "req-1",
    });
  });
});

describe("the /v1 error shape", () => {
  function appThrowing(error: Error) {
    const app = new Hono<AppEnv>();
    app.use(v1ErrorShape);
    app.get("/fails", () => {
      throw error;
    });
    app.post("/v1/messages", () => {
      throw error;
    });
    app.get("/works", (c) => c.json({ ok: true }, 200));
    app.get("/text", (c) => c.text("not json", 500));
    return app;
  }

  it("gives a `{detail}` answer again in OpenAI's shape, with its status and headers", async () => {
    const res = await appThrowing(apiError(429, "Slow down", { "Retry-After": "3" })).request("/fails");
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("3");
    expect(await res.json()).toEqual({
      error: { message: "Slow down", type: "rate_limit_error", param: null, code: "rate_limit_exceeded" },
    });
  });

  it("answers a group that is not the team's as OpenAI does: 404 model_not_found", async () => {
    const res = await appThrowing(failureToHttp(new LedgerRefusal("GROUP_NOT_ASSIGNED", "Model group 'x' is not assigned"))).request(
      "/fails",
    );
    expect(res.status).toBe(404);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe("model_not_found");
  });

  it("moves a one-request job's id from the body to x-job-id", async () => {
    const withJob = new HTTPException(502, {
      message: "Every model failed",
      res: Response.json({ detail: "Every model failed", job_id: "job-1" }, { status: 502 }),
    });
    const res = await appThrowing(withJob).request("/fails");
    expect(res.headers.get("x-job-id")).toBe("job-1");
    expect(await res.json()).not.toHaveProperty("job_id");
  });

  it("leaves successes and answers that are not the gateway's JSON as they are", async () => {
    const app = appThrowing(new Error("unused"));
    expect(await (await app.request("/works")).json()).toEqual({ ok: true });
    const text = await app.request("/text");
    expect(text.status).toBe(500);
    expect(await text.text()).toBe("not json");
  });

  it("answers in Anthropic's shape on /v1/messages and for any request that names an anthropic-version", async () => {
    const app = appThrowing(failureToHttp(new LedgerRefusal("GROUP_NOT_ASSIGNED", "Model group 'x' is not assigned")));
    const onMessages = await app.request("/v1/messages", { method: "POST" });
    expect(onMessages.status).toBe(404);
    expect(await onMessages.json()).toEqual({
      type: "error",
      error: { type: "not_found_error", message: "Model group 'x' is not assigned" },
    });
    const withVersion = await appThrowing(apiError(402, "No credits")).request("/fails", {
      headers: { "anthropic-version": "2023-06-01" },
    });
    expect(withVersion.status).toBe(402);
    expect(await withVersion.json()).toEqual({ type: "error", error: { type: "billing_error", message: "No credits" } });
  });
});
