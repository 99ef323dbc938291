import { defineConfig } from "vitest/config";

// The admin console in a real Chromium (Debian's `chromium`, driven by playwright-core) against
// `npm start`. Runs in Node; one server, one browser, the steps in order.
export default defineConfig({
  test: {
    environment: "node",
    include: ["test/browser/**/*.browser.test.ts"],
    fileParallelism: false,
    sequence: { concurrent: false },
    testTimeout: 120_000,
    hookTimeout: 240_000,
    teardownTimeout: 60_000,
  },
});
