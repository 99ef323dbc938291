import type { PeriodBudget } from "../rules/period-budget";
import type { BudgetStore } from "../store/budget-store";
import type { PeriodBudgets } from "./period-budgets";

// A team's budget policy, kept in its object beside its budget settings: the alert thresholds
// its period budgets fire at, its recharge rule, and the budget each of its end users has.

/** A change of the policy: a field left out is kept, null removes it. */
export interface BudgetPolicyChange {
  alerts?: { thresholds: number[] } | null;
  autoRecharge?: { below: number; target: number } | null;
  endUserBudget?: PeriodBudget | null;
}

/** A recharge request made and not yet applied. */
export interface PendingRecharge {
  idempotency_key: string;
  amount: number;
  requested_at: string;
}

/** The policy as the team's views show it. */
export interface BudgetPolicyView {
  alerts: { thresholds: number[] };
  auto_recharge: { below: number; target: number; pending_request: PendingRecharge | null } | null;
  end_user_budget: PeriodBudget | null;
}

/** A team's policy before any is set: no alerts, no recharge requests, no end-user budget. */
export const NO_BUDGET_POLICY: BudgetPolicyView = { alerts: { thresholds: [] }, auto_recharge: null, end_user_budget: null };

export function budgetPolicyView(store: BudgetStore): BudgetPolicyView {
  const p = store.policy();
  const open = p.recharge_open === null ? null : store.recharge(p.recharge_open);
  const pending =
    open === null || open.applied_at_ms !== null
      ? null
      : { idempotency_key: open.idempotency_key, amount: open.amount, requested_at: new Date(open.requested_at_ms).toISOString() };
  return {
    alerts: { thresholds: JSON.parse(p.alert_thresholds) as number[] },
    auto_recharge:
      p.recharge_below !== null && p.recharge_target !== null
        ? { below: p.recharge_below, target: p.recharge_target, pending_request: pending }
        : null,
    end_user_budget:
      p.end_user_credits !== null && p.end_user_period !== null ? { credits: p.end_user_credits, period: p.end_user_period } : null,
  };
}

/**
 * Applies a change of the policy (call inside a transaction). A new recharge rule starts armed,
 * so a balance already below it asks at the next check; a new end-user budget applies to every
 * end user at once, keeping what each spent in the window.
 */
export function applyBudgetPolicy(store: BudgetStore, budgets: PeriodBudgets, change: BudgetPolicyChange, nowMs: number): void {
  const p = store.policy();
  const next = { ...p };
  if (change.alerts !== undefined) {
    next.alert_thresholds = JSON.stringify([...new Set(change.alerts?.thresholds ?? [])].sort((a, b) => a - b));
  }
  if (change.autoRecharge !== undefined) {
    next.recharge_below = change.autoRecharge?.below ?? null;
    next.recharge_target = change.autoRecharge?.target ?? null;
    next.recharge_open = null;
  }
  if (change.endUserBudget !== undefined) {
    next.end_user_credits = change.endUserBudget?.credits ?? null;
    next.end_user_period = change.endUserBudget?.period ?? null;
    budgets.setEndUserBudget(change.endUserBudget, nowMs);
  }
  store.putPolicy(next);
}
