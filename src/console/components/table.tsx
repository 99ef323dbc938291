import type { Child } from "hono/jsx";

// The console's one table: a caption that names it, a header row, one row per item, numbers
// right-aligned; wrapped so a wide table scrolls sideways on a phone instead of the page.

export interface Column<T> {
  label: string;
  cell: (row: T) => Child;
  /** Right-aligned, tabular figures. */
  numeric?: boolean;
}

export function Table<T>({ caption, rows, columns, empty }: { caption: string; rows: readonly T[]; columns: Column<T>[]; empty: string }) {
  if (rows.length === 0) return <p class="hint empty">{empty}</p>;
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
    </div>
  );
}
