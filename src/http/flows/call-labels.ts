import type { CallRequest } from "../../calls/dialect";
import { mergeLabels } from "../../calls/labels";
import { EndUserId, MAX_TAGS_PER_CALL, TagListText } from "../../schemas/labels";
import type { AppContext } from "../context";
import { validationError } from "../errors";
import { toValidationIssues } from "../validation";

// A call's labels from its headers (X-Gateway-Tags, X-End-User-Id), added to those its dialect
// read from the body. Checked here whatever the route declares, so every call route refuses bad
// labels the same way (422) before anything is opened or held.

/** The request with its headers' labels; throws a 422 for bad labels or too many tags in all. */
export function withHeaderLabels<R extends CallRequest>(c: AppContext, request: R): R {
  const tags = c.req.header("x-gateway-tags");
  const endUser = c.req.header("x-end-user-id");
  for (const [name, value, schema] of [
    ["x-gateway-tags", tags, TagListText],
    ["x-end-user-id", endUser, EndUserId],
  ] as const) {
    if (value === undefined) continue;
    const checked = schema.safeParse(value);
    if (!checked.success)
      throw validationError(
        toValidationIssues(
          "header",
          checked.error.issues.map((i) => ({ ...i, path: [name] })),
        ),
      );
  }
  const labels = mergeLabels(request.labels, { tags, endUser });
  if ("tooManyTags" in labels) {
    const msg = `the call has ${labels.tooManyTags} tags from X-Gateway-Tags and the body together; at most ${MAX_TAGS_PER_CALL}`;
    throw validationError([{ loc: ["header", "x-gateway-tags"], msg, type: "too_big" }]);
  }
  return { ...request, labels };
}
