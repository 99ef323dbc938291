import { describe, expect, it } from "vitest";
import { fallBackInOrder, type ModelTry } from "../../src/calls/upstream/fallback";
import type { Attempt } from "../../src/calls/upstream/litellm-client";

const attempt = (model: string, outcome: Attempt["outcome"], status?: number): Attempt => ({ model, outcome, status, latency_ms: 1 });

/** A tryModel that answers from a table, and remembers which models it was asked for. */
function scripted(answers: Record<string, ModelTry<string>>) {
  const tried: string[] = [];
  const tryModel = async (model: string) => {
    tried.push(model);
    return answers[model];
  };
  return { tried, tryModel };
}

const failed = (model: string, retryable: boolean, status?: number): ModelTry<string> => ({
  ok: false,
  attempt: attempt(model, status === undefined ? "timeout" : "http_error", status),
  message: `${model} failed`,
  retryable,
  status,
});

describe("fallBackInOrder", () => {
  it("stops at the first model that opens, with every attempt so far", async () => {
    const { tried, tryModel } = scripted({
      a: failed("a", true, 503),
      b: { ok: true, attempt: attempt("b", "ok", 200), opened: "b-answer" },
      c: { ok: true, attempt: attempt("c", "ok", 200), opened: "c-answer" },
    });
    const outcome = await fallBackInOrder(["a", "b", "c"], tryModel);
    expect(tried).toEqual(["a", "b"]);
    expect(outcome).toMatchObject({ ok: true, model: "b", opened: "b-answer" });
    expect(outcome.attempts.map((a) => a.model)).toEqual(["a", "b"]);
  });

  it("a failure the next model would share ends the fallback, reporting that failure", async () => {
    const { tried, tryModel } = scripted({ a: failed("a", false, 400), b: failed("b", true, 503) });
    const outcome = await fallBackInOrder(["a", "b"], tryModel);
    expect(tried).toEqual(["a"]);
    expect(outcome).toEqual({ ok: false, attempts: [attempt("a", "http_error", 400)], message: "a failed", retryable: false, status: 400 });
  });

  it("when every model fails, the last failure is the one reported", async () => {
    const { tryModel } = scripted({ a: failed("a", true, 503), b: failed("b", true) });
    const outcome = await fallBackInOrder(["a", "b"], tryModel);
    expect(outcome).toMatchObject({ ok: false, message: "b failed", retryable: true, status: undefined });
    expect(outcome.attempts).toHaveLength(2);
  });

  it("an empty group is a retryable failure with no attempts", async () => {
    expect(await fallBackInOrder([], scripted({}).tryModel)).toEqual({
      ok: false,
      attempts: [],
      message: "the model group has no models",
      retryable: true,
      status: undefined,
    });
  });
});
