import {
  DEFAULT_GRANT_PRIORITY,
  GRANT_SOURCES,
  type GrantStatus,
  MAX_EXTERNAL_REF_CHARS,
  MAX_GRANT_PRIORITY,
  MIN_GRANT_PRIORITY,
} from "../../schemas/grants";
import { type GrantRequest, type Refusal, refusal } from "../types";

// Credits as grants, the way billing engines keep them: each grant has a source, a priority and
// an optional expiry, and every charge draws on the grants in one fixed order (burnOrder). What
// the team's open jobs hold draws on them in the same order, which matters only when a grant
// ends while jobs hold: the part of it their holds draw on stays with those jobs until they end
// (heldFromEndingGrant). Pure rules here; the rows are in store/grant-store.ts, the steps that
// apply them in changes/grant-ledger.ts and changes/grants.ts.

/** What the burn-down order reads of a grant. */
export interface OrderedGrant {
  grant_id: string;
  priority: number;
  expires_at_ms: number | null;
  /** Creation order: the lower, the older. */
  seq: number;
}

/**
 * The burn-down order: lowest priority number first, then the soonest expiry (a grant that
 * never expires comes after every one that does), then the oldest.
 */
export function burnOrder(a: OrderedGrant, b: OrderedGrant): number {
  if (a.priority !== b.priority) return a.priority - b.priority;
  const aExpiry = a.expires_at_ms ?? Number.POSITIVE_INFINITY;
  const bExpiry = b.expires_at_ms ?? Number.POSITIVE_INFINITY;
  if (aExpiry !== bExpiry) return aExpiry < bExpiry ? -1 : 1;
  return a.seq - b.seq;
}

/** Credits taken from (negative) or given to (positive) one grant. */
export interface GrantDraw {
  grant_id: string;
  credits: number;
}

/**
 * Takes `credits` from grants already in burn-down order, each down to zero at most. Returns the
 * draws (negative amounts) and what no grant could pay (an overdraft, under `overdraft: bounded`).
 */
export function drawDown(ordered: ReadonlyArray<{ grant_id: string; remaining: number }>, credits: number) {
  const draws: GrantDraw[] = [];
  let left = credits;
  for (const grant of ordered) {
    if (left <= 0) break;
    const take = Math.min(left, grant.remaining);
    if (take <= 0) continue;
    draws.push({ grant_id: grant.grant_id, credits: -take });
    left -= take;
  }
  return { draws, shortfall: left };
}

/** A job that holds credits, with how many of its whole held credits no ended grant covers yet. */
export interface HoldingJob {
  job_id: string;
  uncovered: number;
}

/**
 * When a grant ends (expires or is voided) while jobs hold credits: which jobs' holds draw on
 * it, and how much. Holds draw on the live grants in burn-down order, the oldest job first, so
 * the ending grant funds the part of them that the grants before it in that order do not. What
 * it funds stays with those jobs until they end; the rest of it leaves the balance now.
 * `ordered` is every live grant in burn-down order, the ending one among them; `jobs` oldest first.
 */
export function heldFromEndingGrant(
  ordered: ReadonlyArray<{ grant_id: string; remaining: number }>,
  endingId: string,
  jobs: readonly HoldingJob[],
): Array<{ job_id: string; credits: number }> {
  let before = 0;
  let ending: { remaining: number } | null = null;
  for (const grant of ordered) {
    if (grant.grant_id === endingId) {
      ending = grant;
      break;
    }
    before += Math.max(0, grant.remaining);
  }
  if (!ending || ending.remaining <= 0) return [];
  const from = before;
  const to = before + ending.remaining;
  const held: Array<{ job_id: string; credits: number }> = [];
  let position = 0;
  for (const job of jobs) {
    const start = position;
    const end = position + Math.max(0, job.uncovered);
    position = end;
    const overlap = Math.min(end, to) - Math.max(start, from);
    if (overlap > 0) held.push({ job_id: job.job_id, credits: overlap });
    if (position >= to) break;
  }
  return held;
}

/** When a grant is announced as expiring: `notice` before its expiry, unless that is not after it was made (then never). */
export function expiringNoticeAtMs(grant: { expires_at_ms: number | null; created_at_ms: number }, noticeSeconds: number): number | null {
  if (grant.expires_at_ms === null || noticeSeconds <= 0) return null;
  const at = grant.expires_at_ms - noticeSeconds * 1000;
  return at > grant.created_at_ms ? at : null;
}

export function grantStatusOf(grant: { remaining: number; ended: "expired" | "voided" | null }): GrantStatus {
  if (grant.ended) return grant.ended;
  return grant.remaining > 0 ? "active" : "depleted";
}

/** Why a grant cannot be made as asked (checked here too: the object is reachable by RPC), or null. */
export function refuseGrantRequest(r: GrantRequest, nowMs: number): Refusal | null {
  if (!Number.isSafeInteger(r.credits) || r.credits <= 0) return refusal("INVALID_ARGUMENT", "credits must be a positive integer");
  if (!GRANT_SOURCES.includes(r.source)) return refusal("INVALID_ARGUMENT", `source must be one of ${GRANT_SOURCES.join(", ")}`);
  if (r.priority !== null && !validPriority(r.priority)) {
    return refusal("INVALID_ARGUMENT", `priority must be an integer from ${MIN_GRANT_PRIORITY} to ${MAX_GRANT_PRIORITY}`);
  }
  if (r.expiresAtMs !== null && !(r.expiresAtMs > nowMs)) return refusal("INVALID_ARGUMENT", "expires_at must be in the future");
  if (r.externalRef !== null && (r.externalRef.length === 0 || r.externalRef.length > MAX_EXTERNAL_REF_CHARS)) {
    return refusal("INVALID_ARGUMENT", `external_ref must be 1 to ${MAX_EXTERNAL_REF_CHARS} characters`);
  }
  return null;
}

export function validPriority(priority: number): boolean {
  return Number.isInteger(priority) && priority >= MIN_GRANT_PRIORITY && priority <= MAX_GRANT_PRIORITY;
}

/** Whether a request asks for the grant already made under its external_ref (so it answers that grant), by its terms. */
export function sameGrantTerms(
  grant: { credits: number; source: string; expires_at_ms: number | null; priority: number },
  request: GrantRequest,
): boolean {
  return (
    grant.credits === request.credits &&
    grant.source === request.source &&
    grant.expires_at_ms === request.expiresAtMs &&
    grant.priority === (request.priority ?? DEFAULT_GRANT_PRIORITY)
  );
}
