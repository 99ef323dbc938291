import type { WebhookEventType } from "../../webhooks/events";
import { thresholdsCrossed } from "../rules/period-budget";
import type { BudgetStore } from "../store/budget-store";

// `budget.threshold` for the team's plan allowance: the share of the current period's plan
// credits that charges used crosses one of the team's alert thresholds. Checked after each change
// of the balance, in its transaction, so racing calls see a crossing once; each threshold fires
// once per period, in order, and again in the next period (the renewal starts a new one).

/** The plan allowance's current period as the alerts read it (changes/grants.ts makes it). */
export interface AllowanceUse {
  allowanceId: string;
  period: string;
  periodStartMs: number;
  periodEndMs: number;
  /** The plan credits granted for the period (the allowance, and what rolled over into it). */
  granted: number;
  /** What charges used of them (net of refunds). */
  used: number;
}

export interface AllowanceAlertHost {
  emit(type: WebhookEventType, data: Record<string, unknown>, nowMs: number): void;
}

const isoOf = (ms: number) => new Date(ms).toISOString();

export class AllowanceAlerts {
  constructor(
    private readonly store: BudgetStore,
    private readonly host: AllowanceAlertHost,
  ) {}

  /** After a change of the balance: the thresholds the allowance's use now reaches that have not fired this period fire. */
  balanceChanged(use: () => AllowanceUse | null, nowMs: number): void {
    const thresholds = JSON.parse(this.store.policy().alert_thresholds) as number[];
    if (thresholds.length === 0) return;
    const now = use();
    if (!now || now.granted <= 0) return;
    const alerted = this.store.allowanceAlerted(now.allowanceId, now.periodStartMs);
    const crossed = thresholdsCrossed(thresholds, now.granted, now.used, alerted);
    if (crossed.length === 0) return;
    this.store.setAllowanceAlerted(now.allowanceId, now.periodStartMs, crossed.at(-1)!);
    for (const threshold of crossed) {
      this.host.emit(
        "budget.threshold",
        {
          subject: { type: "allowance", allowance_id: now.allowanceId },
          budget_credits: now.granted,
          spent_credits: now.used,
          period: now.period,
          window_start: isoOf(now.periodStartMs),
          resets_at: isoOf(now.periodEndMs),
          threshold_percent: threshold,
        },
        nowMs,
      );
    }
  }
}
