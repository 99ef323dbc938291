// `npm start` killed outright: SIGKILL to the launcher (scripts/start.mjs), which can run no
// handler, must still take wrangler dev and workerd down with it, so the port is freed and no
// gateway keeps answering without its mock LiteLLM.
//
// Run: npx vitest run -c vitest.e2e.config.ts test/e2e/start-killed.e2e.test.ts
//
// Every process this test starts inherits GATEWAY_E2E_MARK (a fresh value): that is how the
// launcher is found, and how the test tells which processes are left (and, if any are, ends
// exactly those, by pid).
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, expect, it } from "vitest";
import { freePort, isListening } from "../../scripts/lib/processes.mjs";

const REPO_ROOT = resolve(import.meta.dirname, "../..");
const READY_LINE = "Press Ctrl-C to stop.";
const STARTUP_TIMEOUT_MS = 200_000;
const GONE_TIMEOUT_MS = 20_000;
const MARK = `start-killed-${crypto.randomUUID()}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The processes carrying this test's mark in their environment, with their arguments. */
function markedProcesses(): Array<{ pid: number; command: string; argv: string[] }> {
  const found: Array<{ pid: number; command: string; argv: string[] }> = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, "utf8");
      if (!environ.split("\0").includes(`GATEWAY_E2E_MARK=${MARK}`)) continue;
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").filter(Boolean);
      found.push({ pid: Number(entry), command: argv.join(" "), argv });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

const stateDir = mkdtempSync(join(tmpdir(), "gateway-killed-state-"));

afterAll(() => {
  // Whatever this test started and is still there (only when the test failed): ended by pid.
  for (const { pid } of markedProcesses()) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  rmSync(stateDir, { recursive: true, force: true });
});

it("SIGKILL to the launcher frees the port and leaves no wrangler or workerd behind", async () => {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), GATEWAY_STATE_DIR: stateDir, GATEWAY_E2E_MARK: MARK };
  for (const name of ["LITELLM_BASE_URL", "LITELLM_API_KEY", "ADMIN_API_KEY", "KEY_PEPPER", "MOCK_LITELLM_PORT"]) delete env[name];
  const npm = spawn("npm", ["start"], { cwd: REPO_ROOT, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  npm.stdout!.setEncoding("utf8").on("data", (d: string) => (output += d));
  npm.stderr!.setEncoding("utf8").on("data", (d: string) => (output += d));

  const started = Date.now();
  while (!output.includes(READY_LINE)) {
    if (npm.exitCode !== null) throw new Error(`npm start exited before it was ready:\n${output}`);
    if (Date.now() - started > STARTUP_TIMEOUT_MS) throw new Error(`npm start was not ready in time:\n${output}`);
    await sleep(200);
  }
  expect(await isListening(port)).toBe(true);
  const before = markedProcesses();
  expect(
    before.some((p) => /workerd/.test(p.command)),
    JSON.stringify(before, null, 1),
  ).toBe(true);

  // npm runs `sh -c "node scripts/start.mjs"`: the launcher is the node process.
  const launcher = before.filter((p) => /(^|\/)node$/.test(p.argv[0]) && /scripts\/start\.mjs$/.test(p.argv[1] ?? ""));
  expect(launcher, JSON.stringify(before, null, 1)).toHaveLength(1);
  process.kill(launcher[0].pid, "SIGKILL");

  let left = markedProcesses();
  let listening = true;
  for (const deadline = Date.now() + GONE_TIMEOUT_MS; Date.now() < deadline; await sleep(250)) {
    left = markedProcesses();
    listening = await isListening(port);
    if (left.length === 0 && !listening) break;
  }
  expect(listening, `port ${port} still listening after the launcher was killed`).toBe(false);
  expect(left, "processes left after the launcher was killed").toEqual([]);
});
