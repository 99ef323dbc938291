import type { TokenPrice } from "../db/price-cache";
import { DEFAULT_MAX_TOKENS, worstCase } from "../ledger/rules/holds";
import { MICRO_PER_CREDIT } from "../ledger/rules/money";
import type { AdmissionOutlook, CallAdmission } from "../ledger/types";

// What this isolate has seen of each team's admissions, so that a call can go upstream while its
// admission is still on its way to the team's object (pipeline.ts: admitAndOpen). Nothing reaches
// the client before the object says yes; what this decides is only whether the upstream request
// may start early. It may for a key whose last admission here succeeded recently, in a team that
// has not refused since, whose credit then left room for this call's hold (and no grant of the
// team has expired or renewed since: the object says when its grants next change its credit), and whose budgets over
// the call (its key's, its end user's) did too: a team, key or end user that is being refused
// cannot turn speculation into upstream load. The object decides every call as before.

/** How long an admission that succeeded here lets its key's next calls start before theirs comes. */
export const SPECULATION_WINDOW_MS = 30_000;
/** Teams and jobs remembered, the least recently used forgotten first. */
const CAPACITY = 4096;
/** End users remembered per team. */
const END_USERS_KEPT = 256;

/** Whether a budget's room takes `heldMicro` more (null: no budget, no limit). */
const fits = (room: Room | null | undefined, heldMicro: number) => !room || heldMicro <= room.roomMicro - room.speculatedMicro;

/** What a call is being admitted for, as the isolate can tell before asking. */
export interface Admitting {
  teamId: string;
  keyHash: string;
  jobId: string;
  /** The job's attribution when the request itself opens the job (a one-request job); else what this isolate saw of the job. */
  job?: JobFacts;
  modelGroup: string;
  /** The call's worst case, as its hold is worked out from. */
  estimate: { promptTokens: number; maxTokens: number | null; choices: number };
}

/** What a job's calls are attributed with upstream, and the end user whose budget counts them; a job's never change. */
export interface JobFacts {
  jobType: string;
  userId: string | null;
  endUser: string | null;
}

/** A call sent upstream before its admission: the admission expected, and the credit counted on for it (by its team, key and end user). */
export interface Speculation {
  teamId: string;
  keyHash: string;
  endUser: string | null;
  admission: CallAdmission;
  heldMicro: number;
}

/** A budget's room as the last admission told it, less what this isolate's speculations count on. */
interface Room {
  roomMicro: number;
  speculatedMicro: number;
}

interface KeySight {
  /** When an admission of the key last succeeded here. */
  admittedAt: number;
  /** Its budget's room then (null: the key has no budget). */
  budget: Room | null;
}

interface TeamSight {
  /** Key hash → what the key's last admission here said. */
  keys: Map<string, KeySight>;
  /** End user → their budget's room, when the team gives end users budgets. */
  endUsers: Recent<string, Room>;
  outlook: AdmissionOutlook;
  markupPercentage: number;
  /** Group → its models, priority first, as the object last answered them. */
  groups: Map<string, string[]>;
  /** Group → the price its holds were worked out at when they carried credit (null: none, or unpriced). */
  prices: Map<string, TokenPrice | null>;
  /** The max_tokens the object chose for the last call that had none (undefined: none seen). */
  clamp?: number | null;
  /** Credit counted on by this isolate's speculations still waiting for their admission. */
  speculatedMicro: number;
}

/** A Map that forgets its least recently used entry beyond `capacity`. */
class Recent<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly capacity: number) {}

  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as K);
  }

  delete(key: K): void {
    this.entries.delete(key);
  }
}

export class AdmissionSight {
  private readonly teams = new Recent<string, TeamSight>(CAPACITY);
  private readonly jobs = new Recent<string, JobFacts>(CAPACITY);

  constructor(
    private readonly now: () => number = () => Date.now(),
    private readonly windowMs = SPECULATION_WINDOW_MS,
  ) {}

  /**
   * The admission this isolate expects for the call, counted against the credit it saw free; null
   * when the call must be admitted before it goes upstream.
   */
  expect(call: Admitting, opensJob = false): Speculation | null {
    const team = this.teams.get(call.teamId);
    if (!team?.outlook.speculative) return null;
    // Past the moment the team's grants change its credit (an expiry, a renewal), the credit seen is not known.
    const { freeUntilMs } = team.outlook;
    if (freeUntilMs !== null && this.now() >= freeUntilMs) return null;
    const key = team.keys.get(call.keyHash);
    if (key === undefined || this.now() - key.admittedAt > this.windowMs) return null;
    const models = team.groups.get(call.modelGroup);
    const job = call.job ?? this.jobs.get(call.jobId);
    if (!models || !job) return null;
    // An end user with a budget this isolate has not seen admitted: the object is asked first.
    const endUserBudgeted = job.endUser !== null && team.outlook.budgets.endUsersBudgeted;
    const endUser = endUserBudgeted ? team.endUsers.get(job.endUser!) : undefined;
    if (endUserBudgeted && endUser === undefined) return null;
    const { promptTokens, maxTokens, choices } = call.estimate;
    // A call without max_tokens is sent with the one the object chose last; a lower one now means a resend.
    if (maxTokens === null && team.clamp === undefined) return null;
    const budgetMaxTokens = maxTokens === null ? (team.clamp ?? null) : null;
    let heldMicro = opensJob ? MICRO_PER_CREDIT : 0;
    const holds = team.outlook.holds;
    // A call holds its worst case under `overdraft: none`, and whenever a budget is over it.
    if (holds && (holds.team || key.budget !== null || endUser !== undefined)) {
      const price = team.prices.get(call.modelGroup) ?? null;
      const worst = worstCase(holds.settings, price, promptTokens, (maxTokens ?? budgetMaxTokens ?? DEFAULT_MAX_TOKENS) * choices);
      if (worst === null) return null;
      heldMicro += worst.holdMicro;
    }
    const teamRoom = { roomMicro: team.outlook.freeMicro, speculatedMicro: team.speculatedMicro };
    if (!fits(teamRoom, heldMicro) || !fits(key.budget, heldMicro) || !fits(endUser, heldMicro)) return null;
    team.speculatedMicro += heldMicro;
    if (key.budget) key.budget.speculatedMicro += heldMicro;
    if (endUser) endUser.speculatedMicro += heldMicro;
    const admission: CallAdmission = {
      jobType: job.jobType,
      userId: job.userId,
      endUser: job.endUser,
      markupPercentage: team.markupPercentage,
      budgetMaxTokens,
      models,
      // A group with a response cache is never expected (admitted() forgets it): the call went upstream without one.
      cache: null,
      outlook: team.outlook,
    };
    return { teamId: call.teamId, keyHash: call.keyHash, endUser: endUser ? job.endUser : null, heldMicro, admission };
  }

  /** The team's object admitted the call: what it answered is what the next call expects. */
  admitted(call: Admitting, admission: CallAdmission): void {
    const now = this.now();
    const team: TeamSight = this.teams.get(call.teamId) ?? {
      keys: new Map(),
      endUsers: new Recent(END_USERS_KEPT),
      outlook: admission.outlook,
      markupPercentage: admission.markupPercentage,
      groups: new Map(),
      prices: new Map(),
      speculatedMicro: 0,
    };
    const { budgets } = admission.outlook;
    // What this isolate's speculations still count on stays counted against the fresh rooms.
    const speculating = (room: Room | null | undefined) => room?.speculatedMicro ?? 0;
    const key = team.keys.get(call.keyHash);
    team.keys.set(call.keyHash, {
      admittedAt: now,
      budget: budgets.keyRoomMicro === null ? null : { roomMicro: budgets.keyRoomMicro, speculatedMicro: speculating(key?.budget) },
    });
    if (admission.endUser !== null && budgets.endUserRoomMicro !== null) {
      const endUser = team.endUsers.get(admission.endUser);
      team.endUsers.set(admission.endUser, { roomMicro: budgets.endUserRoomMicro, speculatedMicro: speculating(endUser) });
    }
    team.outlook = admission.outlook;
    team.markupPercentage = admission.markupPercentage;
    // A group with a response cache is admitted first: a hit needs no upstream request, and a miss is kept in the cache.
    if (admission.cache === null) team.groups.set(call.modelGroup, admission.models);
    else team.groups.delete(call.modelGroup);
    team.prices.set(call.modelGroup, admission.outlook.holds?.price ?? null);
    if (call.estimate.maxTokens === null) team.clamp = admission.budgetMaxTokens;
    this.teams.set(call.teamId, team);
    this.jobs.set(call.jobId, { jobType: admission.jobType, userId: admission.userId, endUser: admission.endUser });
  }

  /** The team's object refused a call of the team: no call of it starts early until one is admitted again. */
  refused(teamId: string): void {
    this.teams.delete(teamId);
  }

  /** A job this isolate opened: its calls are attributed with these facts. */
  jobOpened(jobId: string, job: JobFacts): void {
    this.jobs.set(jobId, job);
  }

  /** A speculation's admission has come back (either way): the credit it counted on is no longer counted. */
  settled(speculation: Speculation): void {
    const team = this.teams.get(speculation.teamId);
    if (!team) return;
    const release = (room: Room | null | undefined) => {
      if (room) room.speculatedMicro = Math.max(0, room.speculatedMicro - speculation.heldMicro);
    };
    team.speculatedMicro = Math.max(0, team.speculatedMicro - speculation.heldMicro);
    release(team.keys.get(speculation.keyHash)?.budget);
    if (speculation.endUser !== null) release(team.endUsers.get(speculation.endUser));
  }
}

/**
 * Whether a call sent upstream on what was expected may go on under what the object admitted:
 * the same models, attribution and job, and no more tokens than the object allows (a lower
 * max_tokens than the object chose is within its hold). Otherwise it is aborted and sent again.
 */
export function speculationHolds(expected: CallAdmission, admitted: CallAdmission): boolean {
  const sameModels = expected.models.length === admitted.models.length && expected.models.every((m, i) => m === admitted.models[i]);
  const clampFits =
    expected.budgetMaxTokens === admitted.budgetMaxTokens ||
    (expected.budgetMaxTokens !== null && admitted.budgetMaxTokens !== null && expected.budgetMaxTokens <= admitted.budgetMaxTokens);
  const sameJob = expected.jobType === admitted.jobType && expected.userId === admitted.userId && expected.endUser === admitted.endUser;
  return sameModels && clampFits && sameJob;
}

/** This isolate's sight, shared by every request it serves. */
export const admissionSight = new AdmissionSight();
