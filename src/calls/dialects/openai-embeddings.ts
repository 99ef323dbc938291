import type { z } from "@hono/zod-openapi";
import type { OpenAIEmbeddingBody, OpenAIEmbeddingList } from "../../schemas/openai";
import { parseUsage } from "../cost";
import type { CallRequest, Dialect } from "../dialect";
import { openAILabels } from "../labels";
import { attributionFields, attributionOf, whitelisted } from "../upstream/upstream-request";
import { embeddingWorstCase } from "../worst-case";

// OpenAI's embeddings (POST /v1/embeddings), forwarded to LiteLLM's /embeddings: `model` names
// the group; metered by its prompt tokens (an embedding has no completion) and priced like a chat
// call. No stream.

/** Embedding parameters forwarded to LiteLLM as they are. */
export const FORWARDED_EMBEDDING_PARAMETERS = ["input", "encoding_format", "dimensions"] as const;

export interface EmbeddingRequest extends CallRequest {
  params: { input: unknown; encoding_format?: unknown; dimensions?: unknown };
}

type EmbeddingList = z.infer<typeof OpenAIEmbeddingList>;

/** OpenAI's `{object: "embedding", index, embedding}` items, rebuilt from those fields only. */
function teamEmbeddings(data: unknown[]): EmbeddingList["data"] {
  return data.map((item, position) => {
    const source = (typeof item === "object" && item !== null ? item : {}) as Record<string, unknown>;
    return { object: "embedding", index: typeof source.index === "number" ? source.index : position, embedding: source.embedding ?? null };
  });
}

export const openAIEmbeddings: Dialect<z.infer<typeof OpenAIEmbeddingBody>, EmbeddingRequest, unknown[], EmbeddingList> = {
  upstreamPath: "/embeddings",
  parse: ({ model, input, encoding_format, dimensions, user }) => ({
    modelGroup: model,
    purpose: null,
    labels: openAILabels(user, null),
    params: { input, encoding_format: encoding_format ?? undefined, dimensions: dimensions ?? undefined },
  }),
  estimate: (request) => embeddingWorstCase(request.params.input),
  upstreamBody: (request, call) => ({
    ...whitelisted(request.params, FORWARDED_EMBEDDING_PARAMETERS),
    ...attributionFields(attributionOf(call)),
  }),
  readAnswer(text) {
    let parsed: { data?: unknown; usage?: unknown };
    try {
      parsed = JSON.parse(text);
    } catch {
      return null;
    }
    if (typeof parsed !== "object" || parsed === null || !Array.isArray(parsed.data)) return null;
    const reported = parseUsage(parsed.usage);
    const usage = reported && { promptTokens: reported.promptTokens, completionTokens: 0, totalTokens: reported.promptTokens };
    return { usage, deliveredChars: 0, parsed: parsed.data };
  },
  writeAnswer: (data, { modelGroup, usage }) => ({
    object: "list",
    data: teamEmbeddings(data),
    model: modelGroup,
    usage: { prompt_tokens: usage.promptTokens, total_tokens: usage.totalTokens },
  }),
  answerHeaders: () => ({}),
};
