import { describe, expect, it } from "vitest";
import { FORWARDED_PARAMETERS } from "../../src/calls/dialects/chat-completions";
import {
  chatPromptTokens,
  chatWorstCase,
  embeddingInputTokens,
  embeddingWorstCase,
  IMAGE_TOKENS,
  messagesWorstCase,
  PROMPT_FIELDS,
  promptTokensOfValue,
  responsesWorstCase,
} from "../../src/calls/worst-case";
import { affordableMaxTokens, HOLD_MARGIN_MS, heldTokens, holdDeadlineMs, worstCase } from "../../src/ledger/rules/holds";
import { endCharge, unfinishedJobsOf } from "../../src/ledger/rules/money";
import type { BudgetSettings } from "../../src/ledger/types";

// The worst case of a call, as the Worker estimates it (src/llm/worst-case.ts), and the hold rules
// that price it and give it a deadline (src/ledger/holds.ts): pure functions, no runtime.

const messages = [{ role: "user", content: "How do I reset my password?" }];
const charsOf = (value: unknown) => JSON.stringify(value).length;

describe("a chat call's worst case", () => {
  it("counts the messages as 4 characters a token of their JSON, as before", () => {
    expect(chatWorstCase({ messages })).toEqual({ promptTokens: Math.ceil(charsOf(messages) / 4), maxTokens: null, choices: 1 });
  });

  it("counts every prompt-side field the upstream sees: tools, functions, tool_choice, response_format", () => {
    const tools = [{ type: "function", function: { name: "lookup", description: "d".repeat(400), parameters: { type: "object" } } }];
    const functions = [{ name: "legacy", parameters: { type: "object" } }];
    const response_format = { type: "json_schema", json_schema: { name: "a", schema: { type: "object" } } };
    const tool_choice = { type: "function", function: { name: "lookup" } };
    const expected = [messages, tools, functions, tool_choice, response_format].reduce((sum, v) => sum + Math.ceil(charsOf(v) / 4), 0);
    expect(chatPromptTokens({ messages, tools, functions, tool_choice, response_format })).toBe(expected);
    expect(chatPromptTokens({ messages, tools })).toBeGreaterThan(chatPromptTokens({ messages }) + 100);
  });

  it("every forwarded field that carries prompt text is one it counts", () => {
    const promptSide = ["messages", "tools", "tool_choice", "response_format"];
    for (const field of promptSide) expect(FORWARDED_PARAMETERS).toContain(field);
    for (const field of promptSide) expect(PROMPT_FIELDS).toContain(field);
  });

  it("counts each image part as IMAGE_TOKENS, whatever its URL or data, nested anywhere", () => {
    const image = (url: string) => ({ type: "image_url", image_url: { url, detail: "high" } });
    const withUrl = [{ role: "user", content: [{ type: "text", text: "what is it?" }, image("https://example.com/a.png")] }];
    const withData = [
      { role: "user", content: [{ type: "text", text: "what is it?" }, image(`data:image/png;base64,${"A".repeat(400_000)}`)] },
    ];
    const textOnly = [{ role: "user", content: [{ type: "text", text: "what is it?" }, null] }];
    expect(chatPromptTokens({ messages: withUrl })).toBe(chatPromptTokens({ messages: textOnly }) + IMAGE_TOKENS);
    expect(chatPromptTokens({ messages: withData })).toBe(chatPromptTokens({ messages: withUrl }));
    const two = [{ role: "tool", content: [image("a"), { type: "input_image", image_url: "b" }] }];
    expect(promptTokensOfValue(two)).toBeGreaterThanOrEqual(2 * IMAGE_TOKENS);
  });

  it("takes the larger of max_tokens and max_completion_tokens, and n choices (1 unless more)", () => {
    expect(chatWorstCase({ messages, max_tokens: 80, n: 8 })).toMatchObject({ maxTokens: 80, choices: 8 });
    expect(chatWorstCase({ messages, max_tokens: 10, max_completion_tokens: 300 })).toMatchObject({ maxTokens: 300, choices: 1 });
    expect(chatWorstCase({ messages, n: null })).toMatchObject({ maxTokens: null, choices: 1 });
    expect(chatWorstCase({ messages, n: 1 }).choices).toBe(1);
  });
});

describe("an embeddings call's worst case", () => {
  it("is its whole input and nothing completed", () => {
    expect(embeddingWorstCase("x".repeat(200_000))).toEqual({ promptTokens: 50_000, maxTokens: 0, choices: 1 });
  });

  it("sums every string of a list (each at least 1 token) and counts a token array by its length", () => {
    expect(embeddingInputTokens(["abcd", "abcdefgh", ""])).toBe(1 + 2 + 1);
    expect(embeddingInputTokens([1, 2, 3, 4, 5])).toBe(5);
    expect(embeddingInputTokens([[1, 2, 3], [4], [5, 6]])).toBe(6);
    expect(embeddingInputTokens("")).toBe(1);
  });
});

const perTokens = (tokensPerCredit: number): BudgetSettings => ({
  budgetMode: "consumption_tokens",
  creditsPerDollar: 10,
  tokensPerCredit,
  costMarkupPercentage: 0,
});
const perDollar: BudgetSettings = { ...perTokens(1), budgetMode: "consumption_usd", creditsPerDollar: 1000 };
const price = { inputPerMillionUsd: 0.15, outputPerMillionUsd: 0.6 };

describe("holding a worst case", () => {
  it("n choices hold n × max_tokens of completion, the prompt once", () => {
    expect(worstCase(perTokens(50), null, 13, 8 * 80)?.holdMicro).toBe(Math.ceil((653 * 1_000_000) / 50));
    expect(heldTokens({ prompt_tokens: 13, max_tokens: 80, choices: 8 })).toBe(653);
  });

  it("the max_tokens chosen for n choices is the largest whose n-fold worst case fits", () => {
    const room = 1_000_000; // 1 credit: $0.001 at 1000 per dollar
    const one = affordableMaxTokens(perDollar, price, 20, room, 1);
    const four = affordableMaxTokens(perDollar, price, 20, room, 4);
    expect(four).toBeLessThan(one);
    expect(worstCase(perDollar, price, 20, four * 4)!.holdMicro).toBeLessThanOrEqual(room);
    expect(worstCase(perDollar, price, 20, (four + 1) * 4)!.holdMicro).toBeGreaterThan(room);
  });

  it("a hold's deadline: every model's attempt, a stream's longest run, and the margin", () => {
    expect(holdDeadlineMs(1_000, 3, { attemptMs: 60_000, answerMs: 0 })).toBe(1_000 + 180_000 + HOLD_MARGIN_MS);
    expect(holdDeadlineMs(0, 1, { attemptMs: 60_000, answerMs: 600_000 })).toBe(660_000 + HOLD_MARGIN_MS);
  });
});

describe("what a job is charged when it ends", () => {
  const usage = (over: Partial<{ clientCostNano: number; totalTokens: number; successfulCalls: number }> = {}) => ({
    clientCostNano: 0,
    totalTokens: 0,
    successfulCalls: 0,
    ...over,
  });
  const jobBased: BudgetSettings = { ...perTokens(10_000), budgetMode: "job_based" };

  it("the default is free in job_based and charged in the consumption modes; a team's own rule wins", () => {
    expect(unfinishedJobsOf("job_based", null)).toBe("free");
    expect(unfinishedJobsOf("consumption_usd", null)).toBe("charged");
    expect(unfinishedJobsOf("consumption_tokens", "free")).toBe("free");
  });

  it("completed: the completion charge, whatever the rule", () => {
    expect(endCharge(perTokens(10), "free", "completed", usage({ totalTokens: 55 }))).toBe(5);
    expect(endCharge(jobBased, "free", "completed", usage())).toBe(1);
  });

  it("unfinished and charged: as if completed once it consumed something (consumption) or made a successful call (job_based)", () => {
    for (const end of ["failed", "cancelled", "expired"] as const) {
      expect(endCharge(perTokens(10), "charged", end, usage({ totalTokens: 55 }))).toBe(5);
      expect(endCharge(perTokens(10), "charged", end, usage({ totalTokens: 3 }))).toBe(1);
      expect(endCharge(perTokens(10), "charged", end, usage())).toBe(0);
      expect(endCharge(jobBased, "charged", end, usage({ successfulCalls: 1 }))).toBe(1);
      expect(endCharge(jobBased, "charged", end, usage({ totalTokens: 500 }))).toBe(0);
      expect(endCharge(perTokens(10), "free", end, usage({ totalTokens: 55 }))).toBe(0);
    }
  });
});

describe("a Responses call's worst case", () => {
  it("counts input, instructions, tools, tool choice and the output format; an input_image as an image; at least 16 chosen", () => {
    const input = [
      {
        role: "user",
        content: [
          { type: "input_text", text: "What is this?" },
          { type: "input_image", image_url: "data:image/png;base64,AAAA" },
        ],
      },
    ];
    const text = { format: { type: "json_schema", name: "a", schema: { type: "object" } } };
    const worst = responsesWorstCase({ input, instructions: "Be brief", text, max_output_tokens: 64 });
    expect(worst.maxTokens).toBe(64);
    expect(worst.choices).toBe(1);
    expect(worst.minMaxTokens).toBe(16);
    expect(worst.promptTokens).toBeGreaterThanOrEqual(IMAGE_TOKENS + Math.ceil(charsOf(text) / 4));
    expect(responsesWorstCase({ input: "Hi" }).maxTokens).toBeNull();
  });
});

describe("a Messages call's worst case", () => {
  it("counts messages, system, tools and tool choice; an image block as an image; max_tokens bounds the answer", () => {
    const imageMessages = [
      { role: "user", content: [{ type: "image", source: { type: "base64", media_type: "image/png", data: "A".repeat(40_000) } }] },
    ];
    const worst = messagesWorstCase({ messages: imageMessages, system: "Be brief", max_tokens: 100 });
    expect(worst).toMatchObject({ maxTokens: 100, choices: 1 });
    // The image is IMAGE_TOKENS, not its 40,000 characters of data.
    expect(worst.promptTokens).toBeLessThan(IMAGE_TOKENS + 100);
    expect(worst.promptTokens).toBeGreaterThanOrEqual(IMAGE_TOKENS);
    expect(messagesWorstCase({ messages }).maxTokens).toBeNull();
  });
});
