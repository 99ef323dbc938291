import type { WebhookOutbox } from "./changes/webhook-outbox";
import type { AccountRow } from "./rows";
import { jobNotFound, refuseCallsPage } from "./rules/admission";
import { costBreakdownOf, jobListingOf, jobViewOf, keyUsageOf, pageOf, usageReportOf } from "./rules/views";
import { webhookDeliveriesOf } from "./rules/webhook-views";
import type { LedgerStore } from "./store/ledger-store";
import type { LedgerPages } from "./store/pages";
import {
  type CallerKind,
  type CallsPage,
  type JobCostBreakdown,
  type JobStatus,
  type JobView,
  type JobWithCalls,
  type LedgerEntry,
  type LedgerResult,
  ok,
  type Page,
  type UsageGrouping,
  type UsageReport,
} from "./types";

// What the team object's read methods answer, once its guards let the caller in: rows read
// through store/, shaped by rules/views.ts for who is asking. Reads change nothing.

export class LedgerReads {
  constructor(
    private readonly store: LedgerStore,
    private readonly pages: LedgerPages,
    private readonly webhooks: WebhookOutbox,
    /** Every key's name by id (revoked keys too), for the views that name a job's key. */
    private readonly keyNames: () => Map<string, string>,
  ) {}

  private keyNameOf(keyId: string | null, names = this.keyNames()): string | null {
    return keyId === null ? null : (names.get(keyId) ?? null);
  }

  transactions(acct: AccountRow, limit: number, offset: number): LedgerResult<Page<LedgerEntry>> {
    const rows = this.pages.ledgerRows(limit, offset).map(({ seq: _seq, ...r }) => ({ ...r, team_id: acct.team_id }));
    return ok(pageOf(rows, limit, offset));
  }

  /** The ledger newest first from before position `beforeSeq` (null: the newest); `next` continues, null at the end. */
  transactionsBefore(
    acct: AccountRow,
    beforeSeq: number | null,
    limit: number,
  ): LedgerResult<{ items: LedgerEntry[]; next: number | null }> {
    const rows = this.pages.ledgerRowsBefore(beforeSeq, limit);
    const items = rows.slice(0, limit).map(({ seq: _seq, ...r }) => ({ ...r, team_id: acct.team_id }));
    return ok({ items, next: rows.length > limit ? rows[limit - 1].seq : null });
  }

  job(acct: AccountRow, jobId: string, calls: CallsPage, viewer: CallerKind): LedgerResult<JobWithCalls> {
    const refused = refuseCallsPage(calls);
    if (refused) return refused;
    const job = this.store.job(jobId);
    if (!job) return jobNotFound(jobId);
    const rows = this.pages.callRows(jobId, calls);
    const view = jobViewOf(acct.team_id, job, rows.slice(0, calls.limit), viewer, this.keyNameOf(job.key_id));
    return ok({ ...view, calls_limit: calls.limit, calls_offset: calls.offset, calls_has_more: rows.length > calls.limit });
  }

  jobCosts(acct: AccountRow, jobId: string, calls: CallsPage, viewer: CallerKind): LedgerResult<JobCostBreakdown> {
    const job = this.store.job(jobId);
    if (!job) return jobNotFound(jobId);
    const keyName = this.keyNameOf(job.key_id);
    return refuseCallsPage(calls) ?? ok(costBreakdownOf(acct.team_id, job, this.pages.callRows(jobId, calls), calls, viewer, keyName));
  }

  jobs(
    acct: AccountRow,
    filter: { status?: JobStatus; jobType?: string; limit: number; offset: number },
  ): LedgerResult<Page<Omit<JobView, "calls">>> {
    const names = this.keyNames();
    const rows = this.pages.jobRows(filter).map((job) => jobListingOf(acct.team_id, job, this.keyNameOf(job.key_id, names)));
    return ok(pageOf(rows, filter.limit, filter.offset));
  }

  usage(acct: AccountRow, period: string, viewer: CallerKind, groupBy: UsageGrouping | null): LedgerResult<UsageReport> {
    const labels = groupBy === "tag" || groupBy === "end_user" ? groupBy : undefined;
    const report = usageReportOf(acct.team_id, period, this.pages.usageRows(period, labels), viewer);
    if (groupBy === "key") report.keys = keyUsageOf(this.pages.keyUsageRows(period), this.keyNames(), viewer);
    return ok(report);
  }

  webhookDeliveries(acct: AccountRow, limit: number, offset: number) {
    return ok(webhookDeliveriesOf(acct.team_id, this.webhooks.recent(limit, offset), limit, offset));
  }
}
