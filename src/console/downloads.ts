import { detailOf } from "./api-client";
import type { ConsoleContext } from "./context";
import { setFlash } from "./flash";

/**
 * A CSV the API answers, streamed through to the browser as a download (the API's own file name
 * when it gives one); a refusal goes back to `page` with the API's message.
 */
export async function csvDownload(c: ConsoleContext, apiPath: string, page: string, filename: string): Promise<Response> {
  const answer = await c.get("api").raw(apiPath);
  if (!answer.ok) {
    await setFlash(c, c.get("session"), { to: page, error: detailOf(await answer.json().catch(() => null), answer.status) });
    return c.redirect(page, 303);
  }
  return new Response(answer.body, {
    status: 200,
    headers: {
      "content-type": answer.headers.get("content-type") ?? "text/csv; charset=utf-8",
      "content-disposition": answer.headers.get("content-disposition") ?? `attachment; filename="${filename}"`,
    },
  });
}
