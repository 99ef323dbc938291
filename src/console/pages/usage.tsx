import type { TeamUsageAnswer, UsageTotalsAnswer } from "../api-types";
import { BarChart, type ChartRow } from "../components/chart";
import { Facts } from "../components/facts";
import { Field, FilterForm } from "../components/fields";
import { renderPage } from "../components/layout";
import { Table } from "../components/table";
import { type ConsoleApp, type ConsoleContext, queryOf, seg } from "../context";
import { TeamNav, teamPath } from "./team-nav";

// A team's usage for one month: the usage report's totals, charts of credits and tokens per
// day and per job type, and the calls per tag and per end user (the team's labels of its calls).

type Totals = UsageTotalsAnswer;

/** One chart row per entry, in key order. */
const rowsOf = (entries: Record<string, Totals>, figure: (t: Totals) => number): ChartRow[] =>
  Object.entries(entries)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([label, totals]) => ({ label, value: figure(totals) }));
const credits = (t: Totals) => t.credits_charged;
const tokens = (t: Totals) => t.total_tokens;

type LabelUsage = NonNullable<TeamUsageAnswer["tags"]>[string] & { label: string };

/** The calls per tag or per end user as a table, biggest client cost first. */
function LabelTable({ caption, by, entries }: { caption: string; by: string; entries: TeamUsageAnswer["tags"] }) {
  const rows: LabelUsage[] = Object.entries(entries ?? {})
    .map(([label, usage]) => ({ label, ...usage }))
    .sort((a, b) => b.client_cost_usd - a.client_cost_usd || a.label.localeCompare(b.label));
  return (
    <Table
      caption={caption}
      rows={rows}
      empty={`No calls this month`}
      columns={[
        { label: by, cell: (r) => r.label },
        { label: "Calls", cell: (r) => r.calls, numeric: true },
        { label: "Tokens", cell: (r) => r.total_tokens, numeric: true },
        { label: "Client cost (USD)", cell: (r) => r.client_cost_usd.toFixed(6), numeric: true },
      ]}
    />
  );
}

async function usagePage(c: ConsoleContext) {
  const teamId = c.req.param("team_id") ?? "";
  const period = c.req.query("period") || new Date().toISOString().slice(0, 7);
  const api = c.get("api");
  const [usage, byTag, byEndUser] = await Promise.all(
    [undefined, "tag", "end_user"].map((group_by) =>
      api.get<TeamUsageAnswer>(`/api/teams/${seg(teamId)}/usage${queryOf({ period, group_by })}`),
    ),
  );
  return renderPage(
    c,
    { title: `Usage of ${teamId}`, error: usage.ok ? null : usage.detail, status: usage.status },
    <>
      <TeamNav teamId={teamId} />
      <FilterForm action={`${teamPath(teamId)}/usage`}>
        <Field label="Month (YYYY-MM)" name="period" value={period} pattern="\d{4}-\d{2}" />
      </FilterForm>
      {usage.ok ? (
        <>
          <section aria-labelledby="totals">
            <h2 id="totals">Totals for {usage.data.period}</h2>
            <Facts
              facts={[
                { label: "Jobs", value: usage.data.summary.jobs },
                { label: "Calls", value: usage.data.summary.calls },
                { label: "Credits charged", value: usage.data.summary.credits_charged },
                { label: "Tokens", value: usage.data.summary.total_tokens },
                { label: "Client cost (USD)", value: usage.data.summary.client_cost_usd.toFixed(6) },
              ]}
            />
          </section>
          <section aria-labelledby="per-day">
            <h2 id="per-day">Per day</h2>
            <BarChart title="Credits per day" kind="credits" rows={rowsOf(usage.data.days, credits)} />
            <BarChart title="Tokens per day" kind="tokens" rows={rowsOf(usage.data.days, tokens)} />
          </section>
          <section aria-labelledby="per-type">
            <h2 id="per-type">Per job type</h2>
            <BarChart title="Credits per job type" kind="credits" rows={rowsOf(usage.data.job_types, credits)} />
            <BarChart title="Tokens per job type" kind="tokens" rows={rowsOf(usage.data.job_types, tokens)} />
          </section>
          <section aria-labelledby="per-label">
            <h2 id="per-label">Per tag and per end user</h2>
            <p class="hint">A call with several tags counts under each; (none) is the calls without one.</p>
            {byTag.ok ? <LabelTable caption="Calls per tag" by="Tag" entries={byTag.data.tags} /> : null}
            {byEndUser.ok ? <LabelTable caption="Calls per end user" by="End user" entries={byEndUser.data.end_users} /> : null}
          </section>
        </>
      ) : null}
    </>,
  );
}

export function registerUsagePage(app: ConsoleApp): void {
  app.get("/teams/:team_id/usage", (c) => usagePage(c));
}
