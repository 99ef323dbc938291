import type { JobAnswer, JobList } from "../api-types";
import { Facts } from "../components/facts";
import { Field, FilterForm, formatTime, Select } from "../components/fields";
import { renderPage } from "../components/layout";
import { Table } from "../components/table";
import { type ConsoleApp, type ConsoleContext, offsetOf, queryOf, seg } from "../context";
import { TeamNav, teamPath } from "./team-nav";

// A team's jobs (filtered by status and type) and one job with its calls.

const JOB_STATUSES = ["pending", "in_progress", "completed", "failed", "cancelled", "expired"] as const;
const PAGE = 50;
const usd = (value: number) => value.toFixed(6);

async function jobsPage(c: ConsoleContext) {
  const teamId = c.req.param("team_id") ?? "";
  const filters = { status: c.req.query("status") ?? "", job_type: c.req.query("job_type") ?? "" };
  const offset = offsetOf(c);
  const list = await c.get("api").get<JobList>(`/api/teams/${seg(teamId)}/jobs${queryOf({ limit: PAGE, offset, ...filters })}`);
  const base = `${teamPath(teamId)}/jobs`;
  return renderPage(
    c,
    { title: `Jobs of ${teamId}`, error: list.ok ? null : list.detail, status: list.status },
    <>
      <TeamNav teamId={teamId} />
      <FilterForm action={base}>
        <Select label="Status" name="status" options={JOB_STATUSES} value={filters.status} blank="Any status" />
        <Field label="Job type" name="job_type" value={filters.job_type} />
      </FilterForm>
      {list.ok ? (
        <Table
          caption="Jobs, newest first"
          rows={list.data.jobs}
          empty="No jobs match."
          columns={[
            { label: "Job", cell: (job) => <a href={`${base}/${seg(job.job_id)}`}>{job.job_id}</a> },
            { label: "Type", cell: (job) => job.job_type },
            { label: "Status", cell: (job) => job.status },
            { label: "Calls", numeric: true, cell: (job) => job.costs.total_calls },
            { label: "Tokens", numeric: true, cell: (job) => job.costs.total_tokens },
            { label: "Cost (USD)", numeric: true, cell: (job) => usd(job.costs.total_cost_usd) },
            { label: "Credits", numeric: true, cell: (job) => job.credits_charged },
            { label: "Created", cell: (job) => formatTime(job.created_at) },
          ]}
          paging={{ base: `${base}${queryOf(filters)}`, offset, limit: PAGE, hasMore: list.data.has_more }}
        />
      ) : null}
    </>,
  );
}

type Call = JobAnswer["calls"][number];

function Attempts({ call }: { call: Call }) {
  return (
    <ol class="attempts">
      {(call.attempts ?? []).map((attempt) => (
        <li>{`${attempt.model}: ${attempt.outcome}${attempt.status ? ` ${attempt.status}` : ""} (${Math.round(attempt.latency_ms)} ms)`}</li>
      ))}
    </ol>
  );
}

async function jobPage(c: ConsoleContext) {
  const teamId = c.req.param("team_id") ?? "";
  const jobId = c.req.param("job_id") ?? "";
  const offset = offsetOf(c);
  const job = await c
    .get("api")
    .get<JobAnswer>(`/api/jobs/${seg(jobId)}${queryOf({ team_id: teamId, calls_limit: PAGE, calls_offset: offset })}`);
  if (!job.ok) {
    return renderPage(c, { title: `Job ${jobId}`, error: job.detail, status: job.status }, <TeamNav teamId={teamId} />);
  }
  const j = job.data;
  return renderPage(
    c,
    { title: `Job ${j.job_id}` },
    <>
      <TeamNav teamId={teamId} />
      <section aria-label="The job">
        <Facts
          facts={[
            { label: "Type", value: j.job_type },
            { label: "Status", value: j.status },
            { label: "Calls", value: j.costs.total_calls },
            { label: "Tokens", value: j.costs.total_tokens },
            { label: "Cost (USD)", value: usd(j.costs.total_cost_usd) },
            { label: "Average latency", value: `${j.costs.avg_latency_ms} ms` },
            { label: "Credits charged", value: j.credits_charged },
            { label: "Created", value: formatTime(j.created_at) },
            { label: "Completed", value: formatTime(j.completed_at) },
          ]}
        />
        {j.error_message ? <p class="error">{j.error_message}</p> : null}
      </section>
      <h2>Calls</h2>
      <Table
        caption="Calls, in the order they were made"
        rows={j.calls}
        empty="This job made no calls."
        columns={[
          {
            label: "Call",
            cell: (call) => (
              <>
                {call.call_id}
                {call.purpose ? <div class="hint">{call.purpose}</div> : null}
                {call.stream ? <div class="hint">streamed</div> : null}
                {call.cached ? <div class="hint">from the response cache</div> : null}
              </>
            ),
          },
          { label: "Model group", cell: (call) => call.model_group },
          { label: "Status", cell: (call) => call.status },
          { label: "Prompt", numeric: true, cell: (call) => call.prompt_tokens },
          { label: "Completion", numeric: true, cell: (call) => call.completion_tokens },
          { label: "Total tokens", numeric: true, cell: (call) => call.total_tokens },
          { label: "Cost (USD)", numeric: true, cell: (call) => usd(call.cost_usd) },
          { label: "Latency (ms)", numeric: true, cell: (call) => call.latency_ms },
          { label: "Attempts", cell: (call) => <Attempts call={call} /> },
          {
            label: "Error",
            cell: (call) => (
              <>
                {call.error ?? ""}
                {call.upstream_error ? <div class="hint">{call.upstream_error}</div> : null}
              </>
            ),
          },
        ]}
        paging={{ base: `${teamPath(teamId)}/jobs/${seg(j.job_id)}`, offset, limit: PAGE, hasMore: j.calls_has_more }}
      />
    </>,
  );
}

export function registerJobPages(app: ConsoleApp): void {
  app.get("/teams/:team_id/jobs", (c) => jobsPage(c));
  app.get("/teams/:team_id/jobs/:job_id", (c) => jobPage(c));
}
