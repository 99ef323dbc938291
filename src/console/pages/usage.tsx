import type { Context } from "hono";
import { BarChart, type ChartRow } from "../chart";
import type { ConsoleApp, ConsoleEnv } from "../context";
import { asStatus, seg } from "../context";
import { Layout } from "../layout";
import { TeamNav } from "./team-nav";

// A team's usage for one month: the usage report's totals, and charts of credits and tokens per
// day and per job type.

type C = Context<ConsoleEnv>;
const chrome = (c: C) => ({ admin: c.get("admin"), session: c.get("session") });

interface UsageTotals {
  jobs: number;
  calls: number;
  credits_charged: number;
  total_tokens: number;
  client_cost_usd: number;
}

async function usagePage(c: C) {
  const teamId = c.req.param("team_id") ?? "";
  const period = c.req.query("period") || new Date().toISOString().slice(0, 7);
  const api = c.get("api");
  const usage = await api.get<{
    period: string;
    summary: UsageTotals;
    job_types: Record<string, UsageTotals>;
    days: Record<string, UsageTotals>;
  }>(`/api/teams/${seg(teamId)}/usage?period=${seg(period)}`);
  const days = usage.ok ? Object.entries(usage.data.days).sort(([a], [b]) => a.localeCompare(b)) : [];
  const types = usage.ok ? Object.entries(usage.data.job_types).sort(([a], [b]) => a.localeCompare(b)) : [];
  const typeRows = (pick: (t: UsageTotals) => number): ChartRow[] => types.map(([label, totals]) => ({ label, value: pick(totals) }));
  const dayRows = (pick: (t: UsageTotals) => number): ChartRow[] => days.map(([label, totals]) => ({ label, value: pick(totals) }));
  return c.html(
    <Layout title={`Usage of ${teamId}`} chrome={chrome(c)} flash={{ error: usage.ok ? null : usage.detail }}>
      <TeamNav teamId={teamId} />
      <form method="get" class="fields">
        <div class="field">
          <label for="f-period">Month (YYYY-MM)</label>
          <input id="f-period" name="period" value={period} pattern="\d{4}-\d{2}" />
        </div>
        <button type="submit" class="secondary">
          Show
        </button>
      </form>
      {usage.ok ? (
        <>
          <section aria-labelledby="totals">
            <h2 id="totals">Totals for {usage.data.period}</h2>
            <dl class="facts">
              <div>
                <dt>Jobs</dt>
                <dd data-usage-jobs>{usage.data.summary.jobs}</dd>
              </div>
              <div>
                <dt>Calls</dt>
                <dd>{usage.data.summary.calls}</dd>
              </div>
              <div>
                <dt>Credits charged</dt>
                <dd data-usage-credits>{usage.data.summary.credits_charged}</dd>
              </div>
              <div>
                <dt>Tokens</dt>
                <dd data-usage-tokens>{usage.data.summary.total_tokens}</dd>
              </div>
              <div>
                <dt>Client cost (USD)</dt>
                <dd>{usage.data.summary.client_cost_usd.toFixed(6)}</dd>
              </div>
            </dl>
          </section>
          <section aria-labelledby="per-day">
            <h2 id="per-day">Per day</h2>
            <BarChart title="Credits per day" kind="credits" rows={dayRows((d) => d.credits_charged)} />
            <BarChart title="Tokens per day" kind="tokens" rows={dayRows((d) => d.total_tokens)} />
          </section>
          <section aria-labelledby="per-type">
            <h2 id="per-type">Per job type</h2>
            <BarChart title="Credits per job type" kind="credits" rows={typeRows((t) => t.credits_charged)} />
            <BarChart title="Tokens per job type" kind="tokens" rows={typeRows((t) => t.total_tokens)} />
          </section>
        </>
      ) : null}
    </Layout>,
    asStatus(usage.status),
  );
}

export function registerUsagePage(app: ConsoleApp): void {
  app.get("/teams/:team_id/usage", (c) => usagePage(c));
}
