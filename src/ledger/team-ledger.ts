import { DurableObject } from "cloudflare:workers";
import { cachedPrices, type PriceLookup } from "../db/price-cache";
import { Repository } from "../db/repository";
import type { WebhookChange } from "../webhooks/events";
import { LedgerBackground } from "./background/alarm";
import type { WebhookOutbox } from "./background/webhook-outbox";
import { AccountChanges } from "./changes/account";
import { holdNeedsPrices, placeCallHold, placeHitHold, priceToHold } from "./changes/call-holds";
import { JobLifecycle } from "./changes/jobs";
import { admissionOf, recordHeldCall } from "./changes/settlement";
import type { AccessChange, Caller } from "./rules/access";
import {
  accountNotFound,
  jobNotFound,
  refuseCall,
  refuseCallsPage,
  refuseInactive,
  refuseNotOwner,
  refuseSuspended,
  settingsOf,
} from "./rules/admission";
import { cacheScopeId, type GroupCache, hitPriceOf } from "./rules/cache-hits";
import type { CallBudget } from "./rules/holds";
import { nanoToUsd } from "./rules/money";
import { TeamRate, TeamTokenRate } from "./rules/rate-limit";
import { balanceOf, CALLS_PAGE_DEFAULT, costBreakdownOf, jobListingOf, jobViewOf, pageOf, usageReportOf } from "./rules/views";
import { webhookDeliveriesOf } from "./rules/webhook-views";
import { AccessStore } from "./store/access-store";
import { HoldStore } from "./store/hold-store";
import { LedgerStore } from "./store/ledger-store";
import { type Operation, OperationLog, type OperationMethod, operationMismatch, type Recalled } from "./store/operation-log";
import { LedgerPages } from "./store/pages";
import type { AccountRow } from "./store/rows";
import type {
  AccountInit,
  Balance,
  CacheLookup,
  CallAdmission,
  CallRecord,
  CallsPage,
  Completion,
  CompletionSummary,
  JobCostBreakdown,
  JobCreated,
  JobOwner,
  JobStatus,
  JobView,
  JobWithCalls,
  LedgerEntry,
  LedgerResult,
  NewJob,
  OneRequestStart,
  Page,
  SettingsChange,
  TeamStatus,
  UsageReport,
} from "./types";
import { ok, type Refusal } from "./types";

export type { Caller } from "./rules/access";

/**
 * One object per team: the only place where a team's balance, reservations, jobs, calls and
 * ledger change. Every method that checks and then changes money does so synchronously, with
 * no await in between, so concurrent requests are serialized by the object and cannot
 * overdraw or double-charge. The rules are in admission.ts, the SQL in storage.ts, what is
 * shown in views.ts, the account's and a job's steps in account.ts and jobs.ts, the alarm's
 * work in background.ts; the methods here check the caller and put them together.
 */
export class TeamLedger extends DurableObject<Env> {
  private readonly store: LedgerStore;
  /** The paged reads of the team's history (pages.ts). */
  private readonly pages: LedgerPages;
  private readonly operations: OperationLog;
  /** Who may use the team: its keys and model groups (access.ts decides, access-storage.ts keeps). */
  private readonly access: AccessStore;
  /** The team's request rate (in memory: a restarted object starts with a full bucket). */
  private readonly rate = new TeamRate();
  /** The team's tokens per minute (in memory, like the rate), and per-call holds (call-holds.ts). */
  private readonly tokens = new TeamTokenRate();
  private readonly holds: HoldStore;
  private readonly d1: Repository;
  /** The pricing table through this isolate's cache, for holds (db/price-cache.ts). */
  private readonly prices: PriceLookup;
  /** Job expiry, usage sends to D1 and webhook deliveries, from the alarm (background.ts). */
  private readonly background: LedgerBackground;
  /** Webhook events, born with the changes they tell of (webhook-outbox.ts), sent by the alarm. */
  private readonly webhooks: WebhookOutbox;
  /** The account's own changes (account.ts) and a job's steps (jobs.ts). */
  private readonly account: AccountChanges;
  private readonly jobs: JobLifecycle;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new LedgerStore(ctx.storage);
    this.store.migrate();
    this.pages = new LedgerPages(ctx.storage.sql);
    this.operations = new OperationLog(ctx.storage.sql);
    this.holds = new HoldStore(ctx.storage.sql);
    this.d1 = new Repository(env.DB);
    this.prices = cachedPrices(this.d1);
    this.access = new AccessStore(ctx.storage, (teamId) => this.d1.access.teamAccess(teamId));
    this.background = new LedgerBackground(ctx, env, this.store, this.d1);
    this.webhooks = this.background.webhooks;
    this.account = new AccountChanges(this.store, this.access, this.webhooks);
    this.jobs = new JobLifecycle(this.store, this.pages, this.webhooks);
  }

  /** Runs a money change once per operation id (see operations.ts); a repeat returns the first result. */
  private once<T>(method: OperationMethod, operation: Operation, args: unknown, change: () => LedgerResult<T>) {
    return this.operations.applyOnce((write) => this.store.transaction(write), method, operation, args, change);
  }

  /** What an applied operation answered, and the text kept with it (null if it never ran or was forgotten). */
  recall(operationId: string, method: OperationMethod, args?: unknown): Promise<LedgerResult<Recalled | null>> {
    return this.operations.recall(operationId, method, args);
  }

  // ---------------------------------------------------------------- account

  openAccount(init: AccountInit, operation: Operation): Promise<LedgerResult<Balance>> {
    return this.once("openAccount", operation, init, () => this.account.open(init));
  }

  async getBalance(caller: Caller): Promise<LedgerResult<Balance>> {
    const acct = await this.accountFor(caller);
    return "ok" in acct ? acct : ok(balanceOf(acct, caller.kind));
  }

  addCredits(credits: number, reason: string, operation: Operation): Promise<LedgerResult<{ balance: Balance; transaction: LedgerEntry }>> {
    return this.once("addCredits", operation, { credits, reason }, () => this.account.addCredits(credits, reason));
  }

  setStatus(status: TeamStatus): LedgerResult<Balance> {
    return this.account.setStatus(status);
  }

  /** Changes budget settings; `rateLimitPerMinute: null` removes the limit, undefined keeps it. */
  updateSettings(settings: SettingsChange, operation: Operation): Promise<LedgerResult<Balance>> {
    return this.once("updateSettings", operation, settings, () => this.account.applySettings(settings));
  }

  /** Erases the team's ledger (the team is being deleted); its id may later be reused. */
  async closeAccount(): Promise<LedgerResult<null>> {
    await this.background.clear();
    await this.store.eraseAll();
    this.store.migrate();
    return ok(null);
  }

  async listTransactions(caller: Caller, limit: number, offset: number): Promise<LedgerResult<Page<LedgerEntry>>> {
    const acct = await this.accountFor(caller);
    if ("ok" in acct) return acct;
    const rows = this.pages.ledgerRows(limit, offset).map(({ seq: _seq, ...r }) => ({ ...r, team_id: acct.team_id }));
    return ok(pageOf(rows, limit, offset));
  }

  /**
   * The ledger newest first from before position `beforeSeq` (null: the newest), for exports that
   * page through it all: rows written meanwhile do not shift the pages. `next` continues, null at the end.
   */
  async transactionsBefore(
    caller: Caller,
    beforeSeq: number | null,
    limit: number,
  ): Promise<LedgerResult<{ items: LedgerEntry[]; next: number | null }>> {
    const acct = await this.accountFor(caller);
    if ("ok" in acct) return acct;
    const rows = this.pages.ledgerRowsBefore(beforeSeq, limit);
    const items = rows.slice(0, limit).map(({ seq: _seq, ...r }) => ({ ...r, team_id: acct.team_id }));
    return ok({ items, next: rows.length > limit ? rows[limit - 1].seq : null });
  }

  // ---------------------------------------------------------------- access

  /** Whether a team key is still good; for requests that end before reaching another method. */
  async authenticate(caller: Caller): Promise<LedgerResult<null>> {
    return (await this.refuseCaller(caller)) ?? ok(null);
  }

  /** A change the admin pushes: a rotated key, the team's groups, or a group's new models (see AccessChange). */
  changeAccess(change: AccessChange): Promise<LedgerResult<null>> {
    return this.access.change(this.store.account(), change, Date.now());
  }

  // ---------------------------------------------------------------- jobs

  /** Opens a job and reserves its minimum charge. Refused with nothing available. */
  async createJob(caller: Caller, input: NewJob & { operation: Operation }): Promise<LedgerResult<JobCreated>> {
    const denied = await this.refuseCaller(caller);
    if (denied) return denied;
    const { operation, jobId, ...request } = input;
    // The job id is made per request: a repeat is compared by what was asked, and gets the first job.
    const created = await this.once("createJob", operation, request, () =>
      this.jobs.open({ jobId, ...request }, (acct) => this.refuseNewWork(acct)),
    );
    // After the money is written: the alarm expires jobs and sends usage, it never decides a charge.
    if (created.ok) await this.background.scheduleAlarm(Date.parse(created.value.expires_at));
    await this.background.scheduleUsageFlush();
    return created;
  }

  /**
   * Admits one LLM call in a job: the key, then the group (its models come back), then
   * refuseCall's rules; `by` says who makes it (a gateway-owned job takes only the gateway's calls).
   * With a budget, the call's worst case is held (holds.ts) and its tokens taken from the team's
   * limit; a cache hit holds only its price. A budget that looks up first, for a group with a
   * response cache, gets where to look instead (a CacheLookup) and nothing is admitted yet.
   */
  async beginCall(
    caller: Caller,
    jobId: string,
    modelGroup: string,
    by: JobOwner = "team",
    budget?: CallBudget,
  ): Promise<LedgerResult<CallAdmission | CacheLookup>> {
    const denied = await this.refuseCaller(caller, modelGroup);
    if (denied) return denied;
    const group = this.access.group(modelGroup)!;
    const lookUp = this.cacheLookup(group, budget);
    return lookUp ? ok(lookUp) : this.admitCall(jobId, modelGroup, group, by, budget);
  }

  /** beginCall once the caller and the group are checked and no lookup comes first. */
  private async admitCall(
    jobId: string,
    modelGroup: string,
    group: { models: string[]; cache: GroupCache | null },
    by: JobOwner,
    budget?: CallBudget,
  ): Promise<LedgerResult<CallAdmission>> {
    const { models } = group;
    let acct = this.store.account();
    // The only await before the checks: the group's prices, when a hold needs them (cached per
    // isolate); the account is then read again. Otherwise nothing yields between read and write.
    const price = budget && !budget.hit && holdNeedsPrices(acct) ? await priceToHold(this.prices, acct, models) : undefined;
    if (price && "ok" in price) return price;
    if (price) acct = this.store.account();
    if (!acct) return accountNotFound();
    const job = this.store.job(jobId);
    const free = budget?.hit !== undefined && hitPriceOf(settingsOf(acct), budget.hit).consumedMicro === 0;
    const refused = this.refuseNewWork(acct) ?? refuseNotOwner(job, by) ?? refuseCall(acct, job, jobId, free);
    if (refused) return refused;
    const takeTokens = (count: number) => this.tokens.refuse(acct.tpm_limit, count, Date.now());
    const placed = !budget
      ? null
      : budget.hit
        ? placeHitHold(this.store, this.holds, acct, job!, budget.callId, budget.hit)
        : placeCallHold(this.store, this.holds, acct, job!, { ...budget, price }, takeTokens);
    if (placed && "ok" in placed) return placed;
    if (placed) this.balanceChanged();
    const cache = group.cache && { ...group.cache, scopeId: cacheScopeId(group.cache, acct) };
    return ok(admissionOf(this.store, acct, job!, modelGroup, models, placed?.budgetMaxTokens ?? null, cache));
  }

  /** Where a call of a group with a response cache is looked up, when its budget asks to look first (null: admit it now). */
  private cacheLookup(group: { models: string[]; cache: GroupCache | null }, budget: CallBudget | undefined): CacheLookup | null {
    const acct = this.store.account();
    if (!group.cache || !budget?.lookUpFirst || budget.hit || !acct) return null;
    return { lookUp: { ...group.cache, scopeId: cacheScopeId(group.cache, acct), models: group.models } };
  }

  /** Records the outcome of a call admitted by beginCall, whatever it was; its call id is its operation id. */
  async recordCall(jobId: string, call: CallRecord): Promise<LedgerResult<{ call_id: string; client_cost_usd: number }>> {
    const acct = this.store.account();
    if (!acct) return accountNotFound();
    const job = this.store.job(jobId);
    if (!job) return jobNotFound(jobId);
    const recorded = this.store.recordedCall(call.callId);
    if (recorded) {
      // A repeat (the first answer was lost on the way back) changes nothing.
      if (recorded.job_id !== jobId) return operationMismatch();
      return ok({ call_id: call.callId, client_cost_usd: nanoToUsd(recorded.client_cost_nano) });
    }
    const { clientNano, hold, billed } = recordHeldCall(this.store, this.holds, acct, job, call);
    // A cache hit took no tokens from the per-minute limit.
    if (hold && !call.cache) this.tokens.settle(acct.tpm_limit, hold.prompt_tokens + hold.max_tokens, billed.totalTokens, Date.now());
    this.balanceChanged();
    await this.background.scheduleUsageFlush();
    return ok({ call_id: call.callId, client_cost_usd: nanoToUsd(clientNano) });
  }

  /**
   * Opens a gateway-owned one-request job and admits its call, in one round trip: no job opens
   * for a group the team cannot use; a job whose call is refused is closed as failed at once.
   */
  async startOneRequestJob(
    caller: Caller,
    job: NewJob & { operation: Operation },
    modelGroup: string,
    closing: Operation,
    budget?: CallBudget,
  ): Promise<OneRequestStart> {
    const denied = await this.refuseCaller(caller, modelGroup);
    if (denied) return denied;
    // A group with a response cache is looked up first: no job opens until the Worker knows whether it is a hit.
    const group = this.access.group(modelGroup)!;
    const lookUp = this.cacheLookup(group, budget);
    if (lookUp) return ok(lookUp);
    const created = await this.createJob(caller, { ...job, owner: "gateway" });
    if (!created.ok) return created;
    const jobId = created.value.job_id;
    const admitted = await this.admitCall(jobId, modelGroup, group, "gateway", budget);
    if (admitted.ok) return ok({ job: created.value, admission: admitted.value });
    const failed = { jobId, status: "failed" as const, errorMessage: admitted.detail, metadata: null, closedBy: "gateway" as const };
    await this.completeJob({ kind: "admin" }, { ...failed, operation: closing });
    return { ...admitted, jobId };
  }

  /**
   * Ends a job. `completed` turns the reservation into the charge, exactly once; `failed` and
   * `cancelled` release it. Completing again with the same status replays the stored summary.
   */
  async completeJob(caller: Caller, input: Completion & { operation: Operation }): Promise<LedgerResult<CompletionSummary>> {
    const denied = await this.refuseCaller(caller);
    if (denied) return denied;
    const { operation, ...request } = input;
    const settled = await this.once("completeJob", operation, request, () => this.jobs.settle(request));
    await this.background.scheduleUsageFlush();
    return settled;
  }

  /** Gives back what a completed job was charged, once. */
  async refundJob(
    jobId: string,
    reason: string,
    operation: Operation,
  ): Promise<LedgerResult<{ transaction: LedgerEntry; balance: Balance }>> {
    const refunded = await this.once("refundJob", operation, { jobId, reason }, () => this.jobs.refund(jobId, reason));
    await this.background.scheduleUsageFlush();
    return refunded;
  }

  /** A job with one page of its calls (the first CALLS_PAGE_DEFAULT unless asked). */
  async getJob(
    caller: Caller,
    jobId: string,
    calls: CallsPage = { limit: CALLS_PAGE_DEFAULT, offset: 0 },
  ): Promise<LedgerResult<JobWithCalls>> {
    const acct = await this.accountFor(caller);
    if ("ok" in acct) return acct;
    const refused = refuseCallsPage(calls);
    if (refused) return refused;
    const job = this.store.job(jobId);
    if (!job) return jobNotFound(jobId);
    const rows = this.pages.callRows(jobId, calls);
    const view = jobViewOf(acct.team_id, job, rows.slice(0, calls.limit), caller.kind);
    return ok({ ...view, calls_limit: calls.limit, calls_offset: calls.offset, calls_has_more: rows.length > calls.limit });
  }

  /** A page of a job's calls, cost by cost (the model and provider cost for admins only). */
  async jobCosts(caller: Caller, jobId: string, calls: CallsPage): Promise<LedgerResult<JobCostBreakdown>> {
    const acct = await this.accountFor(caller);
    if ("ok" in acct) return acct;
    const job = this.store.job(jobId);
    if (!job) return jobNotFound(jobId);
    return refuseCallsPage(calls) ?? ok(costBreakdownOf(acct.team_id, job, this.pages.callRows(jobId, calls), calls, caller.kind));
  }

  /** Merges metadata into a job, at any status: the team's own notes, bounded like the metadata it was opened with. */
  async mergeJobMetadata(caller: Caller, jobId: string, metadata: Record<string, unknown>): Promise<LedgerResult<Omit<JobView, "calls">>> {
    const acct = await this.accountFor(caller);
    return "ok" in acct ? acct : this.jobs.mergeMetadata(acct, jobId, metadata);
  }

  async listJobs(
    caller: Caller,
    filter: { status?: JobStatus; jobType?: string; limit: number; offset: number },
  ): Promise<LedgerResult<Page<Omit<JobView, "calls">>>> {
    const acct = await this.accountFor(caller);
    if ("ok" in acct) return acct;
    const rows = this.pages.jobRows(filter).map((job) => jobListingOf(acct.team_id, job));
    return ok(pageOf(rows, filter.limit, filter.offset));
  }

  /**
   * A month's (YYYY-MM) or a day's (YYYY-MM-DD) usage from the aggregates kept as jobs and calls
   * happen: as cheap with a million jobs as with ten. The admin key also sees costs and models.
   */
  async usage(caller: Caller, period: string): Promise<LedgerResult<UsageReport>> {
    const acct = await this.accountFor(caller);
    if ("ok" in acct) return acct;
    return ok(usageReportOf(acct.team_id, period, this.pages.usageRows(period), caller.kind));
  }

  // ---------------------------------------------------------------- webhooks

  /** Sets, replaces or removes one of the team's webhooks (pushed by the admin routes, as access changes are). */
  changeWebhook(change: WebhookChange): LedgerResult<null> {
    this.webhooks.change(this.store.account(), change, Date.now());
    return ok(null);
  }

  webhookDeliveries(limit: number, offset: number): LedgerResult<ReturnType<typeof webhookDeliveriesOf>> {
    const acct = this.store.account();
    if (!acct) return accountNotFound();
    return ok(webhookDeliveriesOf(acct.team_id, this.webhooks.recent(limit, offset), limit, offset));
  }

  /** After a change of the balance, in its transaction: a crossing below a threshold is an event. */
  private balanceChanged(): void {
    this.webhooks.balanceChanged(() => this.store.account()!, Date.now());
  }

  // ---------------------------------------------------------------- alarm

  /** Expires jobs past their time-to-live, sends usage to D1, delivers webhook events (background.ts). */
  alarm(): Promise<void> {
    return this.background.runAlarm();
  }

  // ---------------------------------------------------------------- guards

  /** The account a read may show: the caller's key checked, and a suspended team's key refused. */
  private async accountFor(caller: Caller): Promise<AccountRow | Refusal> {
    const denied = await this.refuseCaller(caller);
    const acct = this.store.account();
    return denied ?? (acct ? (refuseSuspended(acct, caller.kind) ?? acct) : accountNotFound());
  }

  /** A team key must be one the team holds and still good; a call's group must be the team's, with models. */
  private refuseCaller(caller: Caller, modelGroup?: string): Promise<Refusal | null> {
    return this.access.refuseCaller(this.store.account(), caller, modelGroup);
  }

  /** The guard on new jobs and calls: the team must be active, then within its rate. */
  private refuseNewWork(acct: AccountRow): Refusal | null {
    return refuseInactive(acct) ?? this.rate.refuse(acct.rate_limit_per_minute, Date.now());
  }
}
