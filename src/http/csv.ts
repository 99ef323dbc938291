import type { AppContext } from "./context";

// CSV for spreadsheets and billing systems (RFC 4180): a header row, then one line per record,
// CRLF line ends, a field quoted when it holds a comma, a quote or a line break. Sent as a
// stream, so an export of any size never sits whole in memory.

/** Whether the request asked for CSV: `?format=csv`, or `Accept: text/csv` without `?format=json`. */
export function wantsCsv(c: AppContext, format: "json" | "csv" | undefined): boolean {
  if (format) return format === "csv";
  return /(^|,)\s*text\/csv\s*(;|,|$)/i.test(c.req.header("accept") ?? "");
}

/**
 * One field: numbers as they are, null as empty, text quoted when needed. Text that a
 * spreadsheet would run as a formula (starting with =, +, -, @, tab or CR) is prefixed with '.
 */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  let text = typeof value === "string" ? value : JSON.stringify(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvLine(values: readonly unknown[]): string {
  return `${values.map(csvField).join(",")}\r\n`;
}

/**
 * A streamed CSV answer: `header`, then each batch of rows `batches` yields, pulled as the client
 * reads. A failure after the first byte ends the download early (the status is already sent),
 * so callers fetch their first batch before answering.
 */
export function csvResponse(filename: string, header: readonly string[], batches: AsyncIterable<unknown[][]>): Response {
  const encoder = new TextEncoder();
  const iterator = batches[Symbol.asyncIterator]();
  let headerSent = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!headerSent) {
        headerSent = true;
        controller.enqueue(encoder.encode(csvLine(header)));
        return;
      }
      const next = await iterator.next();
      if (next.done) controller.close();
      else controller.enqueue(encoder.encode(next.value.map(csvLine).join("")));
    },
    async cancel() {
      await iterator.return?.();
    },
  });
  return new Response(body, {
    status: 200,
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${filename.replace(/[^A-Za-z0-9._-]/g, "_")}"`,
      "cache-control": "no-store",
    },
  });
}

/** Rows already in hand, as the one batch of a CSV answer. */
export async function* oneBatch(rows: unknown[][]): AsyncIterable<unknown[][]> {
  yield rows;
}
