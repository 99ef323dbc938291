import { applyD1Migrations, env } from "cloudflare:test";

// Each test file gets fresh storage; migrations are applied once per file (idempotent).
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
