// The official openai Python package for the e2e suite: a venv in .venv-openai/ (git-ignored)
// with the pinned, hash-checked requirements beside this file, reused while it holds the pinned
// version. Null (with the reason) when python3 or its venv module is missing.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

const REPO_ROOT = join(import.meta.dirname, "..", "..");
const VENV = join(REPO_ROOT, ".venv-openai");
const REQUIREMENTS = join(import.meta.dirname, "openai-python", "requirements.txt");
export const SDK_FLOW = join(import.meta.dirname, "openai-python", "sdk_flow.py");
const PINNED = "2.54.0";

export function openAIPython(): { python: string } | { missing: string } {
  const python = join(VENV, "bin", "python");
  const installed = existsSync(python) && spawnSync(python, ["-c", "import openai; print(openai.__version__)"], { encoding: "utf8" });
  if (installed && installed.stdout?.trim() === PINNED) return { python };
  const probe = spawnSync("python3", ["-c", "import venv"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) return { missing: "python3 with its venv module (apt-get install python3 python3-venv)" };
  const venv = spawnSync("python3", ["-m", "venv", "--clear", VENV], { encoding: "utf8" });
  if (venv.status !== 0) throw new Error(`python3 -m venv ${VENV} failed:\n${venv.stderr}`);
  const pip = spawnSync(join(VENV, "bin", "pip"), ["install", "--quiet", "--require-hashes", "--no-deps", "-r", REQUIREMENTS], {
    encoding: "utf8",
    timeout: 10 * 60_000,
  });
  if (pip.status !== 0) throw new Error(`installing the openai Python package failed:\n${pip.stderr || pip.stdout}`);
  return { python };
}
