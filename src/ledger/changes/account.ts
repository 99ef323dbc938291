import { accountNotFound } from "../rules/admission";
import type { AccessStore } from "../store/access-store";
import { isoNow, type LedgerStore } from "../store/ledger-store";
import type { AccountInit, Balance, LedgerEntry, LedgerResult, SettingsChange, TeamStatus } from "../types";
import { ok, refusal } from "../types";
import { recomputeHolds } from "./call-holds";
import type { GrantChanges } from "./grants";
import type { WebhookOutbox } from "./webhook-outbox";

/**
 * The changes to a team's account itself, inside its object: opening it, top-ups, its status and
 * budget settings. Each runs synchronously (inside the operation's transaction when it changes
 * money), with the webhook events it makes; the object's RPC methods apply them.
 */
export class AccountChanges {
  constructor(
    private readonly store: LedgerStore,
    private readonly access: AccessStore,
    private readonly webhooks: WebhookOutbox,
    private readonly grants: GrantChanges,
  ) {}

  /** The account with its opening allocation (a paid grant), first key, groups and webhooks. */
  open(init: AccountInit): LedgerResult<Balance> {
    if (this.store.account()) return refusal("ACCOUNT_EXISTS", `Team '${init.teamId}' already has a ledger`);
    this.store.insertAccount(init, isoNow());
    this.grants.open(init.creditsAllocated, Date.now());
    const { keyId, keyHash, prefix, name } = init.key;
    const createdAt = isoNow();
    this.access.replaceAll(
      {
        keys: [{ keyId, name, prefix, modelGroups: null, expiresAtMs: null, revokedAtMs: null, createdAt, budget: null }],
        secrets: [{ keyHash, keyId, validUntilMs: null }],
        groups: init.modelGroups,
      },
      createdAt,
    );
    for (const set of init.webhooks ?? []) this.webhooks.change(this.store.account(), { set }, Date.now());
    return ok(this.grants.balance(this.store.account()!, "admin"));
  }

  /** A top-up: a paid grant that never expires (once per external_ref, like any grant). */
  addCredits(
    credits: number,
    reason: string,
    externalRef: string | null = null,
  ): LedgerResult<{ balance: Balance; transaction: LedgerEntry; grant_id: string; created: boolean }> {
    const made = this.grants.make({ credits, source: "paid", expiresAtMs: null, priority: null, reason, externalRef }, Date.now());
    if (!made.ok) return made;
    const { grant, transaction, created } = made.value;
    return ok({ balance: this.grants.balance(this.store.account()!, "admin"), transaction, grant_id: grant.grant_id, created });
  }

  /** A top-up made before, answered again (a recharge request applied before): `created` false, nothing added. */
  creditsAddedBy(grantId: string): LedgerResult<{ balance: Balance; transaction: LedgerEntry; grant_id: string; created: boolean }> {
    const made = this.grants.answerFor(grantId);
    if (!made.ok) return made;
    const { grant, transaction } = made.value;
    return ok({ balance: this.grants.balance(this.store.account()!, "admin"), transaction, grant_id: grant.grant_id, created: false });
  }

  /** A team newly suspended is an event. */
  setStatus(status: TeamStatus): LedgerResult<Balance> {
    const before = this.store.account();
    if (!before) return accountNotFound();
    this.store.setStatus(status);
    if (status === "suspended" && before.status !== "suspended") this.webhooks.emit("team.suspended", this.store.account()!, Date.now());
    return ok(this.grants.balance(this.store.account()!, "admin"));
  }

  /** Changes budget settings; `rateLimitPerMinute: null` removes the limit, `unfinishedJobs: null` follows the mode, undefined keeps either. */
  applySettings(settings: SettingsChange): LedgerResult<Balance> {
    const acct = this.store.account();
    if (!acct) return accountNotFound();
    this.store.updateSettings({
      ...acct,
      budget_mode: settings.budgetMode ?? acct.budget_mode,
      credits_per_dollar: settings.creditsPerDollar ?? acct.credits_per_dollar,
      tokens_per_credit: settings.tokensPerCredit ?? acct.tokens_per_credit,
      cost_markup_percentage: settings.costMarkupPercentage ?? acct.cost_markup_percentage,
      job_ttl_seconds: settings.jobTtlSeconds ?? acct.job_ttl_seconds,
      rate_limit_per_minute: settings.rateLimitPerMinute === undefined ? acct.rate_limit_per_minute : settings.rateLimitPerMinute,
      overdraft: settings.overdraft ?? acct.overdraft,
      unpriced_calls: settings.unpricedCalls ?? acct.unpriced_calls,
      tpm_limit: settings.tpmLimit === undefined ? acct.tpm_limit : settings.tpmLimit,
      grant_notice_seconds: settings.grantNoticeSeconds ?? acct.grant_notice_seconds,
      unfinished_jobs: settings.unfinishedJobs === undefined ? acct.unfinished_jobs : settings.unfinishedJobs,
      speculative_admission:
        settings.speculativeAdmission === undefined ? acct.speculative_admission : Number(settings.speculativeAdmission),
    });
    // What each job holds is worked out again under the new settings (a call's own hold keeps its amount).
    recomputeHolds(this.store, this.store.account()!);
    // A new notice time may make an expiry notice due sooner or later.
    if (settings.grantNoticeSeconds !== undefined) this.grants.forget();
    this.balanceChanged();
    return ok(this.grants.balance(this.store.account()!, "admin"));
  }

  /** After a change of the balance, in its transaction: a crossing below a threshold is an event. */
  private balanceChanged(): void {
    this.webhooks.balanceChanged(() => this.store.account()!, Date.now());
  }
}
