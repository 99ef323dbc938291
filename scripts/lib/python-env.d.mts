export const REPO_ROOT: string;
export const INSTALLER: { in: string; lock: string };
export const PYTHON_ENVS: Record<string, { in: string; lock: string; venv: string; pythonVar?: string }>;
export interface PythonEnv {
  name: string;
  dir: string;
  python: string;
  bin(tool: string): string;
  reused: boolean;
  seconds: number;
}
export function ensurePythonEnv(name: string, options?: { log?: (msg: string) => void; python?: string }): Promise<PythonEnv>;
export function pythonEnvIsCurrent(name: string, options?: { python?: string }): Promise<boolean>;
export function findPython(override?: string): Promise<{ python: string; version: string }>;
export function pinnedVersion(lockPath: string, name: string): string | null;
