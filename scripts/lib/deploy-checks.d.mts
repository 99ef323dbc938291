export function unreachableHostReason(host: string): string | null;
export function deployProblems(config: {
  vars?: Record<string, unknown>;
  d1_databases?: { binding: string; database_name?: string; database_id?: string }[];
}): string[];
