// Preflight for the suites that shell out: checks that the named system tools are installed and,
// when one is missing, says which and how to install it, then exits 1 (never a stack trace).
//
//   node scripts/require-tools.mjs curl jq python3
//
// No npm dependencies; runs on any Node >= 18.

import { spawnSync } from "node:child_process";

const TOOLS = {
  curl: { probe: ["--version"], neededFor: "the seed's cURL example (end-to-end suite)", apt: "curl", brew: "curl" },
  jq: { probe: ["--version"], neededFor: "the seed's cURL example (end-to-end suite)", apt: "jq", brew: "jq" },
  python3: {
    // The LiteLLM and schemathesis suites build a virtualenv, so the venv module must be there too.
    probe: ["-c", "import venv, ensurepip"],
    neededFor: "the virtualenvs of the LiteLLM and schemathesis suites",
    apt: "python3 python3-venv",
    brew: "python",
  },
  chromium: {
    probe: ["--version"],
    neededFor: "the admin console's browser suite (npm run test:browser)",
    apt: "chromium",
    brew: "--cask chromium",
  },
};

const names = process.argv.slice(2);
const unknown = names.filter((name) => !(name in TOOLS));
if (unknown.length > 0) {
  process.stderr.write(`require-tools: no rule for ${unknown.join(", ")} (known: ${Object.keys(TOOLS).join(", ")})\n`);
  process.exit(2);
}

const missing = names.filter((name) => {
  const result = spawnSync(name, TOOLS[name].probe, { stdio: "ignore" });
  return result.error !== undefined || result.status !== 0;
});
if (missing.length > 0) {
  const lines = missing.map((name) => `  ${name}: needed for ${TOOLS[name].neededFor}`);
  const apt = missing.map((name) => TOOLS[name].apt).join(" ");
  const brew = missing.map((name) => TOOLS[name].brew).join(" ");
  process.stderr.write(
    [
      `Missing system tool${missing.length > 1 ? "s" : ""}: ${missing.join(", ")}`,
      ...lines,
      `Install with: sudo apt-get install ${apt}   (Debian/Ubuntu)`,
      `          or: brew install ${brew}   (macOS)`,
      "",
    ].join("\n"),
  );
  process.exit(1);
}
