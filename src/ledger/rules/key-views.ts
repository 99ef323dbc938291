import type { BudgetPeriod } from "../../schemas/period-budgets";
import type { BudgetState } from "../changes/period-budgets";
import type { KeyRow } from "../store/key-store";
import { MICRO_PER_CREDIT } from "./money";

// A team's keys as its views show them: never a secret, only the display prefix; a key's budget
// with what was spent in its window and what its jobs hold now. Pure functions of the rows.

export interface KeyView {
  key_id: string;
  name: string;
  key_prefix: string;
  model_groups: string[] | null;
  expires_at: string | null;
  created_at: string;
  last_used_at: string | null;
  budget: {
    credits: number;
    period: BudgetPeriod;
    /** Charged to the key's jobs in the current window. */
    spent_credits: number;
    /** Held now by the key's open jobs and calls in flight (micro-credits shown as credits, rounded up). */
    held_credits: number;
    window_start: string;
    /** When the window ends (null for `total`). */
    resets_at: string | null;
  } | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function keyViewOf(row: KeyRow, state: BudgetState | null): KeyView {
  return {
    key_id: row.key_id,
    name: row.name,
    key_prefix: row.key_prefix,
    model_groups: row.model_groups === null ? null : (JSON.parse(row.model_groups) as string[]),
    expires_at: iso(row.expires_at_ms),
    created_at: row.created_at,
    last_used_at: iso(row.last_used_at_ms),
    budget:
      state === null
        ? null
        : {
            credits: state.budget.credits,
            period: state.budget.period,
            spent_credits: state.spentMicro / MICRO_PER_CREDIT,
            held_credits: Math.ceil(state.heldMicro / MICRO_PER_CREDIT),
            window_start: new Date(state.windowStartMs).toISOString(),
            resets_at: iso(state.resetsAtMs),
          },
  };
}
