import { describe, expect, it } from "vitest";
import { openAIEmbeddings } from "../../../src/calls/dialects/openai-embeddings";
import { admittedCall, facts } from "./admitted-call";

describe("OpenAI's embeddings dialect", () => {
  const request = openAIEmbeddings.parse({ model: "embed", input: ["first text", "second"], encoding_format: null, user: "u" });

  it("forwards only input, encoding_format and dimensions, with the call's attribution", () => {
    const body = openAIEmbeddings.upstreamBody(request, admittedCall(), false);
    expect(Object.keys(body).sort()).toEqual(["input", "metadata", "user"]);
    expect(body).toMatchObject({ input: ["first text", "second"], user: "team-42" });
    expect(openAIEmbeddings.upstreamPath).toBe("/embeddings");
  });

  it("holds its input as the prompt (each string 4 characters a token), and has no completion of its own", () => {
    expect(openAIEmbeddings.estimate(request)).toEqual({ promptTokens: Math.ceil(10 / 4) + Math.ceil(6 / 4), maxTokens: 0, choices: 1 });
  });

  it("is metered by its prompt tokens only, and answers OpenAI's list rebuilt from its items' fields", () => {
    const reading = openAIEmbeddings.readAnswer(
      JSON.stringify({
        data: [{ object: "embedding", index: 0, embedding: [0.1, 0.2], extra: "dropped" }, { embedding: [0.3] }],
        model: "text-embedding-3-small",
        usage: { prompt_tokens: 7, total_tokens: 7 },
      }),
    )!;
    expect(reading.usage).toEqual({ promptTokens: 7, completionTokens: 0, totalTokens: 7 });
    const usage = reading.usage!;
    expect(openAIEmbeddings.writeAnswer(reading.parsed, { ...facts, modelGroup: "embed", usage }, request)).toEqual({
      object: "list",
      data: [
        { object: "embedding", index: 0, embedding: [0.1, 0.2] },
        { object: "embedding", index: 1, embedding: [0.3] },
      ],
      model: "embed",
      usage: { prompt_tokens: 7, total_tokens: 7 },
    });
  });

  it("is not an answer without a data list", () => {
    expect(openAIEmbeddings.readAnswer(JSON.stringify({ object: "list" }))).toBeNull();
    expect(openAIEmbeddings.readAnswer("<html>")).toBeNull();
  });

  it("does not stream", () => {
    expect(openAIEmbeddings.streamFormat).toBeUndefined();
  });
});
