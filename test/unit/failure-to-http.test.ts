import { HTTPException } from "hono/http-exception";
import { describe, expect, it } from "vitest";
import { CallFailure, type CallFailureKind, DependencyDown, type LedgerErrorCode, LedgerRefusal } from "../../src/errors";
import { asHttpError, failureToHttp } from "../../src/http/errors";

async function answerOf(exception: HTTPException) {
  const res = exception.getResponse();
  return { status: res.status, body: await res.json(), retryAfter: res.headers.get("retry-after") };
}

describe("a lower layer's failure as the client's answer", () => {
  it("a store that is down is 503, and says which, never how", async () => {
    expect(await answerOf(failureToHttp(new DependencyDown("database")))).toEqual({
      status: 503,
      body: { detail: "Database unavailable; please retry" },
      retryAfter: null,
    });
    expect((await answerOf(failureToHttp(new DependencyDown("ledger")))).body).toEqual({ detail: "Team ledger unavailable; please retry" });
  });

  it("each ledger refusal has its status, and its detail as the body", async () => {
    const statuses: Array<[LedgerErrorCode, number]> = [
      ["ACCOUNT_NOT_FOUND", 404],
      ["ACCOUNT_EXISTS", 400],
      ["TEAM_SUSPENDED", 403],
      ["INSUFFICIENT_CREDITS", 402],
      ["JOB_NOT_FOUND", 404],
      ["JOB_FINISHED", 409],
      ["JOB_OWNED_BY_GATEWAY", 409],
      ["JOB_NOT_CHARGED", 400],
      ["INVALID_ARGUMENT", 422],
      ["OPERATION_MISMATCH", 422],
      ["INVALID_KEY", 401],
      ["GROUP_NOT_ASSIGNED", 403],
      ["GROUP_HAS_NO_MODELS", 502],
      ["ACCESS_UNAVAILABLE", 503],
      ["PRICING_UNAVAILABLE", 503],
    ];
    for (const [code, status] of statuses) {
      const answer = await answerOf(failureToHttp(new LedgerRefusal(code, `refused: ${code}`)));
      expect(answer, code).toEqual({ status, body: { detail: `refused: ${code}` }, retryAfter: null });
    }
  });

  it("a rate limit says when to retry; a paused team is told a minute", async () => {
    expect(await answerOf(failureToHttp(new LedgerRefusal("RATE_LIMITED", "slow down", 7)))).toMatchObject({
      status: 429,
      retryAfter: "7",
    });
    expect(await answerOf(failureToHttp(new LedgerRefusal("TEAM_PAUSED", "paused")))).toMatchObject({ status: 429, retryAfter: "60" });
  });

  it("a group the team may not use is marked, so the /v1 surface can answer OpenAI's 404", () => {
    expect(failureToHttp(new LedgerRefusal("GROUP_NOT_ASSIGNED", "not yours")).cause).toBe("model_group_not_assigned");
    expect(failureToHttp(new LedgerRefusal("JOB_NOT_FOUND", "no job")).cause).toBeUndefined();
  });

  it("each way a call can fail has its status", async () => {
    const statuses: Array<[CallFailureKind, number]> = [
      ["credentials_refused", 502],
      ["request_rejected", 400],
      ["timed_out", 504],
      ["every_model_failed", 502],
      ["invalid_response", 502],
      ["not_recorded", 503],
    ];
    for (const [reason, status] of statuses) {
      expect((await answerOf(failureToHttp(new CallFailure(reason, "the gateway's words")))).status, reason).toBe(status);
    }
  });

  it("a rejected request adds why the model rejected it, for the client to fix", async () => {
    const rejected = new CallFailure("request_rejected", "The model rejected the request (HTTP 400)", "messages: too long");
    expect((await answerOf(failureToHttp(rejected))).body).toEqual({
      detail: "The model rejected the request (HTTP 400): messages: too long",
    });
  });

  it("anything that is not a lower layer's failure is left as it is", () => {
    const bug = new TypeError("a bug");
    expect(asHttpError(bug)).toBe(bug);
    expect(asHttpError(new DependencyDown("ledger"))).toBeInstanceOf(HTTPException);
  });
});
