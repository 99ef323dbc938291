import { z } from "@hono/zod-openapi";

// A call's labels as the wire carries them: tags (what the call is for, e.g. a product feature)
// and the team's own end user. Both are recorded on the call and reported by the team's usage;
// tags are also gathered on the call's job.

/** Tags one call may carry, from the header and the body together. */
export const MAX_TAGS_PER_CALL = 10;
export const MAX_TAG_CHARS = 64;
export const MAX_END_USER_CHARS = 256;

const TAG_PATTERN = /^[A-Za-z0-9._:/=@+-]+$/;
const TAG_RULE = `1 to ${MAX_TAG_CHARS} characters of letters, digits and . _ : / = @ + -`;

export const Tag = z
  .string()
  .min(1, { error: "must not be empty" })
  .max(MAX_TAG_CHARS, { error: `must be at most ${MAX_TAG_CHARS} characters` })
  .regex(TAG_PATTERN, { error: `must be ${TAG_RULE}` });

export const TagList = z
  .array(Tag)
  .max(MAX_TAGS_PER_CALL, { error: `must list at most ${MAX_TAGS_PER_CALL} tags` })
  .openapi({ description: `Tags of the call (${TAG_RULE}; at most ${MAX_TAGS_PER_CALL})`, example: ["checkout", "beta"] });

/** The tags of a comma-separated list (`a, b` is `["a", "b"]`); empty entries are ignored. */
export function splitTags(list: string): string[] {
  return list
    .split(",")
    .map((tag) => tag.trim())
    .filter((tag) => tag !== "");
}

/** The end user a call is made for, as the team names them (no control characters; empty means none). */
export const EndUserId = z
  .string()
  .max(MAX_END_USER_CHARS, { error: `must be at most ${MAX_END_USER_CHARS} characters` })
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  .regex(/^[^\u0000-\u001f\u007f]*$/, { error: "must not contain control characters" });

/** The X-End-User-Id header: an end user, not empty (an empty header is a mistake, not "none"). */
export const EndUserHeader = EndUserId.min(1, { error: "must not be empty" });

/** Tags as one comma-separated string (the header, and OpenAI's string-valued `metadata.tags`). */
export const TagListText = z
  .string()
  .max(MAX_TAGS_PER_CALL * (MAX_TAG_CHARS + 2), { error: "is too long" })
  .refine((list) => splitTags(list).length <= MAX_TAGS_PER_CALL, { error: `must list at most ${MAX_TAGS_PER_CALL} tags` })
  .refine((list) => splitTags(list).every((tag) => Tag.safeParse(tag).success), { error: `must list tags of ${TAG_RULE}` });

/**
 * OpenAI's `metadata` (chat completions, Responses): at most 16 string values, keys of at most 64
 * characters, values of at most 512. Its `tags`, comma-separated, are the call's tags; it is not
 * sent upstream.
 */
export const OpenAIMetadata = z
  .record(
    z.string().max(64, { error: "keys must be at most 64 characters" }),
    z.string().max(512, { error: "values must be at most 512 characters" }),
  )
  .refine((m) => Object.keys(m).length <= 16, { error: "must have at most 16 keys" })
  .refine((m) => m.tags === undefined || TagListText.safeParse(m.tags).success, {
    error: `'tags' must be a comma-separated list of at most ${MAX_TAGS_PER_CALL} tags of ${TAG_RULE}`,
  })
  .openapi({
    description: "String values; `tags` (comma-separated) tags the call. Not sent upstream.",
    example: { tags: "checkout,beta" },
  });

/** The headers every LLM call route reads its labels from. */
export const CallLabelHeaderFields = {
  "x-gateway-tags": TagListText.optional().openapi({
    description: `Comma-separated tags of the call (${TAG_RULE}; at most ${MAX_TAGS_PER_CALL}), with those of the body's metadata`,
    example: "checkout,beta",
  }),
  "x-end-user-id": EndUserHeader.optional().openapi({
    description:
      "The team's end user the call is made for (wins over the body's own end-user field): a one-request job is for them, " +
      "their budget counts it when the team sets one; in an open job it must be the job's end user",
    example: "user-4821",
  }),
};

export const CallLabelHeaders = z.object(CallLabelHeaderFields);
