// Process helpers shared by the scripts that start servers (npm start, the LiteLLM and schema
// suites, the bench, the end-to-end test). Every server runs as the leader of its own process
// group, so signalling the group also reaches what it started (wrangler's workerd children).
import { createConnection, createServer } from "node:net";

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolvePort(port));
    });
  });
}

/** Sends `signal` to the process group led by `pid`; a group that is already gone is fine. */
export function signalGroup(pid, signal) {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/** Whether something accepts connections on 127.0.0.1:`port` now. */
export function isListening(port) {
  return new Promise((resolveListening) => {
    const socket = createConnection({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.destroy();
      resolveListening(true);
    });
    socket.once("error", () => resolveListening(false));
  });
}
