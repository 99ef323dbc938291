// The real `npm start` (scripts/start.mjs → wrangler dev + the mock LiteLLM) for the end-to-end
// suites: a free PORT and a fresh GATEWAY_STATE_DIR (both honoured by scripts/start.mjs), and no
// LITELLM_BASE_URL / ADMIN_API_KEY / KEY_PEPPER, so it uses its local-development defaults: the
// seed's admin key and the in-process mock LiteLLM. It runs in its own process group, stopped with
// SIGTERM at the end; stopNpmStart then checks that nothing is left listening.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect, onTestFailed } from "vitest";
import { freePort, isListening, signalGroup } from "../../scripts/lib/processes.mjs";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");
export const SEED_ADMIN_KEY = "sk-admin-key-change-me";
const READY_LINE = "Press Ctrl-C to stop.";
const STARTUP_TIMEOUT_MS = 200_000;
export const STOP_TIMEOUT_MS = 30_000;

export interface Server {
  proc: ChildProcess;
  port: number;
  /** The seed's clients use http://localhost:8003/api; only the port differs here. */
  apiUrl: string;
  mockUrl: string;
  stateDir: string;
  output: () => string;
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startNpmStart(): Promise<Server> {
  const port = await freePort();
  const stateDir = mkdtempSync(join(tmpdir(), "gateway-e2e-state-"));
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), GATEWAY_STATE_DIR: stateDir };
  for (const name of ["LITELLM_BASE_URL", "LITELLM_API_KEY", "ADMIN_API_KEY", "KEY_PEPPER", "MOCK_LITELLM_PORT"]) delete env[name];

  const proc = spawn("npm", ["start"], { cwd: REPO_ROOT, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  proc.stdout!.setEncoding("utf8").on("data", (d: string) => (output += d));
  proc.stderr!.setEncoding("utf8").on("data", (d: string) => (output += d));
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    proc.once("close", (code, signal) => r({ code, signal })),
  );
  let exited = false;
  void closed.then(() => (exited = true));

  const started = Date.now();
  while (!output.includes(READY_LINE)) {
    if (exited) throw new Error(`npm start exited before it was ready. Its output:\n${output}`);
    if (Date.now() - started > STARTUP_TIMEOUT_MS) {
      signalGroup(proc.pid, "SIGTERM");
      throw new Error(`npm start was not ready within ${STARTUP_TIMEOUT_MS} ms. Its output:\n${output}`);
    }
    await sleep(200);
  }
  const mockUrl = /MOCK LiteLLM at (http:\/\/\S+)/.exec(output)?.[1];
  if (!mockUrl) throw new Error(`npm start did not say where the mock LiteLLM is. Its output:\n${output}`);
  return { proc, port, apiUrl: `http://localhost:${port}/api`, mockUrl, stateDir, output: () => output, closed };
}

/**
 * SIGTERM to npm start's group, then checks that it stopped in time, said so, and left nothing
 * listening (wrangler's process group and the mock must be gone, not orphaned). Removes its state.
 */
export async function stopNpmStart(s: Server): Promise<void> {
  signalGroup(s.proc.pid, "SIGTERM");
  const timedOut = await Promise.race([s.closed.then(() => false), sleep(STOP_TIMEOUT_MS).then(() => true)]);
  if (timedOut) signalGroup(s.proc.pid, "SIGKILL");
  await s.closed;
  try {
    expect(timedOut, `npm start did not stop within ${STOP_TIMEOUT_MS} ms of SIGTERM`).toBe(false);
    expect(s.output()).toContain("SIGTERM received: stopping wrangler dev and the mock LiteLLM");
    const mockPort = Number(new URL(s.mockUrl).port);
    let leftovers: number[] = [];
    for (let i = 0; i < 20; i++) {
      leftovers = [];
      for (const p of [s.port, mockPort]) if (await isListening(p)) leftovers.push(p);
      if (leftovers.length === 0) break;
      await sleep(250);
    }
    expect(leftovers, "ports still listening after npm start stopped").toEqual([]);
  } catch (error) {
    console.error(`---- npm start output ----\n${s.output()}\n---- end ----`);
    throw error;
  } finally {
    rmSync(s.stateDir, { recursive: true, force: true });
  }
}

/** On failure, show what the server printed (wrangler's log includes one line per request). */
export function dumpServerLogOnFailure(server: Server | undefined) {
  onTestFailed(() => {
    console.error(`---- npm start output ----\n${server?.output() ?? "(not started)"}\n---- end ----`);
  });
}

// test/**/*.test.ts also matches the e2e files, so the workerd config (vitest.config.ts) collects
// them unless it excludes test/e2e/**: there they cannot spawn processes, so they skip themselves.
export const inWorkerd = (globalThis as any).navigator?.userAgent === "Cloudflare-Workers";
