import { defineConfig } from "vitest/config";

// The fast unit tests: pure modules (the ledger's rules, the calls' dialects and failures, the
// HTTP layer's error mapping...) in plain Node, with no workerd, no server and no mock LiteLLM.
// The workerd suite (vitest.config.ts) runs them too, as part of everything.
export default defineConfig({
  test: {
    environment: "node",
    include: ["test/unit/**/*.test.ts"],
  },
});
