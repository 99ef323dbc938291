import type { AdmittedCall } from "../call-context";

// What the gateway sends to LiteLLM besides a dialect's whitelisted parameters (so nothing a
// client sends can redirect the upstream or carry credentials): attribution for LiteLLM's logs.

export interface Attribution {
  teamId: string;
  organizationId?: string;
  jobId: string;
  jobType: string;
  purpose: string | null;
  endUser: string | null;
  tags: string[];
  callId: string;
}

export function attributionOf(call: AdmittedCall): Attribution {
  return {
    teamId: call.teamId,
    jobId: call.jobId,
    jobType: call.admission.jobType,
    purpose: call.purpose,
    endUser: call.labels.endUser,
    tags: call.labels.tags,
    callId: call.callId,
  };
}

/** What LiteLLM's spend logs attribute a call by: its team, job, purpose, end user and tags. */
export function litellmMetadata(attribution: Attribution): Record<string, unknown> {
  return {
    team_id: attribution.teamId,
    job_id: attribution.jobId,
    job_type: attribution.jobType,
    purpose: attribution.purpose,
    call_id: attribution.callId,
    ...(attribution.endUser ? { end_user: attribution.endUser } : {}),
    tags: [`team:${attribution.teamId}`, `job_type:${attribution.jobType}`, ...attribution.tags],
  };
}

/** `user` and LiteLLM `metadata` (the OpenAI-shaped routes), so LiteLLM's own spend logs attribute a call to its team and job. */
export function attributionFields(attribution: Attribution): { user: string; metadata: Record<string, unknown> } {
  return { user: attribution.teamId, metadata: litellmMetadata(attribution) };
}

/** The parameters of `params` named in `forwarded` (those present, as they are), and nothing else. */
export function whitelisted<P extends object>(params: P, forwarded: readonly (keyof P)[]): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const name of forwarded) if (params[name] !== undefined) kept[name as string] = params[name];
  return kept;
}
