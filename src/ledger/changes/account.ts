import { accountNotFound } from "../rules/admission";
import { balanceOf } from "../rules/views";
import type { AccessStore } from "../store/access-store";
import { isoNow, type LedgerStore } from "../store/ledger-store";
import type { AccountInit, Balance, LedgerEntry, LedgerResult, SettingsChange, TeamStatus } from "../types";
import { ok, refusal } from "../types";
import { recomputeHolds } from "./call-holds";
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
  ) {}

  /** The account with its opening allocation, first key, groups and webhooks. */
  open(init: AccountInit): LedgerResult<Balance> {
    if (this.store.account()) return refusal("ACCOUNT_EXISTS", `Team '${init.teamId}' already has a ledger`);
    this.store.insertAccount(init, isoNow());
    this.store.appendLedger("allocation", { allocated: init.creditsAllocated }, null, "Opening allocation");
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
    return ok(balanceOf(this.store.account()!, "admin"));
  }

  addCredits(credits: number, reason: string): LedgerResult<{ balance: Balance; transaction: LedgerEntry }> {
    if (!this.store.account()) return accountNotFound();
    if (!Number.isSafeInteger(credits) || credits <= 0) return refusal("INVALID_ARGUMENT", "credits must be a positive integer");
    const transaction = this.store.appendLedger("allocation", { allocated: credits }, null, reason);
    this.balanceChanged();
    return ok({ balance: balanceOf(this.store.account()!, "admin"), transaction });
  }

  /** A team newly suspended is an event. */
  setStatus(status: TeamStatus): LedgerResult<Balance> {
    const before = this.store.account();
    if (!before) return accountNotFound();
    this.store.setStatus(status);
    if (status === "suspended" && before.status !== "suspended") this.webhooks.emit("team.suspended", this.store.account()!, Date.now());
    return ok(balanceOf(this.store.account()!, "admin"));
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
      unfinished_jobs: settings.unfinishedJobs === undefined ? acct.unfinished_jobs : settings.unfinishedJobs,
    });
    // What each job holds is worked out again under the new settings (a call's own hold keeps its amount).
    recomputeHolds(this.store, this.store.account()!);
    this.balanceChanged();
    return ok(balanceOf(this.store.account()!, "admin"));
  }

  /** After a change of the balance, in its transaction: a crossing below a threshold is an event. */
  private balanceChanged(): void {
    this.webhooks.balanceChanged(() => this.store.account()!, Date.now());
  }
}
