import { DurableObject } from "cloudflare:workers";
import { cachedPrices } from "../db/price-cache";
import { Repository } from "../db/repository";
import { CALLS_PAGE_DEFAULT } from "../schemas/jobs";
import type { WebhookChange, WebhookEventType } from "../webhooks/events";
import { LedgerBackground } from "./background/alarm";
import { GrantClock } from "./background/grant-clock";
import { AccountChanges } from "./changes/account";
import type { BudgetPolicyChange, BudgetPolicyView } from "./changes/budget-policy";
import { JobCalls } from "./changes/calls";
import { GrantLedger } from "./changes/grant-ledger";
import { GrantChanges } from "./changes/grants";
import { JobLifecycle } from "./changes/jobs";
import { TeamBudgets } from "./changes/team-budgets";
import type { WebhookOutbox } from "./changes/webhook-outbox";
import { GrantReads } from "./grant-reads";
import { LedgerReads } from "./reads";
import type { AccountRow } from "./rows";
import type { AccessChange, Caller } from "./rules/access";
import { accountNotFound, refuseInactive, refuseSuspended } from "./rules/admission";
import type { CallBudget } from "./rules/holds";
import type { KeyView } from "./rules/key-views";
import { TeamRate, TeamTokenRate } from "./rules/rate-limit";
import { AccessStore, type AdmittedCaller, accessFromD1 } from "./store/access-store";
import { GrantStore } from "./store/grant-store";
import { HoldStore } from "./store/hold-store";
import { LedgerStore } from "./store/ledger-store";
import { OperationLog, type OperationMethod, type Recalled } from "./store/operation-log";
import { LedgerPages } from "./store/pages";
import {
  type AccountInit,
  type Admission,
  type AllowanceRequest,
  type Balance,
  type CallRecord,
  type CallsPage,
  type Completion,
  type CompletionSummary,
  type GrantRequest,
  type JobCreated,
  type JobFilter,
  type JobOwner,
  type LedgerEntry,
  type LedgerResult,
  type NewJobRequest,
  type Operation,
  ok,
  type Refusal,
  type SettingsChange,
  type TeamStatus,
  type UsageGrouping,
} from "./types";

/**
 * One object per team: the only place where a team's balance, reservations, jobs, calls and
 * ledger change. Every method that checks and then changes money does so synchronously, with
 * no await in between, so concurrent requests are serialized by the object and cannot
 * overdraw or double-charge. The pure rules are in rules/, the SQLite tables in store/, the
 * steps that change money in changes/, what reads answer in reads.ts, the alarm's work in
 * background/; the methods here check the caller and put them together.
 */
export class TeamLedger extends DurableObject<Env> {
  private readonly store: LedgerStore;
  private readonly operations: OperationLog;
  /** Who may use the team: its keys and model groups (rules/access.ts decides, store/access-store.ts keeps). */
  private readonly access: AccessStore;
  /** The team's request rate (in memory: a restarted object starts with a full bucket). */
  private readonly rate = new TeamRate();
  /** Job expiry, usage sends to D1 and webhook deliveries, from the alarm. */
  private readonly background: LedgerBackground;
  /** Webhook events, born with the changes they tell of, sent by the alarm. */
  private readonly webhooks: WebhookOutbox;
  private readonly account: AccountChanges;
  private readonly jobs: JobLifecycle;
  private readonly calls: JobCalls;
  private readonly reads: LedgerReads;
  /** Grants and the plan allowance (changes/grants.ts); every change of credits is split across grants by changes/grant-ledger.ts. */
  private readonly grants: GrantChanges;
  /** What time brings to the grants (expiries, renewals), settled by the alarm or the next request. */
  private readonly grantClock: GrantClock;
  private readonly grantReads: GrantReads;
  /** Its keys' and end users' period budgets, its budget policy and recharge requests (changes/team-budgets.ts). */
  private readonly budgets: TeamBudgets;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new LedgerStore(ctx.storage);
    this.store.migrate();
    // Every store goes through the same guarded storage, so the rows kept in memory see every write.
    const { storage } = this.store;
    const pages = new LedgerPages(storage.sql);
    const holds = new HoldStore(this.store);
    const d1 = new Repository(env.DB);
    this.operations = new OperationLog(storage.sql);
    const keyName = (keyId: string) => this.access.keys.key(keyId)?.name ?? null;
    const emit = (type: WebhookEventType, data: Record<string, unknown>, nowMs: number) =>
      this.webhooks.emit(type, this.store.account()!, nowMs, data);
    this.budgets = new TeamBudgets(storage.sql, this.store, { emit, keyName });
    this.access = new AccessStore(storage, this.store.rows, accessFromD1(d1), this.budgets.keyBudgetChanged);
    this.background = new LedgerBackground(ctx, env, this.store, holds, d1, this.budgets.timedWork);
    this.webhooks = this.background.webhooks;
    const grantStore = new GrantStore(storage.sql);
    const grantLedger = new GrantLedger(this.store, grantStore);
    this.store.splitCreditsWith(grantLedger);
    this.grantClock = this.background.settleWith((wake) => new GrantClock(this.store, grantStore, grantLedger, this.webhooks, wake));
    this.grants = new GrantChanges(this.store, grantStore, grantLedger, this.webhooks, this.grantClock);
    this.grantReads = new GrantReads(grantStore, this.grants);
    this.budgets.watch(this.webhooks, () => this.grants.allowanceUse());
    this.account = new AccountChanges(this.store, this.access, this.webhooks, this.grants);
    this.jobs = new JobLifecycle(this.store, pages, holds, this.webhooks, (acct) => this.grants.balance(acct, "admin"), keyName);
    this.reads = new LedgerReads(this.store, pages, this.webhooks, () => this.access.keys.names());
    this.calls = new JobCalls({
      store: this.store,
      holds,
      webhooks: this.webhooks,
      groupModels: (group) => this.access.groupModels(group),
      // The team's tokens per minute (in memory, like the rate).
      tokens: new TeamTokenRate(),
      // The pricing table through this isolate's cache, for holds.
      prices: cachedPrices(d1),
      budgets: this.budgets.periods,
      creditsChangeAtMs: () => this.grantClock.nextDueMs(),
      refuseNewWork: (acct) => this.refuseNewWork(acct),
      balanceChanged: () => this.balanceChanged(),
      scheduleAlarm: (atMs) => this.background.scheduleAlarm(atMs),
      usageChanged: () => this.background.scheduleUsageFlush(),
    });
  }

  /**
   * Runs a money change once per operation id (store/operation-log.ts); a repeat returns the first result.
   * After it, the alarm is due to send the usage it changed to D1 (the alarm never decides a charge).
   */
  private async once<T>(method: OperationMethod, operation: Operation, args: unknown, change: () => LedgerResult<T>) {
    this.settleDueGrants();
    const result = await this.operations.applyOnce((write) => this.store.transaction(write), method, operation, args, change);
    await this.background.scheduleUsageFlush();
    return result;
  }

  /**
   * Grants due to expire and allowance renewals due by now are settled before anything reads or
   * moves money, at the moment each was due: the alarm does it on time, this covers a late alarm
   * (an in-memory comparison when nothing is due).
   */
  private settleDueGrants(): void {
    this.grantClock.settleDue(Date.now());
  }

  /** What an applied operation answered, and the text kept with it (null if it never ran or was forgotten). */
  recall(operationId: string, method: OperationMethod, args?: unknown): Promise<LedgerResult<Recalled | null>> {
    return this.operations.recall(operationId, method, args);
  }

  openAccount(init: AccountInit, operation: Operation): Promise<LedgerResult<Balance>> {
    return this.once("openAccount", operation, init, () => this.account.open(init));
  }

  getBalance(caller: Caller) {
    return this.read(caller, (acct) => ok(this.grants.balance(acct, caller.kind)));
  }

  /**
   * A top-up: a paid grant that never expires; with an external_ref, once for good. `idempotencyKey`
   * is the caller's own key: one naming a recharge request this object made is applied once for
   * good (recharges.ts), here or through makeGrant, beyond the operation log's 24 h.
   */
  addCredits(
    credits: number,
    reason: string,
    operation: Operation,
    externalRef: string | null = null,
    idempotencyKey: string | null = null,
  ) {
    const args = externalRef === null ? { credits, reason } : { credits, reason, externalRef };
    return this.once("addCredits", operation, args, () =>
      this.budgets.applyRecharge(
        idempotencyKey,
        credits,
        () => this.account.addCredits(credits, reason, externalRef),
        (grantId) => this.account.creditsAddedBy(grantId),
        Date.now(),
      ),
    );
  }

  /** Makes a grant (once per operation, once per external_ref for good, and once per recharge request like addCredits). */
  makeGrant(request: GrantRequest, operation: Operation, idempotencyKey: string | null = null) {
    return this.once("makeGrant", operation, request, () =>
      this.budgets.applyRecharge(
        idempotencyKey,
        request.credits,
        () => this.grants.make(request, Date.now()),
        (grantId) => this.grants.answerFor(grantId),
        Date.now(),
      ),
    );
  }

  /** Voids what remains of a grant, with a ledger row. */
  voidGrant(grantId: string, reason: string | null, operation: Operation) {
    return this.once("voidGrant", operation, { grantId, reason }, () => this.grants.void(grantId, reason, Date.now()));
  }

  listGrants(caller: Caller, live: boolean, limit: number, offset: number) {
    return this.read(caller, () => this.grantReads.list(live, limit, offset));
  }

  /** Sets the plan allowance (the same terms again change nothing). */
  setAllowance(request: AllowanceRequest, operation: Operation) {
    return this.once("setAllowance", operation, request, () => this.grants.setAllowance(request, Date.now()));
  }

  removeAllowance(operation: Operation) {
    return this.once("removeAllowance", operation, {}, () => this.grants.removeAllowance());
  }

  getAllowance(caller: Caller) {
    return this.read(caller, () => this.grantReads.allowance());
  }

  /** A month's (YYYY-MM) statement: opening and closing balance, and what each grant got and gave. */
  statement(caller: Caller, period: string) {
    return this.read(caller, (acct) => this.grantReads.statement(acct, period));
  }

  setStatus(status: TeamStatus): LedgerResult<Balance> {
    return this.account.setStatus(status);
  }

  /** A call the Worker sent upstream before its admission, then aborted (calls/speculation.ts): counted for admins. */
  countSpeculativeAbort(): LedgerResult<null> {
    if (!this.store.account()) return accountNotFound();
    this.store.countSpeculativeAbort();
    return ok(null);
  }

  /**
   * Changes budget settings and the budget policy (alerts, recharge rule, end-user budget);
   * `rateLimitPerMinute: null` removes the limit, undefined keeps it.
   */
  async updateSettings(settings: SettingsChange & BudgetPolicyChange, operation: Operation): Promise<LedgerResult<Balance>> {
    const { alerts, autoRecharge, endUserBudget, ...budgetSettings } = settings;
    const updated = await this.once("updateSettings", operation, settings, () => {
      const applied = this.account.applySettings(budgetSettings);
      if (!applied.ok) return applied;
      this.budgets.applyPolicy({ alerts, autoRecharge, endUserBudget }, Date.now());
      // A recharge rule the balance is already below asks at once.
      this.balanceChanged();
      return applied;
    });
    await this.background.scheduleTimedWork();
    return updated;
  }

  /** The team's budget policy: alert thresholds, recharge rule, end-user budget. */
  async budgetPolicy(caller: Caller): Promise<LedgerResult<BudgetPolicyView>> {
    return this.read(caller, () => ok(this.budgets.policy()));
  }

  /** The team's keys (not revoked) with their budgets: spent in the window, held now, when the window resets. */
  async listKeys(caller: Caller): Promise<LedgerResult<KeyView[]>> {
    return this.read(caller, () => ok(this.budgets.keyViews(this.access.keys.liveKeys(), Date.now())));
  }

  /** Erases the team's ledger (the team is being deleted); its id may later be reused. */
  async closeAccount(): Promise<LedgerResult<null>> {
    await this.background.clear();
    await this.store.eraseAll();
    this.store.migrate();
    this.grants.forget();
    return ok(null);
  }

  listTransactions(caller: Caller, limit: number, offset: number) {
    return this.read(caller, (acct) => this.reads.transactions(acct, limit, offset));
  }

  /** The ledger newest first before position `beforeSeq`, for exports that page through it all (reads.ts). */
  transactionsBefore(caller: Caller, beforeSeq: number | null, limit: number) {
    return this.read(caller, (acct) => this.reads.transactionsBefore(acct, beforeSeq, limit));
  }

  /** Whether a team key is still good; for requests that end before reaching another method. */
  async authenticate(caller: Caller): Promise<LedgerResult<null>> {
    return (await this.refuseCaller(caller)) ?? ok(null);
  }

  /** A change the admin pushes: a key created, changed, rotated or revoked, the team's groups, or a group's new models (see AccessChange). */
  async changeAccess(change: AccessChange): Promise<LedgerResult<null>> {
    const changed = await this.access.change(this.store.account(), change, Date.now());
    await this.background.scheduleTimedWork();
    return changed;
  }

  /** Opens a job and reserves its minimum charge. Refused with nothing available. */
  async createJob(caller: Caller, input: NewJobRequest): Promise<LedgerResult<JobCreated>> {
    const admitted = await this.admitCaller(caller);
    if ("ok" in admitted) return admitted;
    const { operation, jobId, ...request } = input;
    const subjects = { key_id: admitted.key?.keyId ?? null, end_user: request.endUser ?? null };
    // The job id is made per request: a repeat is compared by what was asked, and gets the first job.
    const created = await this.once("createJob", operation, request, () =>
      this.jobs.open(
        { jobId, ...request, keyId: subjects.key_id },
        (acct) => this.refuseNewWork(acct) ?? this.budgets.refuseJob(subjects, Date.now()),
      ),
    );
    // After the money is written: the alarm expires the job.
    if (created.ok) await this.background.scheduleAlarm(Date.parse(created.value.expires_at));
    await this.background.scheduleTimedWork();
    return created;
  }

  /**
   * Admits one LLM call in a job: the key, the group, then the job and the hold (changes/calls.ts; a group with a
   * response cache first answers where to look); `by` says who makes it (a gateway-owned job takes only the gateway's calls).
   */
  async beginCall(caller: Caller, jobId: string, modelGroup: string, by: JobOwner, budget: CallBudget): Promise<Admission> {
    const admitted = await this.admitCaller(caller, modelGroup);
    if ("ok" in admitted) return admitted;
    this.settleDueGrants();
    return this.calls.begin(jobId, modelGroup, this.access.group(modelGroup)!, by, budget, admitted.key);
  }

  /** Records the outcome of a call admitted by beginCall, whatever it was; its call id is its operation id. */
  recordCall(jobId: string, call: CallRecord): Promise<LedgerResult<{ call_id: string; client_cost_usd: number }>> {
    this.settleDueGrants();
    return this.calls.record(jobId, call);
  }

  /**
   * Opens a gateway-owned one-request job and admits its call, in one round trip: no job opens for a group the
   * team cannot use, nor before a group's response cache is looked in; a job whose call is refused is closed as
   * failed, its operations forgotten (a retry starts afresh).
   */
  async startOneRequestJob(caller: Caller, job: NewJobRequest, modelGroup: string, closing: Operation, budget: CallBudget) {
    const denied = await this.refuseCaller(caller, modelGroup);
    if (denied) return denied;
    const group = this.access.group(modelGroup)!;
    const lookUp = this.calls.lookUpFirst(group, budget);
    if (lookUp) return ok(lookUp);
    const created = await this.createJob(caller, { ...job, owner: "gateway" });
    if (!created.ok) return created;
    const jobId = created.value.job_id;
    const admitted = await this.calls.admit(jobId, modelGroup, group, "gateway", budget);
    if (admitted.ok) return ok({ job: created.value, admission: admitted.value });
    const failed = { jobId, status: "failed" as const, errorMessage: admitted.detail, metadata: null, closedBy: "gateway" as const };
    const closed = await this.completeJob({ kind: "admin" }, { ...failed, operation: closing });
    // A refusal is of the moment (credits, a rate) and not kept: the same Idempotency-Key opens a new job next time.
    if (closed.ok) this.operations.forget(job.operation.id, closing.id);
    return { ...admitted, jobId };
  }

  /**
   * Ends a job. `completed` turns the reservation into the charge, exactly once; `failed` and `cancelled`
   * release it (or, under `unfinished_jobs: charged`, charge what it consumed). A repeat replays the summary.
   */
  async completeJob(caller: Caller, input: Completion & { operation: Operation }): Promise<LedgerResult<CompletionSummary>> {
    const denied = await this.refuseCaller(caller);
    if (denied) return denied;
    const { operation, ...request } = input;
    // The job's calls in flight are settled first, so the answer is the job's final charge.
    const prices = await this.calls.waitForRecords(request.jobId, request.closedBy ?? "team");
    return this.once("completeJob", operation, request, () => this.jobs.settle(request, prices));
  }

  /** Whether the one-request job opened under `createOperation` is abandoned, so its Idempotency-Key may be taken over at once. */
  async abandonedOneRequest(createOperation: string): Promise<LedgerResult<boolean>> {
    return ok(await this.calls.settleAbandoned(this.operations.find(createOperation)));
  }

  /** Gives back what a completed job was charged, once. */
  refundJob(jobId: string, reason: string, operation: Operation): Promise<LedgerResult<{ transaction: LedgerEntry; balance: Balance }>> {
    return this.once("refundJob", operation, { jobId, reason }, () => this.jobs.refund(jobId, reason));
  }

  /** A job with one page of its calls (the first CALLS_PAGE_DEFAULT unless asked). */
  getJob(caller: Caller, jobId: string, calls: CallsPage = { limit: CALLS_PAGE_DEFAULT, offset: 0 }) {
    return this.read(caller, (acct) => this.reads.job(acct, jobId, calls, caller.kind));
  }

  /** A page of a job's calls, cost by cost (the model and provider cost for admins only). */
  jobCosts(caller: Caller, jobId: string, calls: CallsPage) {
    return this.read(caller, (acct) => this.reads.jobCosts(acct, jobId, calls, caller.kind));
  }

  /** Merges metadata into a job, at any status: the team's own notes, bounded like the metadata it was opened with. */
  mergeJobMetadata(caller: Caller, jobId: string, metadata: Record<string, unknown>) {
    return this.read(caller, (acct) => this.jobs.mergeMetadata(acct, jobId, metadata));
  }

  listJobs(caller: Caller, filter: JobFilter) {
    return this.read(caller, (acct) => this.reads.jobs(acct, filter));
  }

  /**
   * A month's (YYYY-MM) or a day's (YYYY-MM-DD) usage from the aggregates kept as jobs and calls
   * happen: as cheap with a million jobs as with ten. The admin key also sees costs and models;
   * `groupBy` adds the usage per tag or per end user.
   */
  usage(caller: Caller, period: string, groupBy: UsageGrouping | null = null) {
    return this.read(caller, (acct) => this.reads.usage(acct, period, caller.kind, groupBy));
  }

  /** Sets, replaces or removes one of the team's webhooks (pushed by the admin routes, as access changes are). */
  changeWebhook(change: WebhookChange): LedgerResult<null> {
    this.webhooks.change(this.store.account(), change, Date.now());
    return ok(null);
  }

  webhookDeliveries(limit: number, offset: number) {
    const acct = this.store.account();
    return acct ? this.reads.webhookDeliveries(acct, limit, offset) : accountNotFound();
  }

  /** After a change of the balance, in its transaction: a crossing below a threshold is an event. */
  private balanceChanged(): void {
    this.webhooks.balanceChanged(() => this.store.account()!, Date.now());
  }

  /**
   * Settles grants due (expiries, notices, renewals), expires jobs, settles holds past their deadlines (at the prices read
   * first), sends usage to D1, delivers webhook events (background/alarm.ts).
   */
  async alarm(): Promise<void> {
    const nowMs = Date.now();
    await this.background.runAlarm(nowMs, await this.calls.dueAt(nowMs));
  }

  /** A read of the account: the caller's key checked, and a suspended team's key refused. */
  private async read<T>(caller: Caller, answer: (acct: AccountRow) => LedgerResult<T>): Promise<LedgerResult<T>> {
    this.settleDueGrants();
    const denied = await this.refuseCaller(caller);
    const acct = this.store.account();
    const refused = denied ?? (acct ? refuseSuspended(acct, caller.kind) : accountNotFound());
    return refused ?? answer(acct!);
  }

  /** A team key must be one the team holds and still good; a call's group must be the team's (and the key's), with models. */
  private admitCaller(caller: Caller, modelGroup?: string): Promise<Refusal | AdmittedCaller> {
    return this.access.admit(this.store.account(), caller, modelGroup);
  }

  private async refuseCaller(caller: Caller, modelGroup?: string): Promise<Refusal | null> {
    const admitted = await this.admitCaller(caller, modelGroup);
    return "ok" in admitted ? admitted : null;
  }

  /** The guard on new jobs and calls: the team must be active, then within its rate. */
  private refuseNewWork(acct: AccountRow): Refusal | null {
    return refuseInactive(acct) ?? this.rate.refuse(acct.rate_limit_per_minute, Date.now());
  }
}
