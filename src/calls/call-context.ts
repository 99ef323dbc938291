import type { PriceLookup } from "../db/price-cache";
import type { Caller } from "../ledger/rules/access";
import type { CallAdmission } from "../ledger/types";
import type { CallLabels } from "./labels";

// What a call needs from the request it serves, in one value instead of positional arguments:
// the Worker's bindings, its background work, the client's connection, who asks, and how a model
// is priced (a narrow lookup: the calls never see the database).

/** The part of the Workers ExecutionContext a call needs: work that outlives the request. */
export interface BackgroundWork {
  waitUntil(promise: Promise<unknown>): void;
}

/**
 * Hands `promise` to `waitUntil` and returns it: the caller still awaits it, but a client that
 * leaves meanwhile no longer cancels it (a call's record must not die with its request).
 */
export function outliving<T>(work: BackgroundWork, promise: Promise<T>): Promise<T> {
  work.waitUntil(promise.catch(() => {}));
  return promise;
}

/**
 * The stage before upstream: given an admitted call and the body LiteLLM would be sent, it may
 * answer from elsewhere (a response cache) with a Response shaped as LiteLLM's would be; null
 * sends the call down its group's models. Its answer is read, metered and recorded like an
 * upstream one, its `source` in the model's place.
 */
export type AnswerSource = (
  call: AdmittedCall,
  body: Record<string, unknown>,
  stream: boolean,
) => Promise<{ source: string; response: Response } | null>;

export interface CallContext {
  /** The Worker's bindings: LiteLLM's address and key, the team objects, the end-of-stream wait. */
  env: Env;
  work: BackgroundWork;
  /** The client's connection: aborted when the client leaves. */
  signal?: AbortSignal;
  /** The team the key belongs to, and the key as its object checks it. */
  teamId: string;
  caller: Caller;
  /** A model's price, for a call LiteLLM reported no cost for. */
  prices: PriceLookup;
  /** Tried before LiteLLM when set; nothing sets it yet. */
  beforeUpstream?: AnswerSource;
}

/** A call the team's object admitted: what the rest of the pipeline runs and records. */
export interface AdmittedCall {
  teamId: string;
  jobId: string;
  /** Made before admission: the object keys the call's hold by it, and records the call under it. */
  callId: string;
  modelGroup: string;
  /** The group's models, priority first, as the team's object holds them. */
  models: string[];
  purpose: string | null;
  /** The request's tags, and its job's end user. */
  labels: CallLabels;
  admission: CallAdmission;
}
