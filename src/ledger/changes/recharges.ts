import type { WebhookEventType } from "../../webhooks/events";
import type { BudgetStore } from "../store/budget-store";
import { type LedgerResult, ok, refusal } from "../types";

// Recharge requests: a team with `auto_recharge: {below, target}` asks its SaaS builder for
// credits when its available balance falls below `below`. The object emits one
// `credits.recharge_requested` event per crossing (amount `target − available`, an
// idempotency_key), made in the transaction of the change that crossed; the builder charges its
// customer and adds the credits with that key as its Idempotency-Key. The object remembers each
// request and whether it was applied, for good, so a request is applied once however often and
// however late the webhook is retried (beyond the 24 h an Idempotency-Key's answer is kept), and
// whether it is applied as a top-up (`…/add`) or as a grant (`…/grants`).

/** The prefix of a recharge request's idempotency key. */
export const RECHARGE_KEY_PREFIX = "recharge_";

export interface RechargeHost {
  emit(type: WebhookEventType, data: Record<string, unknown>, nowMs: number): void;
}

export class RechargeRequests {
  constructor(
    private readonly store: BudgetStore,
    private readonly host: RechargeHost,
  ) {}

  /**
   * After any change of the balance (in its transaction): a fall below the recharge threshold
   * makes one request (told to the team's webhooks, and shown in its view until applied); the
   * balance back at or above it re-arms the rule.
   */
  balanceChanged(availableNow: () => number, nowMs: number): void {
    const policy = this.store.policy();
    if (policy.recharge_below === null || policy.recharge_target === null) return;
    const availableCredits = availableNow();
    const below = availableCredits < policy.recharge_below;
    if (!below) {
      if (policy.recharge_open !== null) this.store.putPolicy({ ...policy, recharge_open: null });
      return;
    }
    if (policy.recharge_open !== null) return;
    const idempotencyKey = `${RECHARGE_KEY_PREFIX}${crypto.randomUUID().replaceAll("-", "")}`;
    const amount = policy.recharge_target - availableCredits;
    this.store.insertRecharge(idempotencyKey, amount, nowMs);
    this.store.putPolicy({ ...policy, recharge_open: idempotencyKey });
    this.host.emit(
      "credits.recharge_requested",
      {
        amount,
        idempotency_key: idempotencyKey,
        below: policy.recharge_below,
        target: policy.recharge_target,
        credits_available: availableCredits,
      },
      nowMs,
    );
  }

  /**
   * Adds credits under an Idempotency-Key: a key naming one of this team's recharge requests is
   * applied once, through `POST …/add` or `POST …/grants` alike (a repeat, through either, answers
   * with the grant the first made, `again`, adding nothing; other credits than the first are
   * refused), any other key changes nothing here. In the addition's transaction.
   */
  applyOnce<T>(
    idempotencyKey: string | null,
    credits: number,
    add: () => LedgerResult<T>,
    again: (grantId: string) => LedgerResult<T>,
    nowMs: number,
  ): LedgerResult<T> {
    const request = idempotencyKey?.startsWith(RECHARGE_KEY_PREFIX) ? this.store.recharge(idempotencyKey) : null;
    if (!request) return add();
    if (request.applied_at_ms !== null) {
      if (request.applied_credits !== credits) {
        return refusal(
          "OPERATION_MISMATCH",
          `Recharge request '${idempotencyKey}' was already applied with ${request.applied_credits} credits; it is applied once`,
        );
      }
      const first = JSON.parse(request.result!) as AppliedAnswer;
      const grantId = first.grant_id ?? first.grant?.grant_id;
      if (grantId) return again(grantId);
      // Applied before credits were grants (an answer of …/add without a grant): that answer again.
      return ok(first as T);
    }
    const added = add();
    if (added.ok) this.store.markRechargeApplied(request.idempotency_key, credits, added.value, nowMs);
    return added;
  }
}

/** What the first application answered: a top-up names its grant by `grant_id`, a grant is `grant`. */
type AppliedAnswer = { grant_id?: string; grant?: { grant_id?: string } };
