import type { Child } from "hono/jsx";
import { Pager } from "./fields";

// The console's one table: a caption that names it, a header row, one row per item, numbers
// right-aligned, and the links to the listing's other pages; wrapped so a wide table scrolls
// sideways on a phone instead of the page.

export interface Column<T> {
  label: string;
  cell: (row: T) => Child;
  /** Right-aligned, tabular figures. */
  numeric?: boolean;
}

/** Where a listing answered with has_more is: its console URL, the offset shown, the page size. */
export interface Paging {
  base: string;
  offset: number;
  limit: number;
  hasMore: boolean;
}

export function Table<T>(props: { caption: string; rows: readonly T[]; columns: Column<T>[]; empty: string; paging?: Paging }) {
  const { caption, rows, columns, empty, paging } = props;
  const pager = paging ? <Pager {...paging} /> : null;
  if (rows.length === 0) {
    return (
      <>
        <p class="hint empty">{empty}</p>
        {pager}
      </>
    );
  }
  return (
    <div class="table-wrap">
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            {columns.map((column) => (
              <th scope="col" class={column.numeric ? "num" : undefined}>
                {column.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr>
              {columns.map((column) => (
                <td class={column.numeric ? "num" : undefined}>{column.cell(row)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {pager}
    </div>
  );
}
