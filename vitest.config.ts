import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Tests run inside workerd (the same runtime as production) against a real HTTP mock of
// LiteLLM started by test/global-setup.ts, so fallback, timeouts and streams go over sockets.
export const TEST_SECRETS = {
  ADMIN_API_KEY: "sk-admin-test-0f3c9a2b7d4e4c1f9a8b6d5e",
  KEY_PEPPER: "pepper-test-5b8e2d1c9f7a4e3b",
  LITELLM_API_KEY: "sk-litellm-test-7c2e9b4a1d8f3e6a",
};

export default defineConfig(async () => {
  // wrangler.toml requires these [secrets] and the plugin looks for them in the environment
  // (it warns when one is missing); the Worker gets them from the bindings below either way.
  Object.assign(process.env, TEST_SECRETS);
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  return {
    plugins: [
      cloudflareTest(({ inject }) => ({
        wrangler: { configPath: "./wrangler.toml" },
        remoteBindings: false,
        miniflare: {
          bindings: {
            ...TEST_SECRETS,
            TEST_MIGRATIONS: migrations,
            LITELLM_BASE_URL: inject("mockLiteLLMUrl"),
            LITELLM_TIMEOUT_MS: "3000",
          },
        },
      })),
    ],
    test: {
      include: ["test/**/*.test.ts"],
      // Suites that drive real servers have their own configs (vitest.e2e / vitest.litellm / vitest.browser).
      exclude: ["test/e2e/**", "test/litellm/**", "test/browser/**", "node_modules/**"],
      globalSetup: ["./test/global-setup.ts"],
      setupFiles: ["./test/apply-migrations.ts"],
      // Request logs are printed only for failing tests.
      silent: "passed-only" as const,
      testTimeout: 30_000,
      hookTimeout: 30_000,
    },
  };
});
