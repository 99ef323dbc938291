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

/** Where test/build-consumer-worker.ts builds the example consumer Worker. */
export const CONSUMER_WORKER_DIR = path.join(import.meta.dirname, ".wrangler", "consumer-worker-build");

/**
 * The example consumer Worker (examples/consumer-worker, built by test/build-consumer-worker.ts),
 * bound to the gateway as its wrangler.toml binds it in production. The plugin runs the gateway
 * as its runner Worker, named after the (unnamed) vitest project.
 */
function consumerWorker() {
  return {
    name: "consumer-worker",
    modules: true,
    scriptPath: path.join(CONSUMER_WORKER_DIR, "index.js"),
    compatibilityDate: "2026-11-01",
    bindings: { FAST_GROUP: "fast-models", ADVANCED_GROUP: "advanced-models" },
    serviceBindings: { GATEWAY: { name: "vitest-plugin-runner-", entrypoint: "GatewayRpc" } },
  };
}

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
            // Webhooks to the local receiver (test/webhook-receiver.ts), retried within milliseconds.
            WEBHOOK_ALLOW_HTTP_LOCALHOST: "true",
            WEBHOOK_RETRY_BASE_MS: "50",
            WEBHOOK_ATTEMPT_TIMEOUT_MS: "2000",
            // Local workerd implements no Durable Object jurisdiction (test/placement.test.ts).
            EMULATE_JURISDICTIONS: "true",
          },
          // test/consumer-worker.test.ts reaches the example consumer Worker, which reaches the gateway
          // through a service binding to its GatewayRpc entrypoint.
          serviceBindings: { CONSUMER: "consumer-worker" },
          workers: [consumerWorker()],
        },
      })),
    ],
    test: {
      include: ["test/**/*.test.ts"],
      // Suites that drive real servers have their own configs (vitest.e2e / vitest.litellm / vitest.browser).
      exclude: ["test/e2e/**", "test/litellm/**", "test/browser/**", "node_modules/**"],
      globalSetup: ["./test/global-setup.ts", "./test/build-consumer-worker.ts"],
      setupFiles: ["./test/apply-migrations.ts"],
      // Request logs are printed only for failing tests.
      silent: "passed-only" as const,
      testTimeout: 30_000,
      hookTimeout: 30_000,
    },
  };
});
