import type { AdmittedCall } from "../../../src/calls/call-context";

const outlook = {
  speculative: true,
  freeMicro: 10_000_000,
  freeUntilMs: null,
  holds: null,
  budgets: { keyRoomMicro: null, endUserRoomMicro: null, endUsersBudgeted: false },
};

/** An admitted call as the pipeline hands it to a dialect: the team's object admitted it into job-1. */
export function admittedCall(budgetMaxTokens: number | null = null): AdmittedCall {
  return {
    teamId: "team-42",
    jurisdiction: null,
    jobId: "job-1",
    callId: "call-9",
    modelGroup: "fast",
    models: ["openai/gpt-4o-mini", "anthropic/claude-3-haiku"],
    purpose: "summary",
    labels: { tags: [], endUser: null },
    admission: {
      jobType: "triage",
      userId: null,
      endUser: null,
      markupPercentage: 0,
      budgetMaxTokens,
      models: ["openai/gpt-4o-mini"],
      cache: null,
      outlook,
    },
    cache: null,
  };
}

export const facts = {
  callId: "call-9",
  modelGroup: "fast",
  usage: { promptTokens: 12, completionTokens: 30, totalTokens: 42 },
  latencyMs: 123.6,
};
