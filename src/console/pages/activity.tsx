import type { Context } from "hono";
import type { ConsoleApp, ConsoleEnv } from "../context";
import { asStatus, seg } from "../context";
import { formatTime, Layout, Pager, Select } from "../layout";
import { TeamNav } from "./team-nav";

// A team's jobs (filtered by status and type), one job's calls, and the team's ledger.

type C = Context<ConsoleEnv>;
const chrome = (c: C) => ({ admin: c.get("admin"), session: c.get("session") });
const JOB_STATUSES = ["pending", "in_progress", "completed", "failed", "cancelled", "expired"] as const;
const PAGE = 50;

interface JobSummary {
  job_id: string;
  job_type: string;
  status: string;
  created_at: string;
  completed_at: string | null;
  credits_charged: number;
  costs: { total_calls: number; total_tokens: number; total_cost_usd: number; avg_latency_ms: number };
}
interface JobCall {
  call_id: string;
  purpose: string | null;
  model_group: string;
  status: string;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cost_usd: number;
  latency_ms: number;
  error: string | null;
  upstream_error?: string | null;
  model_used?: string | null;
  attempts?: { model: string; outcome: string; status?: number; latency_ms: number }[];
  stream: boolean;
  created_at: string;
}

async function jobsPage(c: C) {
  const teamId = c.req.param("team_id") ?? "";
  const status = c.req.query("status") ?? "";
  const jobType = c.req.query("job_type") ?? "";
  const offset = Number(c.req.query("offset") ?? 0) || 0;
  const filters = `${status ? `&status=${seg(status)}` : ""}${jobType ? `&job_type=${seg(jobType)}` : ""}`;
  const list = await c
    .get("api")
    .get<{ jobs: JobSummary[]; has_more: boolean }>(`/api/teams/${seg(teamId)}/jobs?limit=${PAGE}&offset=${offset}${filters}`);
  return c.html(
    <Layout title={`Jobs of ${teamId}`} chrome={chrome(c)} flash={{ error: list.ok ? null : list.detail }}>
      <TeamNav teamId={teamId} />
      <form method="get" class="fields">
        <Select label="Status" name="status" options={JOB_STATUSES} value={status} blank="Any status" />
        <div class="field">
          <label for="f-job_type">Job type</label>
          <input id="f-job_type" name="job_type" value={jobType} />
        </div>
        <button type="submit" class="secondary">
          Filter
        </button>
      </form>
      {list.ok ? (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Type</th>
                <th scope="col">Status</th>
                <th scope="col" class="num">
                  Calls
                </th>
                <th scope="col" class="num">
                  Tokens
                </th>
                <th scope="col" class="num">
                  Cost (USD)
                </th>
                <th scope="col" class="num">
                  Credits
                </th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {list.data.jobs.map((job) => (
                <tr>
                  <td>
                    <a href={`/admin/teams/${seg(teamId)}/jobs/${seg(job.job_id)}`}>{job.job_id}</a>
                  </td>
                  <td>{job.job_type}</td>
                  <td>{job.status}</td>
                  <td class="num">{job.costs.total_calls}</td>
                  <td class="num">{job.costs.total_tokens}</td>
                  <td class="num">{job.costs.total_cost_usd.toFixed(6)}</td>
                  <td class="num">{job.credits_charged}</td>
                  <td>{formatTime(job.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager
            base={`/admin/teams/${seg(teamId)}/jobs${filters ? `?${filters.slice(1)}` : ""}`}
            offset={offset}
            limit={PAGE}
            hasMore={list.data.has_more}
          />
        </div>
      ) : null}
    </Layout>,
    asStatus(list.status),
  );
}

async function jobPage(c: C) {
  const teamId = c.req.param("team_id") ?? "";
  const jobId = c.req.param("job_id") ?? "";
  const offset = Number(c.req.query("offset") ?? 0) || 0;
  const job = await c
    .get("api")
    .get<JobSummary & { calls: JobCall[]; calls_has_more: boolean; error_message: string | null; model_groups_used: string[] }>(
      `/api/jobs/${seg(jobId)}?team_id=${seg(teamId)}&calls_limit=${PAGE}&calls_offset=${offset}`,
    );
  if (!job.ok) {
    return c.html(
      <Layout title={`Job ${jobId}`} chrome={chrome(c)} flash={{ error: job.detail }}>
        <TeamNav teamId={teamId} />
      </Layout>,
      asStatus(job.status),
    );
  }
  const j = job.data;
  return c.html(
    <Layout title={`Job ${j.job_id}`} chrome={chrome(c)}>
      <TeamNav teamId={teamId} />
      <section>
        <dl class="facts">
          <div>
            <dt>Type</dt>
            <dd>{j.job_type}</dd>
          </div>
          <div>
            <dt>Status</dt>
            <dd>{j.status}</dd>
          </div>
          <div>
            <dt>Calls</dt>
            <dd>{j.costs.total_calls}</dd>
          </div>
          <div>
            <dt>Tokens</dt>
            <dd>{j.costs.total_tokens}</dd>
          </div>
          <div>
            <dt>Cost (USD)</dt>
            <dd>{j.costs.total_cost_usd.toFixed(6)}</dd>
          </div>
          <div>
            <dt>Average latency</dt>
            <dd>{j.costs.avg_latency_ms} ms</dd>
          </div>
          <div>
            <dt>Credits charged</dt>
            <dd>{j.credits_charged}</dd>
          </div>
          <div>
            <dt>Created</dt>
            <dd>{formatTime(j.created_at)}</dd>
          </div>
          <div>
            <dt>Completed</dt>
            <dd>{formatTime(j.completed_at)}</dd>
          </div>
        </dl>
        {j.error_message ? <p class="error">{j.error_message}</p> : null}
      </section>
      <h2>Calls</h2>
      <div class="table-wrap">
        <table data-calls>
          <thead>
            <tr>
              <th scope="col">Call</th>
              <th scope="col">Model group</th>
              <th scope="col">Status</th>
              <th scope="col" class="num">
                Prompt
              </th>
              <th scope="col" class="num">
                Completion
              </th>
              <th scope="col" class="num">
                Total tokens
              </th>
              <th scope="col" class="num">
                Cost (USD)
              </th>
              <th scope="col" class="num">
                Latency (ms)
              </th>
              <th scope="col">Attempts</th>
              <th scope="col">Error</th>
            </tr>
          </thead>
          <tbody>
            {j.calls.map((call) => (
              <tr>
                <td>
                  {call.call_id}
                  {call.purpose ? <div class="hint">{call.purpose}</div> : null}
                  {call.stream ? <div class="hint">streamed</div> : null}
                </td>
                <td>{call.model_group}</td>
                <td>{call.status}</td>
                <td class="num">{call.prompt_tokens}</td>
                <td class="num">{call.completion_tokens}</td>
                <td class="num">{call.total_tokens}</td>
                <td class="num">{call.cost_usd.toFixed(6)}</td>
                <td class="num">{call.latency_ms}</td>
                <td>
                  <ol class="attempts">
                    {(call.attempts ?? []).map((attempt) => (
                      <li>
                        {`${attempt.model}: ${attempt.outcome}${attempt.status ? ` ${attempt.status}` : ""} (${Math.round(attempt.latency_ms)} ms)`}
                      </li>
                    ))}
                  </ol>
                </td>
                <td>
                  {call.error ?? ""}
                  {call.upstream_error ? <div class="hint">{call.upstream_error}</div> : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Pager base={`/admin/teams/${seg(teamId)}/jobs/${seg(j.job_id)}`} offset={offset} limit={PAGE} hasMore={j.calls_has_more} />
    </Layout>,
  );
}

async function ledgerPage(c: C) {
  const teamId = c.req.param("team_id") ?? "";
  const offset = Number(c.req.query("offset") ?? 0) || 0;
  const list = await c.get("api").get<{
    transactions: {
      transaction_id: string;
      kind: string;
      amount: number;
      reserved_change: number;
      balance_after: number;
      job_id: string | null;
      reason: string;
      created_at: string;
    }[];
    has_more: boolean;
  }>(`/api/credits/teams/${seg(teamId)}/transactions?limit=${PAGE}&offset=${offset}`);
  return c.html(
    <Layout title={`Ledger of ${teamId}`} chrome={chrome(c)} flash={{ error: list.ok ? null : list.detail }}>
      <TeamNav teamId={teamId} />
      {list.ok ? (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Kind</th>
                <th scope="col" class="num">
                  Amount
                </th>
                <th scope="col" class="num">
                  Reserved change
                </th>
                <th scope="col" class="num">
                  Balance after
                </th>
                <th scope="col">Job</th>
                <th scope="col">Reason</th>
              </tr>
            </thead>
            <tbody>
              {list.data.transactions.map((row) => (
                <tr>
                  <td>{formatTime(row.created_at)}</td>
                  <td>{row.kind}</td>
                  <td class="num">{row.amount}</td>
                  <td class="num">{row.reserved_change}</td>
                  <td class="num">{row.balance_after}</td>
                  <td>
                    {row.job_id ? <a href={`/admin/teams/${seg(teamId)}/jobs/${seg(row.job_id)}`}>{row.job_id.slice(0, 8)}…</a> : "—"}
                  </td>
                  <td>{row.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager base={`/admin/teams/${seg(teamId)}/ledger`} offset={offset} limit={PAGE} hasMore={list.data.has_more} />
        </div>
      ) : null}
    </Layout>,
    asStatus(list.status),
  );
}

export function registerActivityPages(app: ConsoleApp): void {
  app.get("/teams/:team_id/jobs", (c) => jobsPage(c));
  app.get("/teams/:team_id/jobs/:job_id", (c) => jobPage(c));
  app.get("/teams/:team_id/ledger", (c) => ledgerPage(c));
}
