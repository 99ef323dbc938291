// `npm run deploy` runs this first: it reads wrangler.toml as wrangler does and refuses (exit 1,
// nothing deployed, no migration applied) a configuration that only works on this machine: a
// LiteLLM URL the deployed Worker cannot reach, or the placeholder D1 database id.
//
//   node scripts/deploy-preflight.mjs [--config wrangler.toml] [--env <name>]

import { parseArgs } from "node:util";
import { unstable_readConfig } from "wrangler";
import { deployProblems } from "./lib/deploy-checks.mjs";

const { values } = parseArgs({ options: { config: { type: "string", default: "wrangler.toml" }, env: { type: "string" } } });

const config = unstable_readConfig({ config: values.config, env: values.env });
const problems = deployProblems(config);
if (problems.length > 0) {
  process.stderr.write(`[deploy] refused: ${values.config}${values.env ? ` (env ${values.env})` : ""} is not ready to deploy.\n`);
  for (const problem of problems) process.stderr.write(`  - ${problem}\n`);
  process.stderr.write('  See docs/operations.md, "Deploying to Cloudflare".\n');
  process.exit(1);
}
process.stdout.write(
  `[deploy] preflight passed: LiteLLM at ${config.vars.LITELLM_BASE_URL}, D1 database ${config.d1_databases[0].database_id}.\n`,
);
