// Child processes for the bench: each in its own process group, so stopping one also stops
// what it started (wrangler's workerd children). Only groups started here are ever signalled.
import { spawn } from "node:child_process";
import { createWriteStream, existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { freePort, signalGroup } from "../../scripts/lib/processes.mjs";

export const REPO_ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
export const WRANGLER_JS = join(REPO_ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
const PINNED_NODE = join(REPO_ROOT, "node_modules", ".bin", "node");

const live = new Set();

export function nodeForWrangler() {
  const [major, minor] = process.versions.node.split(".").map(Number);
  if (major > 22 || (major === 22 && minor >= 12)) return process.execPath;
  if (existsSync(PINNED_NODE)) return PINNED_NODE;
  throw new Error(`wrangler needs Node >= 22.12 (this is ${process.versions.node}); run "npm install" and "npm run bench"`);
}

export { freePort };

/**
 * Starts a command detached (own process group), its output appended to logFile.
 * Returns { child, exited, logFile, stop(), onLine(fn) }.
 */
export function startGroup(cmd, args, { logFile, env = {}, cwd = REPO_ROOT } = {}) {
  const child = spawn(cmd, args, {
    cwd,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      PATH: `${dirname(PINNED_NODE)}:${process.env.PATH ?? ""}`,
      WRANGLER_SEND_METRICS: "false",
      NO_COLOR: "1",
      FORCE_COLOR: "0",
      ...env,
    },
  });
  live.add(child);
  const out = logFile ? createWriteStream(logFile, { flags: "a" }) : null;
  const listeners = [];
  let buffered = "";
  const onData = (chunk) => {
    out?.write(chunk);
    if (listeners.length === 0) return;
    buffered += chunk.toString("utf8");
    let nl;
    while ((nl = buffered.indexOf("\n")) !== -1) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      for (const fn of listeners) fn(line);
    }
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const exited = new Promise((resolve) => {
    child.once("error", (error) => resolve({ code: null, signal: null, error }));
    child.once("exit", (code, signal) => {
      live.delete(child);
      signalGroup(child.pid, "SIGKILL"); // stragglers (workerd) must not outlive the leader
      resolve({ code, signal, error: null });
    });
  }).finally(() => out?.end());
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return exited;
    signalGroup(child.pid, "SIGTERM");
    const timer = setTimeout(() => signalGroup(child.pid, "SIGKILL"), 5000);
    const result = await exited;
    clearTimeout(timer);
    return result;
  };
  return { child, exited, logFile, stop, onLine: (fn) => listeners.push(fn) };
}

/** Runs `wrangler <args>` to completion; resolves with its exit and output. */
export async function runWrangler(args, { logFile, timeoutMs = 180_000 } = {}) {
  const proc = startGroup(nodeForWrangler(), [WRANGLER_JS, ...args], { logFile });
  let output = "";
  proc.onLine((line) => {
    output += `${line}\n`;
  });
  const timer = setTimeout(() => proc.stop(), timeoutMs);
  const exit = await proc.exited;
  clearTimeout(timer);
  return { ...exit, output };
}

export function startWranglerDev(args, { logFile }) {
  return startGroup(nodeForWrangler(), [WRANGLER_JS, "dev", ...args], { logFile });
}

export async function stopAll() {
  await Promise.all(
    [...live].map(async (child) => {
      signalGroup(child.pid, "SIGTERM");
      await new Promise((resolve) => {
        const timer = setTimeout(() => {
          signalGroup(child.pid, "SIGKILL");
          resolve();
        }, 5000);
        child.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        if (child.exitCode !== null || child.signalCode !== null) {
          clearTimeout(timer);
          resolve();
        }
      });
    }),
  );
}

process.on("exit", () => {
  for (const child of live) signalGroup(child.pid, "SIGKILL");
});

export function tail(file, chars = 3000) {
  try {
    const text = readFileSync(file, "utf8");
    return text.slice(-chars);
  } catch {
    return "(no log)";
  }
}
