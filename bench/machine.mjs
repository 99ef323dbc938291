// What the run is on (machine, versions, git state), the load average, and the bundle size.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { REPO_ROOT, runWrangler } from "./lib/proc.mjs";

export async function bundleSize(tmp, logDir) {
  const outdir = join(tmp, "bundle");
  const run = await runWrangler(["deploy", "--dry-run", "--outdir", outdir], { logFile: join(logDir, "deploy-dry-run.log") });
  if (run.code !== 0) return { ok: false, reason: `wrangler deploy --dry-run exited ${run.code}: ${run.output.slice(-500)}` };
  const m = run.output.match(/Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/);
  let raw = 0;
  let gz = 0;
  const files = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir)) {
      const p = join(dir, entry);
      if (statSync(p).isDirectory()) walk(p);
      else if (!entry.endsWith(".map") && !entry.endsWith("README.md")) {
        const buf = readFileSync(p);
        raw += buf.length;
        const g = gzipSync(buf).length;
        gz += g;
        files.push({ file: p.slice(outdir.length + 1), bytes: buf.length, gzip_bytes: g });
      }
    }
  };
  walk(outdir);
  return {
    ok: true,
    wrangler_total_kib: m ? Number(m[1]) : null,
    wrangler_gzip_kib: m ? Number(m[2]) : null,
    raw_bytes: raw,
    gzip_bytes: gz,
    gzip_kib: gz / 1024,
    files,
  };
}

export function machine() {
  const cpus = os.cpus();
  const version = (pkg) => {
    try {
      return JSON.parse(readFileSync(join(REPO_ROOT, "node_modules", pkg, "package.json"), "utf8")).version;
    } catch {
      return null;
    }
  };
  let git = null;
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: REPO_ROOT }).toString().trim();
    const dirty = execFileSync(
      "git",
      ["status", "--porcelain", "--", "src", "wrangler.toml", "migrations", "mock-litellm", "package.json"],
      { cwd: REPO_ROOT },
    )
      .toString()
      .trim();
    git = { head, src_dirty: dirty.length > 0, dirty_files: dirty ? dirty.split("\n").map((l) => l.trim()) : [] };
  } catch {
    // not a git checkout
  }
  return {
    cpu: cpus[0]?.model ?? "unknown",
    cores: cpus.length,
    memory_gib: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    wrangler: version("wrangler"),
    workerd: version("@cloudflare/workerd-linux-64") ?? version("workerd"),
    autocannon: version("autocannon"),
    portkey: version("@portkey-ai/gateway"),
    git,
  };
}

export const loadavg = () => os.loadavg().map((x) => Number(x.toFixed(2)));
