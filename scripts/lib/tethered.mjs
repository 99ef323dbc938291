// Runs a command tethered to the process that started this one, however that process ends:
//
//   node scripts/lib/tethered.mjs <command> [args...]
//
// Started detached (the leader of its own process group, so the command and everything it
// starts, e.g. wrangler's workerd, are in that group) with its stdin a pipe from the starter,
// which never writes to it. When the starter goes away, by any means (SIGKILL included), the
// system closes that pipe: this process then kills its whole group. Signals sent to the group
// reach the command directly; this process waits for the command and exits as it did. No npm
// dependencies; runs on Node >= 20.
import { spawn } from "node:child_process";
import { fstatSync } from "node:fs";

const [command, ...args] = process.argv.slice(2);
if (!command) {
  process.stderr.write("usage: node tethered.mjs <command> [args...]\n");
  process.exit(2);
}

function killGroup() {
  try {
    process.kill(-process.pid, "SIGKILL");
  } catch {
    process.exit(1); // not a group leader (started without detached): at least do not linger
  }
}

// The command gets no stdin (not a terminal: wrangler skips its prompts and hotkeys).
const child = spawn(command, args, { stdio: ["ignore", "inherit", "inherit"] });

// The starter's end of the pipe closed: the starter is gone. (Only a pipe tells that: stdin from
// /dev/null or a terminal is not watched.)
const stdin = fstatSync(0);
if (stdin.isFIFO() || stdin.isSocket()) {
  process.stdin.on("end", killGroup);
  process.stdin.on("error", killGroup);
  process.stdin.resume();
}

// The group's signals are for the command (it got them too); this process waits for it to end.
const GROUP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"];
for (const signal of GROUP_SIGNALS) process.on(signal, () => {});

child.once("error", (error) => {
  process.stderr.write(`${command} could not be started: ${error.message}\n`);
  process.exit(127);
});

child.once("exit", (code, signal) => {
  if (signal) {
    // Exit as the command did, so the starter sees the same signal.
    for (const s of GROUP_SIGNALS) process.removeAllListeners(s);
    process.kill(process.pid, signal);
    return;
  }
  process.exit(code ?? 1);
});
