// A job's tags: those of its calls, gathered as they are recorded. Pure.

/** Distinct tags a job gathers from its calls; later ones are recorded on their calls only. */
export const MAX_TAGS_PER_JOB = 32;

/** A job's tags once a call's are added: each once, in the order first seen, at most MAX_TAGS_PER_JOB. */
export function jobTagsWith(jobTags: string[], callTags: string[]): string[] {
  return [...new Set([...jobTags, ...callTags])].slice(0, MAX_TAGS_PER_JOB);
}
