// `npm start` (wrangler dev + the mock LiteLLM) on a free port with a fresh state folder, in its
// own process group, for the browser suite. Local-development defaults: the seed's admin key.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort, signalGroup } from "../../scripts/lib/processes.mjs";

const REPO_ROOT = resolve(import.meta.dirname, "../..");
const READY_LINE = "Press Ctrl-C to stop.";
const STARTUP_TIMEOUT_MS = 200_000;
const STOP_TIMEOUT_MS = 30_000;
export const LOCAL_ADMIN_KEY = "sk-admin-key-change-me";

export interface Gateway {
  /** http://127.0.0.1:<port> */
  origin: string;
  output: () => string;
  stop: () => Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startGateway(): Promise<Gateway> {
  const port = await freePort();
  const stateDir = mkdtempSync(join(tmpdir(), "gateway-browser-state-"));
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), GATEWAY_STATE_DIR: stateDir };
  for (const name of ["LITELLM_BASE_URL", "LITELLM_API_KEY", "ADMIN_API_KEY", "KEY_PEPPER", "MOCK_LITELLM_PORT"]) delete env[name];
  const proc: ChildProcess = spawn("npm", ["start"], { cwd: REPO_ROOT, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  proc.stdout!.setEncoding("utf8").on("data", (d: string) => (output += d));
  proc.stderr!.setEncoding("utf8").on("data", (d: string) => (output += d));
  const closed = new Promise<void>((r) => proc.once("close", () => r()));
  let exited = false;
  void closed.then(() => (exited = true));

  const stop = async () => {
    signalGroup(proc.pid, "SIGTERM");
    const timedOut = await Promise.race([closed.then(() => false), sleep(STOP_TIMEOUT_MS).then(() => true)]);
    if (timedOut) signalGroup(proc.pid, "SIGKILL");
    await closed;
    rmSync(stateDir, { recursive: true, force: true });
  };

  const started = Date.now();
  while (!output.includes(READY_LINE)) {
    if (exited) throw new Error(`npm start exited before it was ready. Its output:\n${output}`);
    if (Date.now() - started > STARTUP_TIMEOUT_MS) {
      await stop();
      throw new Error(`npm start was not ready within ${STARTUP_TIMEOUT_MS} ms. Its output:\n${output}`);
    }
    await sleep(200);
  }
  return { origin: `http://127.0.0.1:${port}`, output: () => output, stop };
}
