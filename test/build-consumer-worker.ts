import { execFileSync } from "node:child_process";
import path from "node:path";
import { CONSUMER_WORKER_DIR } from "../vitest.config";

// The consumer Worker (examples/consumer-worker) runs beside the gateway as an auxiliary Worker,
// which the vitest plugin needs as built JavaScript: build it the way `wrangler deploy` would.
export default function buildConsumerWorker() {
  const root = path.join(import.meta.dirname, "..");
  execFileSync(
    path.join(root, "node_modules", ".bin", "wrangler"),
    ["deploy", "--dry-run", "--outdir", CONSUMER_WORKER_DIR, "-c", path.join(root, "examples", "consumer-worker", "wrangler.toml")],
    { cwd: root, stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
  );
}
