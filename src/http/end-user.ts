import { EndUserHeader } from "../schemas/labels";
import type { AppContext } from "./context";
import { validationError } from "./errors";
import { toValidationIssues } from "./validation";

// Who a job is for, when a team bills its own end users: the `X-End-User-Id` header, else the
// request's own field (a job's `user_id`; a /v1 call's `user` or `metadata.user_id`, read by its
// dialect as the call's labels, http/flows/call-labels.ts). The job's calls are theirs, and their
// budget counts the job when the team sets one (docs/keys.md).

/** The end user a request names (header first), or null; a header that is empty or has control characters is 422. */
export function endUserOf(c: AppContext, fromBody: string | null | undefined): string | null {
  const header = c.req.header("x-end-user-id");
  if (header === undefined) return fromBody || null;
  const checked = EndUserHeader.safeParse(header);
  if (!checked.success) {
    throw validationError(
      toValidationIssues(
        "header",
        checked.error.issues.map((i) => ({ ...i, path: ["x-end-user-id"] })),
      ),
    );
  }
  return header;
}
