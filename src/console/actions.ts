import type { WriteMethod } from "./api-client";
import type { ConsoleApp, ConsoleContext } from "./context";
import { type Flash, setFlash } from "./flash";
import { type FormFields, formOf, IDEMPOTENCY_FIELD, typedValues } from "./forms";

// Every console form acts the same way: it becomes one /api request, sent with the form's
// one-time key as its Idempotency-Key (so a form sent twice is applied once), and is answered
// with a redirect to its page (POST-redirect-GET: a refresh reloads the page, it does not send
// the form again). The page then shows the outcome, a new secret once, or the API's refusal with
// the form filled in again.

export interface ApiRequest {
  method: WriteMethod;
  path: string;
  body?: unknown;
}

export interface Done {
  notice: string;
  /** A new key or signing secret, shown once on the page. */
  secret?: { label: string; value: string };
  /** Where to go instead of the form's page. */
  to?: string;
}

export interface FormAction<T> {
  /** The page the form is on: where its answer redirects. */
  page: (c: ConsoleContext) => string;
  /** The API request the form makes, or why the form cannot be sent. */
  request: (form: FormFields, c: ConsoleContext) => ApiRequest | { refused: string } | Promise<ApiRequest | { refused: string }>;
  /** What to tell the admin once the API has done it. */
  done: (answer: T, form: FormFields) => Done;
}

const ALREADY_SENT = "This form had already been sent; it was applied once.";

async function redirectWith(c: ConsoleContext, flash: Flash): Promise<Response> {
  await setFlash(c, c.get("session"), flash);
  return c.redirect(flash.to, 303);
}

/** Registers a console form's POST handler (see above). */
export function formAction<T>(app: ConsoleApp, path: string, action: FormAction<T>): void {
  app.post(path, async (c) => {
    const form = await formOf(c);
    const page = action.page(c);
    const refusal = (error: string) => redirectWith(c, { to: page, error, form: new URL(c.req.url).pathname, values: typedValues(form) });
    const request = await action.request(form, c);
    if ("refused" in request) return refusal(request.refused);
    const result = await c.get("api").send<T>(request.method, request.path, request.body, form[IDEMPOTENCY_FIELD]);
    if (!result.ok) return refusal(result.detail);
    const done = action.done(result.data, form);
    const notice = result.replayed ? `${ALREADY_SENT} ${done.notice}` : done.notice;
    return redirectWith(c, { to: done.to ?? page, notice, secret: done.secret });
  });
}
