import type { GrantMoveKind } from "../../schemas/grants";
import type { AllowanceRow, GrantRow } from "../rows";
import type { AllowanceView, GrantTotals, GrantView, Page, Statement } from "../types";
import { grantStatusOf } from "./grants";

/** One line of a statement: a grant's (or the overdraft's, or a source's) credits through the month. */
type StatementLine = Statement["by_source"]["paid"];
type StatementSource = keyof Statement["by_source"];

// What a team's grants, allowance and statement show, as pure functions of their rows.

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function grantViewOf(g: GrantRow): GrantView {
  return {
    grant_id: g.grant_id,
    source: g.source,
    credits: g.credits,
    remaining: g.remaining,
    priority: g.priority,
    expires_at: iso(g.expires_at_ms),
    status: grantStatusOf(g),
    held_for_jobs: g.ended ? g.remaining : 0,
    reason: g.reason,
    external_ref: g.external_ref,
    plan: g.plan_period_ms === null ? null : { period_start: iso(g.plan_period_ms)!, rollover: g.plan_kind === "rollover" },
    created_at: iso(g.created_at_ms)!,
    ended_at: iso(g.ended_at_ms),
  };
}

export function grantPageOf(rows: GrantRow[], limit: number, offset: number): Page<GrantView> {
  return { items: rows.slice(0, limit).map(grantViewOf), limit, offset, has_more: rows.length > limit };
}

/** `movable`: the grants in burn-down order (live, and ended ones held for jobs). */
export function grantTotalsOf(movable: readonly GrantRow[], allowance: AllowanceRow | null, overdrawn: number): GrantTotals {
  const grants = { paid: 0, promotional: 0, plan: 0, overdrawn };
  let next: GrantRow | null = null;
  for (const g of movable) {
    grants[g.source] += g.remaining;
    if (g.ended === null && g.expires_at_ms !== null && g.remaining > 0 && (next === null || g.expires_at_ms < next.expires_at_ms!))
      next = g;
  }
  return {
    grants,
    next_expiry: next && { grant_id: next.grant_id, source: next.source, at: iso(next.expires_at_ms)!, credits: next.remaining },
    next_renewal: allowance && { at: iso(allowance.period_end_ms)!, credits: allowance.credits },
  };
}

/** The allowance, with its period's plan grants (`periodGrants`) and their moves summed by kind. */
export function allowanceViewOf(
  row: AllowanceRow,
  periodGrants: readonly GrantRow[],
  periodMoves: ReadonlyArray<{ kind: GrantMoveKind; credits: number }>,
): AllowanceView {
  const moved = (kinds: GrantMoveKind[]) => periodMoves.filter((m) => kinds.includes(m.kind)).reduce((sum, m) => sum + m.credits, 0);
  return {
    credits: row.credits,
    period: row.period,
    anchor: row.anchor,
    rollover: row.rollover_max === null ? "none" : { max: row.rollover_max },
    priority: row.priority,
    current_period: {
      starts_at: iso(row.period_start_ms)!,
      ends_at: iso(row.period_end_ms)!,
      granted: moved(["grant"]),
      used: -moved(["charge", "refund", "overdraft"]),
      remaining: periodGrants.reduce((sum, g) => sum + (g.ended === null ? g.remaining : 0), 0),
    },
    next_renewal_at: iso(row.period_end_ms)!,
    updated_at: iso(row.updated_at_ms)!,
  };
}

// ---------------------------------------------------------------- the statement

/** The calendar month YYYY-MM as [start, end) in ms, UTC; null when it is not one. */
export function monthRange(period: string): { fromMs: number; toMs: number } | null {
  const match = /^(\d{4})-(\d{2})$/.exec(period);
  if (!match) return null;
  const year = Number(match[1]);
  const month = Number(match[2]) - 1;
  if (month < 0 || month > 11) return null;
  return { fromMs: Date.UTC(year, month, 1), toMs: Date.UTC(year, month + 1, 1) };
}

const emptyLine = (): StatementLine => ({ opening: 0, granted: 0, consumed: 0, refunded: 0, expired: 0, voided: 0, closing: 0 });

/** Which column of a line a move of this kind adds to (signed as the line shows it). */
function addMove(line: StatementLine, kind: GrantMoveKind, credits: number): void {
  if (kind === "grant") line.granted += credits;
  // Paying an overdraft spends a grant's credits on consumption made before (and pays the overdraft's line back).
  else if (kind === "charge" || kind === "overdraft") line.consumed -= credits;
  else if (kind === "refund") line.refunded += credits;
  else if (kind === "expiry") line.expired -= credits;
  else line.voided -= credits;
  line.closing += credits;
}

/**
 * A month's statement. Its totals are the ledger's: `ledger` is the sum of each kind's amounts in
 * the month and `openingBalance` the ledger's sum before it. Its lines are the grants' moves: each
 * grant's opening is what its moves left before the month, and the lines add up to the totals.
 */
export function statementOf(input: {
  teamId: string;
  period: string;
  fromMs: number;
  toMs: number;
  openingBalance: number;
  ledger: ReadonlyArray<{ kind: string; amount: number }>;
  before: ReadonlyArray<{ grant_id: string | null; credits: number }>;
  moves: ReadonlyArray<{ grant_id: string | null; kind: GrantMoveKind; credits: number }>;
  grants: readonly GrantRow[];
}): Statement {
  const sum = (kind: string) => input.ledger.filter((r) => r.kind === kind).reduce((s, r) => s + r.amount, 0);
  // What leaves the balance is shown positive (0 - x, never -0).
  const out = (kind: string) => 0 - sum(kind) || 0;
  const granted = sum("allocation");
  const consumed = out("deduction");
  const refunded = sum("refund");
  const expired = out("expiry");
  const voided = out("void");
  const closing = input.openingBalance + input.ledger.reduce((s, r) => s + r.amount, 0);

  const byGrant = new Map(input.grants.map((g) => [g.grant_id, g]));
  const lines = new Map<string | null, StatementLine>();
  const lineOf = (grantId: string | null) => {
    let line = lines.get(grantId);
    if (!line) lines.set(grantId, (line = emptyLine()));
    return line;
  };
  for (const b of input.before) {
    if (b.credits === 0) continue;
    const line = lineOf(b.grant_id);
    line.opening += b.credits;
    line.closing += b.credits;
  }
  for (const m of input.moves) addMove(lineOf(m.grant_id), m.kind, m.credits);

  const bySource: Record<StatementSource, StatementLine> = {
    paid: emptyLine(),
    promotional: emptyLine(),
    plan: emptyLine(),
    overdraft: emptyLine(),
  };
  const grantLines: Statement["grants"] = [];
  for (const [grantId, line] of lines) {
    const grant = grantId === null ? null : (byGrant.get(grantId) ?? null);
    const source: StatementSource = grant ? grant.source : "overdraft";
    const total = bySource[source];
    for (const k of Object.keys(line) as Array<keyof StatementLine>) total[k] += line[k];
    grantLines.push({
      grant_id: grantId,
      source,
      reason: grant?.reason ?? null,
      expires_at: grant ? iso(grant.expires_at_ms) : null,
      status: grant ? grantStatusOf(grant) : null,
      ...line,
    });
  }
  return {
    team_id: input.teamId,
    period: input.period,
    starts_at: iso(input.fromMs)!,
    ends_at: iso(input.toMs)!,
    opening: input.openingBalance,
    granted,
    consumed,
    refunded,
    expired,
    voided,
    closing,
    by_source: bySource,
    grants: grantLines,
  };
}
