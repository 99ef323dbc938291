import { ALLOWANCE_PERIODS, GRANT_SOURCES } from "../../schemas/grants";
import { formAction } from "../actions";
import type { AllowanceAnswer, GrantList, GrantMadeAnswer, StatementAnswer, TeamAnswer } from "../api-types";
import { ActionForm } from "../components/action-form";
import { Facts } from "../components/facts";
import { Field, FilterForm, formatTime, Select } from "../components/fields";
import { renderPage } from "../components/layout";
import { Table } from "../components/table";
import { type ConsoleApp, type ConsoleContext, offsetOf, queryOf, seg } from "../context";
import { csvDownload } from "../downloads";
import { type FormFields, numberOrText, utcDateTime } from "../forms";
import { TeamNav, teamPath } from "./team-nav";

// A team's credits as grants (docs/credits.md): what each source holds, the grants (add one,
// with an expiry; void one), the plan allowance (set, remove), and a month's statement with its
// CSV. Every figure is the API's; every form is one API request.

const PAGE = 50;

const teamIdOf = (c: ConsoleContext) => c.req.param("team_id") ?? "";
const pageOf = (c: ConsoleContext) => `${teamPath(teamIdOf(c))}/credits`;
const apiOf = (c: ConsoleContext) => `/api/credits/teams/${seg(teamIdOf(c))}`;
const thisMonth = () => new Date().toISOString().slice(0, 7);
const periodOf = (c: ConsoleContext) => c.req.query("period") || thisMonth();

/** The POST body of the add-a-grant form: empty fields are left out, so the API's defaults apply. */
function grantBody(form: FormFields) {
  return {
    credits: numberOrText(form.credits),
    source: form.source,
    ...(form.expires_at ? { expires_at: utcDateTime(form.expires_at) } : {}),
    ...(form.priority ? { priority: numberOrText(form.priority) } : {}),
    ...(form.reason ? { reason: form.reason } : {}),
  };
}

/** The PUT body of the allowance form: an empty rollover is "none". */
function allowanceBody(form: FormFields) {
  return {
    credits: numberOrText(form.credits),
    period: form.period,
    ...(form.anchor ? { anchor: numberOrText(form.anchor) } : {}),
    rollover: form.rollover_max ? { max: numberOrText(form.rollover_max) } : "none",
  };
}

function Grants({ list, base, offset }: { list: GrantList; base: string; offset: number }) {
  return (
    <section aria-labelledby="grants">
      <h2 id="grants">Grants</h2>
      <p class="hint">Charges draw on them in this order: lowest priority first, then soonest expiry, then oldest.</p>
      <Table
        caption="Grants, newest first"
        rows={list.grants}
        empty="No grants yet."
        columns={[
          { label: "Source", cell: (g) => g.source },
          { label: "Credits", numeric: true, cell: (g) => g.credits },
          { label: "Remaining", numeric: true, cell: (g) => g.remaining },
          { label: "Priority", numeric: true, cell: (g) => g.priority },
          { label: "Expires", cell: (g) => (g.expires_at ? formatTime(g.expires_at) : "never") },
          { label: "Status", cell: (g) => <span class={`grant-${g.status}`}>{g.status}</span> },
          { label: "Reason", cell: (g) => g.reason },
          {
            label: "Void",
            cell: (g) =>
              g.status === "active" || g.status === "depleted" ? (
                <ActionForm
                  action={`${base}/grants/${seg(g.grant_id)}/void`}
                  label="Void"
                  buttonName={`Void the ${g.source} grant of ${g.credits} credits (${g.reason})`}
                  permission="credits.write"
                  danger
                />
              ) : (
                "—"
              ),
          },
        ]}
        paging={{ base, offset, limit: PAGE, hasMore: list.has_more }}
      />
      <ActionForm action={`${base}/grants`} label="Add grant" permission="credits.write" title="Add a grant">
        <div class="fields">
          <Field label="Credits" name="credits" type="number" min={1} required form="grant" />
          <Select label="Source" name="source" options={GRANT_SOURCES} value="promotional" />
          <Field label="Expires (UTC)" name="expires_at" type="datetime-local" hint="Empty: it never expires" />
          <Field label="Priority" name="priority" type="number" min={0} hint="0-100, lower is drawn first (default 50)" />
          <Field label="Reason" name="reason" form="grant" />
        </div>
      </ActionForm>
    </section>
  );
}

function Allowance({ allowance, base }: { allowance: AllowanceAnswer["allowance"] | null; base: string }) {
  const period = allowance?.current_period;
  return (
    <section aria-labelledby="allowance">
      <h2 id="allowance">Plan allowance</h2>
      {allowance && period ? (
        <Facts
          label="Plan allowance"
          facts={[
            { label: "Credits per period", value: allowance.credits },
            { label: "Period", value: `${allowance.period} (anchor ${allowance.anchor})` },
            { label: "Rollover", value: allowance.rollover === "none" ? "none" : `up to ${allowance.rollover.max}` },
            { label: "This period", value: `${formatTime(period.starts_at)} to ${formatTime(period.ends_at)}` },
            { label: "Granted this period", value: period.granted },
            { label: "Used this period", value: period.used },
            { label: "Left this period", value: period.remaining },
            { label: "Renews at", value: formatTime(allowance.next_renewal_at) },
          ]}
        />
      ) : (
        <p>No plan allowance: nothing renews.</p>
      )}
      <ActionForm
        action={`${base}/allowance`}
        label="Save allowance"
        permission="credits.write"
        title={allowance ? "Change the allowance" : "Set an allowance"}
      >
        <div class="fields">
          <Field label="Credits per period" name="credits" type="number" min={1} required value={allowance?.credits} form="allowance" />
          <Select label="Period" name="period" options={ALLOWANCE_PERIODS} value={allowance?.period ?? "month"} form="allowance" />
          <Field
            label="Anchor"
            name="anchor"
            type="number"
            min={1}
            value={allowance?.anchor}
            hint="Day of the month (1-31) or weekday (1 Monday-7 Sunday)"
          />
          <Field
            label="Rollover up to"
            name="rollover_max"
            type="number"
            min={1}
            value={allowance && allowance.rollover !== "none" ? allowance.rollover.max : null}
            hint="Empty: nothing rolls over"
          />
        </div>
      </ActionForm>
      {allowance ? <ActionForm action={`${base}/allowance/remove`} label="Remove allowance" permission="credits.write" danger /> : null}
    </section>
  );
}

function Statement({ statement, base }: { statement: StatementAnswer; base: string }) {
  const filename = `statement-${statement.team_id}-${statement.period}.csv`;
  return (
    <section aria-labelledby="statement">
      <h2 id="statement">Statement for {statement.period}</h2>
      <FilterForm action={base}>
        <Field label="Month" name="period" type="month" value={statement.period} />
      </FilterForm>
      <Facts
        label="Statement"
        facts={[
          { label: "Opening balance", value: statement.opening },
          { label: "Granted", value: statement.granted },
          { label: "Consumed", value: statement.consumed },
          { label: "Refunded", value: statement.refunded },
          { label: "Expired", value: statement.expired },
          { label: "Voided", value: statement.voided },
          { label: "Closing balance", value: statement.closing },
        ]}
      />
      <Table
        caption={`Each grant in ${statement.period}`}
        rows={statement.grants}
        empty="No grant had credits or moved this month."
        columns={[
          { label: "Source", cell: (l) => l.source },
          { label: "Reason", cell: (l) => l.reason ?? "beyond every grant" },
          { label: "Opening", numeric: true, cell: (l) => l.opening },
          { label: "Granted", numeric: true, cell: (l) => l.granted },
          { label: "Consumed", numeric: true, cell: (l) => l.consumed },
          { label: "Refunded", numeric: true, cell: (l) => l.refunded },
          { label: "Expired", numeric: true, cell: (l) => l.expired },
          { label: "Voided", numeric: true, cell: (l) => l.voided },
          { label: "Closing", numeric: true, cell: (l) => l.closing },
        ]}
      />
      <p>
        <a href={`${base}/statement.csv${queryOf({ period: statement.period })}`} download={filename}>
          Download the statement as CSV
        </a>
      </p>
    </section>
  );
}

async function creditsPage(c: ConsoleContext) {
  const teamId = teamIdOf(c);
  const offset = offsetOf(c);
  const api = c.get("api");
  const [team, grants, allowance, statement] = await Promise.all([
    api.get<TeamAnswer>(`/api/teams/${seg(teamId)}`),
    api.get<GrantList>(`${apiOf(c)}/grants${queryOf({ limit: PAGE, offset })}`),
    api.get<AllowanceAnswer>(`${apiOf(c)}/allowance`),
    api.get<StatementAnswer>(`${apiOf(c)}/statement${queryOf({ period: periodOf(c) })}`),
  ]);
  // No allowance is a 404 the page shows as such; any other failure is the page's error.
  const failed = [team, grants, statement].find((r) => !r.ok) ?? (!allowance.ok && allowance.status !== 404 ? allowance : undefined);
  const base = pageOf(c);
  return renderPage(
    c,
    { title: `Credits of ${teamId}`, error: failed && !failed.ok ? failed.detail : null, status: failed?.status },
    <>
      <TeamNav teamId={teamId} />
      {team.ok && grants.ok && statement.ok && !failed ? (
        <>
          <section aria-labelledby="sources">
            <h2 id="sources">Credits by source</h2>
            <Facts
              label="Credits by source"
              facts={[
                { label: "Remaining", value: team.data.credits_remaining },
                { label: "Paid", value: team.data.grants.paid },
                { label: "Promotional", value: team.data.grants.promotional },
                { label: "Plan", value: team.data.grants.plan },
                { label: "Overdrawn", value: team.data.grants.overdrawn },
                {
                  label: "Next expiry",
                  value: team.data.next_expiry
                    ? `${team.data.next_expiry.credits} ${team.data.next_expiry.source} at ${formatTime(team.data.next_expiry.at)}`
                    : "none",
                },
                {
                  label: "Next renewal",
                  value: team.data.next_renewal ? `${team.data.next_renewal.credits} at ${formatTime(team.data.next_renewal.at)}` : "none",
                },
              ]}
            />
          </section>
          <Grants list={grants.data} base={base} offset={offset} />
          <Allowance allowance={allowance.ok ? allowance.data.allowance : null} base={base} />
          <Statement statement={statement.data} base={base} />
        </>
      ) : null}
    </>,
  );
}

/** The month's statement as CSV: the API's own answer, passed through. */
function statementCsv(c: ConsoleContext) {
  const period = periodOf(c);
  const api = `${apiOf(c)}/statement${queryOf({ period, format: "csv" })}`;
  return csvDownload(c, api, pageOf(c), `statement-${teamIdOf(c)}-${period}.csv`);
}

export function registerCreditsPage(app: ConsoleApp): void {
  app.get("/teams/:team_id/credits", (c) => creditsPage(c));
  app.get("/teams/:team_id/credits/statement.csv", (c) => statementCsv(c));

  formAction<GrantMadeAnswer>(app, "/teams/:team_id/credits/grants", {
    page: pageOf,
    request: (form, c) => ({ method: "POST", path: `${apiOf(c)}/grants`, body: grantBody(form) }),
    done: (made) => ({ notice: `Grant of ${made.grant.credits} ${made.grant.source} credits made` }),
  });
  formAction<unknown>(app, "/teams/:team_id/credits/grants/:grant_id/void", {
    page: pageOf,
    request: (_form, c) => ({ method: "DELETE", path: `${apiOf(c)}/grants/${seg(c.req.param("grant_id") ?? "")}` }),
    done: () => ({ notice: "Grant voided: what remained of it left the balance" }),
  });
  formAction<AllowanceAnswer>(app, "/teams/:team_id/credits/allowance", {
    page: pageOf,
    request: (form, c) => ({ method: "PUT", path: `${apiOf(c)}/allowance`, body: allowanceBody(form) }),
    done: (set) => ({ notice: `Plan allowance: ${set.allowance.credits} credits each ${set.allowance.period}` }),
  });
  formAction<unknown>(app, "/teams/:team_id/credits/allowance/remove", {
    page: pageOf,
    request: (_form, c) => ({ method: "DELETE", path: `${apiOf(c)}/allowance` }),
    done: () => ({ notice: "Plan allowance removed: nothing renews; this period's plan credits stay until they expire" }),
  });
}
