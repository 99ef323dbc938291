import type { TransactionList } from "../api-types";
import { formatTime } from "../components/fields";
import { renderPage } from "../components/layout";
import { Table } from "../components/table";
import { type ConsoleApp, type ConsoleContext, offsetOf, queryOf, seg } from "../context";
import { TeamNav, teamPath } from "./team-nav";

// A team's ledger: every credit movement, newest first.

const PAGE = 50;

async function ledgerPage(c: ConsoleContext) {
  const teamId = c.req.param("team_id") ?? "";
  const offset = offsetOf(c);
  const list = await c.get("api").get<TransactionList>(`/api/credits/teams/${seg(teamId)}/transactions${queryOf({ limit: PAGE, offset })}`);
  return renderPage(
    c,
    { title: `Ledger of ${teamId}`, error: list.ok ? null : list.detail, status: list.status },
    <>
      <TeamNav teamId={teamId} />
      {list.ok ? (
        <Table
          caption="Credit movements, newest first"
          rows={list.data.transactions}
          empty="No credit movements yet."
          columns={[
            { label: "When", cell: (row) => formatTime(row.created_at) },
            { label: "Kind", cell: (row) => row.kind },
            { label: "Amount", numeric: true, cell: (row) => row.amount },
            { label: "Reserved change", numeric: true, cell: (row) => row.reserved_change },
            { label: "Balance after", numeric: true, cell: (row) => row.balance_after },
            {
              label: "Grants",
              cell: (row) => row.grants.map((g) => `${g.source ?? "overdraft"} ${g.credits > 0 ? "+" : ""}${g.credits}`).join(", ") || "—",
            },
            {
              label: "Job",
              cell: (row) => (row.job_id ? <a href={`${teamPath(teamId)}/jobs/${seg(row.job_id)}`}>{row.job_id.slice(0, 8)}…</a> : "—"),
            },
            { label: "Reason", cell: (row) => row.reason },
          ]}
          paging={{ base: `${teamPath(teamId)}/ledger`, offset, limit: PAGE, hasMore: list.data.has_more }}
        />
      ) : null}
    </>,
  );
}

export function registerLedgerPage(app: ConsoleApp): void {
  app.get("/teams/:team_id/ledger", (c) => ledgerPage(c));
}
