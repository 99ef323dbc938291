import { defineConfig } from "vitest/config";

// End-to-end: runs in Node (not workerd). The test starts the real `npm start`
// (wrangler dev + mock LiteLLM) as a child process group and talks to it over HTTP; each file
// starts its own.
export default defineConfig({
  test: {
    environment: "node",
    include: ["test/e2e/*.e2e.test.ts"],
    // One server, one file, tests in order.
    fileParallelism: false,
    sequence: { concurrent: false },
    // wrangler dev needs a few seconds to start (more on a busy 2-core machine).
    testTimeout: 120_000,
    hookTimeout: 240_000,
    teardownTimeout: 60_000,
  },
});
