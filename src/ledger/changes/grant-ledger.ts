import { DEFAULT_GRANT_PRIORITY, type GrantMoveKind, type GrantSource } from "../../schemas/grants";
import type { GrantEnd, GrantMoveRow, GrantRow, NewGrant } from "../rows";
import { drawDown, heldFromEndingGrant } from "../rules/grants";
import { MICRO_PER_CREDIT } from "../rules/money";
import type { GrantStore } from "../store/grant-store";
import type { CreditChange, CreditSplitter, LedgerStore } from "../store/ledger-store";
import type { GrantSplit, LedgerEntry } from "../types";

// How the team's grants follow its ledger. Every ledger row that changes credits_remaining is
// split across the grants in the same transaction (LedgerStore.appendLedger calls split()):
// a charge draws first on what its job holds of ended grants, then on the live grants in
// burn-down order (rules/grants.ts), and what none can pay is the team's overdraft; a refund
// gives each grant back what it paid for the job (a grant that has ended since takes it and
// loses it again at once); an allocation lands in its grant. An overdraft is paid by the next
// credits that arrive. So at every moment the grants' remaining credits less the overdraft are
// credits_remaining, and no grant is below zero.

/** A grant and the ledger row that made it. */
export type GrantMade = { grant: GrantRow; transaction: LedgerEntry };

export class GrantLedger implements CreditSplitter {
  constructor(
    private readonly store: LedgerStore,
    private readonly grants: GrantStore,
  ) {}

  forget(): void {
    this.grants.forget();
  }

  /** The live grants (not ended), in burn-down order. */
  liveGrants(): GrantRow[] {
    return this.grants.movableGrants().filter((g) => g.ended === null);
  }

  /** Credits beyond every grant that the team has spent (0 unless `overdraft: bounded` let it overrun). */
  overdrawn(creditsRemaining: number): number {
    return Math.max(0, this.grantsTotal() - creditsRemaining);
  }

  private grantsTotal(): number {
    return this.grants.movableGrants().reduce((sum, g) => sum + g.remaining, 0);
  }

  split(row: { seq: number; kind: LedgerEntry["kind"]; change: CreditChange; entry: LedgerEntry; atMs: number }): GrantSplit[] {
    const { seq, kind, change, entry, atMs } = row;
    const jobId = entry.job_id;
    const at = (grantId: string | null, moveKind: GrantMoveKind, credits: number): GrantMoveRow => ({
      ledger_seq: seq,
      grant_id: grantId,
      kind: moveKind,
      credits,
      job_id: jobId,
      at_ms: atMs,
    });
    const overdrawnBefore = Math.max(0, this.grantsTotal() - entry.balance_before);
    const moves: GrantMoveRow[] = [];
    const endedRefunded: Array<{ grant: GrantRow; credits: number }> = [];
    if (change.grantId) {
      moves.push(at(change.grantId, kind === "allocation" ? "grant" : kind === "void" ? "void" : "expiry", entry.amount));
    } else if (entry.amount < 0) {
      for (const d of this.chargeDraws(jobId, -entry.amount)) moves.push(at(d.grant_id, "charge", d.credits));
    } else {
      let left = entry.amount;
      if (kind === "refund" && jobId) {
        const payers = this.grants.paidForJob(jobId);
        const byId = new Map(this.grants.grantsById(payers.flatMap((p) => p.grant_id ?? [])).map((g) => [g.grant_id, g]));
        for (const paid of payers) {
          const grant = paid.grant_id === null ? null : byId.get(paid.grant_id);
          if (!grant || left <= 0) continue;
          const back = Math.min(left, paid.credits);
          moves.push(at(grant.grant_id, "refund", back));
          if (grant.ended) endedRefunded.push({ grant, credits: back });
          left -= back;
        }
      }
      // What no grant takes back pays the overdraft first; anything beyond is a paid grant of its own.
      const repaid = Math.min(left, overdrawnBefore);
      if (repaid > 0) moves.push(at(null, kind === "refund" ? "refund" : "grant", repaid));
      left -= repaid;
      if (left > 0) {
        const grant = this.grants.insert(creditsWithoutGrant(left, entry.reason, atMs));
        moves.push(at(grant.grant_id, kind === "refund" ? "refund" : "grant", left));
      }
    }
    this.grants.move(moves);
    // What is owed now (credits leaving an ended grant below change the grants and the balance alike, not this).
    const owed = this.overdrawn(entry.balance_after);
    // A refund to a grant that has ended since is not the team's to spend: it leaves again.
    for (const { grant, credits } of endedRefunded) this.leave(grant, credits, jobId, "refunded after the grant ended", atMs);
    const overdraftPaid = owed > 0 ? this.payOverdraft(owed, seq, atMs, jobId) : [];
    return splitsOf([...moves, ...overdraftPaid], this.grants);
  }

  /** An overdraft is paid by the live grants as soon as they have credits, in burn-down order. */
  private payOverdraft(owed: number, seq: number, atMs: number, jobId: string | null): GrantMoveRow[] {
    const { draws } = drawDown(this.liveGrants(), owed);
    const paid = -draws.reduce((sum, d) => sum + d.credits, 0);
    if (paid === 0) return [];
    const base = { ledger_seq: seq, kind: "overdraft" as const, job_id: jobId, at_ms: atMs };
    const moves = [
      ...draws.map((d) => ({ ...base, grant_id: d.grant_id, credits: d.credits })),
      { ...base, grant_id: null, credits: paid },
    ];
    this.grants.move(moves);
    return moves;
  }

  /** Where a charge of `credits` comes from: its job's credits held of ended grants, then the live grants in order, then the overdraft. */
  private chargeDraws(jobId: string | null, credits: number) {
    const draws: Array<{ grant_id: string | null; credits: number }> = [];
    let left = credits;
    if (jobId) {
      for (const held of this.grants.heldFor(jobId)) {
        const take = Math.min(left, held.credits);
        if (take <= 0) continue;
        draws.push({ grant_id: held.grant_id, credits: -take });
        this.grants.setHeld(jobId, held.grant_id, held.credits - take);
        left -= take;
      }
    }
    const { draws: live, shortfall } = drawDown(this.liveGrants(), left);
    draws.push(...live);
    if (shortfall > 0) draws.push({ grant_id: null, credits: -shortfall });
    return draws;
  }

  /** Makes a grant and its allocation row (the grant's credits arrive with it). */
  make(grant: NewGrant, atMs: number): GrantMade {
    const row = this.grants.insert(grant);
    const transaction = this.store.appendLedger(
      "allocation",
      { allocated: grant.credits, grantId: row.grant_id },
      null,
      grant.reason,
      atMs,
    );
    return { grant: this.grants.grant(row.grant_id)!, transaction };
  }

  /**
   * Ends a live grant (expired or voided) at `atMs`: the part of it that open jobs' holds draw on
   * (heldFromEndingGrant) stays with those jobs until they end; the rest leaves the balance now,
   * with its own ledger row. Returns that row, and what stayed held.
   */
  end(grant: GrantRow, end: GrantEnd, reason: string, atMs: number): { transaction: LedgerEntry; held: number } {
    const heldByJob = heldFromEndingGrant(this.liveGrants(), grant.grant_id, this.uncoveredHolds());
    const held = heldByJob.reduce((sum, h) => sum + h.credits, 0);
    const transaction = this.store.appendLedger(
      end === "expired" ? "expiry" : "void",
      { allocated: -(grant.remaining - held), grantId: grant.grant_id },
      null,
      reason,
      atMs,
    );
    this.grants.end(grant.grant_id, end, atMs);
    for (const h of heldByJob) this.grants.setHeld(h.job_id, grant.grant_id, h.credits);
    return { transaction, held };
  }

  /** Jobs holding credits, oldest first, with the whole credits of their hold no ended grant covers yet. */
  private uncoveredHolds() {
    return this.store
      .holdingJobs()
      .sort((a, b) => (a.created_at === b.created_at ? (a.job_id < b.job_id ? -1 : 1) : a.created_at < b.created_at ? -1 : 1))
      .map((job) => {
        const covered = this.grants.heldFor(job.job_id).reduce((sum, h) => sum + h.credits, 0);
        return { job_id: job.job_id, uncovered: Math.floor(job.hold_micro / MICRO_PER_CREDIT) - covered };
      })
      .filter((job) => job.uncovered > 0);
  }

  /**
   * A job's hold was written: what it holds of ended grants is at most its whole held credits
   * (so the ended grants never fund anything else); what is over leaves the balance now.
   */
  jobHoldSet(jobId: string): void {
    if (!this.grants.anyHeld()) return;
    const held = this.grants.heldFor(jobId);
    if (held.length === 0) return;
    const job = this.store.job(jobId);
    const cap = job ? Math.floor(job.hold_micro / MICRO_PER_CREDIT) : 0;
    let over = held.reduce((sum, h) => sum + h.credits, 0) - cap;
    const ended = new Map(this.grants.movableGrants().map((g) => [g.grant_id, g]));
    for (const h of [...held].reverse()) {
      if (over <= 0) break;
      const credits = Math.min(over, h.credits);
      this.grants.setHeld(jobId, h.grant_id, h.credits - credits);
      const grant = ended.get(h.grant_id);
      if (grant) this.leave(grant, credits, jobId, "no longer held by its job", Date.now());
      over -= credits;
    }
  }

  /** Credits of an ended grant that nothing holds any more leave the balance, as its end said. */
  private leave(grant: GrantRow, credits: number, jobId: string | null, why: string, atMs: number): void {
    const kind = grant.ended === "voided" ? "void" : "expiry";
    const word = grant.ended === "voided" ? "voided" : "expired";
    this.store.appendLedger(
      kind,
      { allocated: -credits, grantId: grant.grant_id },
      jobId,
      `Grant ${grant.grant_id} (${grant.source}) ${word}: ${credits} credit(s) ${why}`,
      atMs,
    );
  }
}

/** A paid grant for credits that arrived without one (a refund beyond what grants paid, say). */
function creditsWithoutGrant(credits: number, reason: string, atMs: number): NewGrant {
  return {
    grant_id: crypto.randomUUID(),
    source: "paid",
    credits,
    priority: DEFAULT_GRANT_PRIORITY,
    expires_at_ms: null,
    created_at_ms: atMs,
    reason,
    external_ref: null,
    allowance_id: null,
    plan_period_ms: null,
    plan_kind: null,
  };
}

/** A row's moves as its ledger entry shows them, with each grant's source. */
function splitsOf(moves: readonly GrantMoveRow[], grants: GrantStore): GrantSplit[] {
  const sources = new Map<string, GrantSource>(grants.movableGrants().map((g) => [g.grant_id, g.source]));
  return moves.map((m) => ({
    grant_id: m.grant_id,
    source: m.grant_id === null ? null : (sources.get(m.grant_id) ?? grants.grant(m.grant_id)?.source ?? null),
    kind: m.kind,
    credits: m.credits,
  }));
}
