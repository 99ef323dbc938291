// Regenerates the Python locks from their .in files with the pinned pip-compile.
//
//   npm run locks:python                          every lock, keeping each pin that still fits
//   npm run locks:python -- litellm               one lock (after editing litellm/requirements.in)
//   npm run locks:python -- --upgrade schemathesis  the newest versions its .in allows
//
// Names: installer (the pinned pip), lock-tools (pip-tools itself), and every env of
// scripts/lib/python-env.mjs (litellm, schemathesis, openai-python). pip-compile runs from
// .venv-lock-tools/, itself built from python/lock-tools.txt like any other env, and writes the
// whole closure with the hashes of its wheels (--only-binary :all:, written into the lock, so
// installs never build from source), pip and setuptools included (--allow-unsafe).
// The locks are for the Python the machines have (python3, 3.11); after running this on another
// version, the check after install names any package whose marker depends on it.
// docs/dependencies.md tells the whole story. No npm dependencies.

import { dirname, relative, resolve } from "node:path";
import { ensurePythonEnv, INSTALLER, PYTHON_ENVS, REPO_ROOT, run } from "./lib/python-env.mjs";

const LOCKS = {
  installer: INSTALLER,
  ...Object.fromEntries(Object.entries(PYTHON_ENVS).map(([name, env]) => [name, { in: env.in, lock: env.lock }])),
};

const args = process.argv.slice(2);
const upgrade = args.includes("--upgrade");
const names = args.filter((a) => a !== "--upgrade");
for (const name of names) {
  if (!LOCKS[name]) {
    process.stderr.write(`lock-python: no lock "${name}" (known: ${Object.keys(LOCKS).join(", ")})\n`);
    process.exit(2);
  }
}

const tools = await ensurePythonEnv("lock-tools");
let failed = 0;
for (const name of names.length > 0 ? names : Object.keys(LOCKS)) {
  const { in: input, lock } = LOCKS[name];
  const cwd = dirname(resolve(REPO_ROOT, input));
  process.stdout.write(`lock-python: ${lock} from ${input}${upgrade ? " (--upgrade)" : ""}\n`);
  const r = await run(
    tools.bin("pip-compile"),
    [
      "--quiet",
      "--generate-hashes",
      "--allow-unsafe",
      "--strip-extras",
      "--no-emit-index-url",
      "--no-emit-find-links",
      "--pip-args",
      "--only-binary :all:",
      ...(upgrade ? ["--upgrade"] : []),
      "--output-file",
      relative(cwd, resolve(REPO_ROOT, lock)),
      relative(cwd, resolve(REPO_ROOT, input)),
    ],
    {
      cwd,
      timeoutMs: 20 * 60_000,
      env: { ...process.env, CUSTOM_COMPILE_COMMAND: "npm run locks:python", PIP_DISABLE_PIP_VERSION_CHECK: "1" },
    },
  );
  if (r.code !== 0) {
    failed += 1;
    process.stderr.write(`lock-python: pip-compile for ${name} failed (exit ${r.code ?? r.signal ?? r.error}):\n${r.stdout}${r.stderr}\n`);
  }
}
process.stdout.write(
  failed > 0
    ? `lock-python: ${failed} lock(s) failed\n`
    : "lock-python: done; review `git diff`, then run the suites (a lock that misses a package fails their install check)\n",
);
process.exit(failed > 0 ? 1 : 0);
