// CI check: is the committed worker-configuration.d.ts what `npm run cf-typegen` makes from
// wrangler.toml today? Regenerates it in place and compares. (`wrangler types --check` only
// compares a hash of the configuration, so it misses a hand-edited file.)
//
//   node scripts/check-worker-types.mjs      (npm run cf-typegen:check)
//
// Exits 1 when the file was stale: it has then been regenerated, and the fix is to commit it.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const TYPES_FILE = join(REPO_ROOT, "worker-configuration.d.ts");

const readTypes = () => {
  try {
    return readFileSync(TYPES_FILE, "utf8");
  } catch {
    return "";
  }
};

const before = readTypes();
const generate = spawnSync("npm", ["run", "--silent", "cf-typegen"], { cwd: REPO_ROOT, encoding: "utf8" });
if (generate.error || generate.status !== 0) {
  process.stderr.write(`${generate.stdout ?? ""}${generate.stderr ?? ""}`);
  process.stderr.write(`cf-typegen:check: "npm run cf-typegen" failed (${generate.error?.message ?? `exit ${generate.status}`})\n`);
  process.exit(2);
}
if (readTypes() !== before) {
  process.stderr.write("cf-typegen:check: worker-configuration.d.ts did not match wrangler.toml; it has been regenerated: commit it.\n");
  process.exit(1);
}
process.stdout.write("cf-typegen:check: worker-configuration.d.ts matches wrangler.toml\n");
