import { Repository } from "./db/repository";
import { createApp } from "./http/app";
import { IDEMPOTENCY_TTL_MS } from "./http/idempotency";

export { TeamLedger } from "./ledger/team-ledger";

const app = createApp();

export default {
  fetch: app.fetch,
  /** Hourly: forget idempotency records past their 24 h (a stale record is also ignored when met). */
  async scheduled(_controller, env) {
    await new Repository(env.DB).idempotency.purgeOlderThan(IDEMPOTENCY_TTL_MS);
  },
} satisfies ExportedHandler<Env>;
