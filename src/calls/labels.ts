import { MAX_TAGS_PER_CALL, splitTags } from "../schemas/labels";

// A call's labels: the tags the team gives it and the end user it is made for. A dialect reads
// those its body carries (OpenAI's `user`, Anthropic's `metadata.user_id`, `metadata.tags`); the
// route adds those of the X-Gateway-Tags and X-End-User-Id headers. Pure.

export interface CallLabels {
  /** Distinct, in the order first given. */
  tags: string[];
  endUser: string | null;
}

export const NO_LABELS: CallLabels = { tags: [], endUser: null };

/** The labels of an OpenAI body: its `user`, and the tags of its `metadata.tags` (validated by the schema). */
export function openAILabels(user: string | null | undefined, metadata: Record<string, string> | null | undefined): CallLabels {
  return { tags: [...new Set(splitTags(metadata?.tags ?? ""))], endUser: user || null };
}

/** The headers' labels over the body's: tags of both (each once), the header's end user before the body's. */
export function mergeLabels(body: CallLabels, header: { tags?: string; endUser?: string }): CallLabels | { tooManyTags: number } {
  const tags = [...new Set([...body.tags, ...splitTags(header.tags ?? "")])];
  if (tags.length > MAX_TAGS_PER_CALL) return { tooManyTags: tags.length };
  return { tags, endUser: header.endUser || body.endUser };
}
