import { defineConfig } from "vitest/config";

// `npm run test:litellm` (scripts/test-litellm.mjs): the gateway under wrangler dev, in front of
// a REAL pinned LiteLLM, in front of the mock upstream. This project runs in Node (not workerd)
// and only talks HTTP to what the script started; the script passes the URLs and keys in
// LITELLM_TEST_* variables, handed to the tests with `provide` (see test/litellm/harness.ts).
// Run on its own (`vitest run -c vitest.litellm.config.ts`), the tests fail and say so.
const env = process.env;
const litellmRun = {
  gatewayUrl: env.LITELLM_TEST_GATEWAY_URL ?? "",
  adminKey: env.LITELLM_TEST_ADMIN_KEY ?? "",
  litellmUrl: env.LITELLM_TEST_LITELLM_URL ?? "",
  litellmKey: env.LITELLM_TEST_LITELLM_KEY ?? "",
  litellmVersion: env.LITELLM_TEST_LITELLM_VERSION ?? "",
  upstreamUrl: env.LITELLM_TEST_UPSTREAM_URL ?? "",
  // Optional: another build of mock-litellm/server.mjs for the contract test (to check that it
  // catches a drifted mock). Default: the repo's.
  mockModule: env.LITELLM_TEST_MOCK_MODULE ?? "",
};

export default defineConfig({
  test: {
    name: "litellm",
    environment: "node",
    include: ["test/litellm/*.test.ts"],
    provide: { litellmRun },
    // One gateway, one LiteLLM, two shared cores: files one after the other, tests in order.
    fileParallelism: false,
    sequence: { concurrent: false },
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
