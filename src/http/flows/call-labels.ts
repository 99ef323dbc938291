import type { CallRequest } from "../../calls/dialect";
import { mergeLabels } from "../../calls/labels";
import { MAX_TAGS_PER_CALL, TagListText } from "../../schemas/labels";
import type { AppContext } from "../context";
import { endUserOf } from "../end-user";
import { validationError } from "../errors";
import { toValidationIssues } from "../validation";

// A call's labels from its headers (X-Gateway-Tags, X-End-User-Id), added to those its dialect
// read from the body. Checked here whatever the route declares, so every call route refuses bad
// labels the same way (422) before anything is opened or held.

/** The request with its headers' labels; throws a 422 for bad labels or too many tags in all. */
export function withHeaderLabels<R extends CallRequest>(c: AppContext, request: R): R {
  const tags = c.req.header("x-gateway-tags");
  const checked = tags === undefined ? null : TagListText.safeParse(tags);
  if (checked && !checked.success) {
    throw validationError(
      toValidationIssues(
        "header",
        checked.error.issues.map((i) => ({ ...i, path: ["x-gateway-tags"] })),
      ),
    );
  }
  const labels = mergeLabels(request.labels, { tags, endUser: endUserOf(c, null) ?? undefined });
  if ("tooManyTags" in labels) {
    const msg = `the call has ${labels.tooManyTags} tags from X-Gateway-Tags and the body together; at most ${MAX_TAGS_PER_CALL}`;
    throw validationError([{ loc: ["header", "x-gateway-tags"], msg, type: "too_big" }]);
  }
  return { ...request, labels };
}
