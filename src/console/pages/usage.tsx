import type { TeamUsageAnswer, UsageTotalsAnswer } from "../api-types";
import { BarChart, type ChartRow } from "../components/chart";
import { Facts } from "../components/facts";
import { Field, FilterForm } from "../components/fields";
import { renderPage } from "../components/layout";
import { type ConsoleApp, type ConsoleContext, queryOf, seg } from "../context";
import { TeamNav, teamPath } from "./team-nav";

// A team's usage for one month: the usage report's totals, and charts of credits and tokens per
// day and per job type.

type Totals = UsageTotalsAnswer;

/** One chart row per entry, in key order. */
const rowsOf = (entries: Record<string, Totals>, figure: (t: Totals) => number): ChartRow[] =>
  Object.entries(entries)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([label, totals]) => ({ label, value: figure(totals) }));
const credits = (t: Totals) => t.credits_charged;
const tokens = (t: Totals) => t.total_tokens;

async function usagePage(c: ConsoleContext) {
  const teamId = c.req.param("team_id") ?? "";
  const period = c.req.query("period") || new Date().toISOString().slice(0, 7);
  const usage = await c.get("api").get<TeamUsageAnswer>(`/api/teams/${seg(teamId)}/usage${queryOf({ period })}`);
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
        </>
      ) : null}
    </>,
  );
}

export function registerUsagePage(app: ConsoleApp): void {
  app.get("/teams/:team_id/usage", (c) => usagePage(c));
}
