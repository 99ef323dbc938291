// Server-rendered SVG bar charts (no script, no library): one bar per row, labelled with its value.

export interface ChartRow {
  label: string;
  value: number;
}

const ROW_HEIGHT = 20;
const LABEL_WIDTH = 150;
const BAR_AREA = 560;
const VALUE_WIDTH = 90;

export function BarChart({ title, rows, kind }: { title: string; rows: ChartRow[]; kind: "credits" | "tokens" }) {
  const max = Math.max(1, ...rows.map((row) => row.value));
  const height = Math.max(1, rows.length) * ROW_HEIGHT + 8;
  const width = LABEL_WIDTH + BAR_AREA + VALUE_WIDTH;
  const id = `chart-${kind}-${title.replace(/\W+/g, "-").toLowerCase()}`;
  return (
    <figure class="chart">
      <figcaption id={id}>{title}</figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby={id} data-chart={kind}>
        <title>{title}</title>
        {rows.length === 0 ? (
          <text x="4" y="16">
            No data for this month
          </text>
        ) : null}
        {rows.map((row, index) => {
          const y = 4 + index * ROW_HEIGHT;
          const barWidth = (row.value / max) * BAR_AREA;
          return (
            <g>
              <text x="4" y={y + 13}>
                {row.label}
              </text>
              <rect class={`bar-${kind}`} x={LABEL_WIDTH} y={y + 2} width={barWidth.toFixed(1)} height={ROW_HEIGHT - 6}>
                <title>{`${row.label}: ${row.value}`}</title>
              </rect>
              <text x={LABEL_WIDTH + barWidth + 6} y={y + 13}>
                {String(row.value)}
              </text>
            </g>
          );
        })}
        <line class="axis" x1={LABEL_WIDTH} y1="0" x2={LABEL_WIDTH} y2={height} />
      </svg>
    </figure>
  );
}
