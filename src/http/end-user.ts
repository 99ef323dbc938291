import type { AppContext } from "./context";
import { validationError } from "./errors";

// Who a request is for, when a team bills its own end users: the `X-End-User-Id` header, else
// the request's own field (OpenAI's `user`, a job's `user_id`). A job opened for an end user
// counts against that end user's budget when the team sets one (docs/keys.md).

const END_USER = /^[^\p{Cc}]{1,256}$/u;

/** The end user a request names (header first), or null; a header that is not 1 to 256 printable characters is 422. */
export function endUserOf(c: AppContext, fromBody: string | null | undefined): string | null {
  const header = c.req.header("x-end-user-id");
  if (header !== undefined) {
    if (!END_USER.test(header)) {
      throw validationError([
        { loc: ["header", "X-End-User-Id"], msg: "header 'X-End-User-Id' must be 1 to 256 printable characters", type: "value_error" },
      ]);
    }
    return header;
  }
  return fromBody === undefined || fromBody === null || fromBody === "" ? null : fromBody;
}
