import { app } from "./app-instance";
import { Repository } from "./db/repository";
import { AUDIT_RETENTION_DAYS } from "./http/middleware/audit";
import { IDEMPOTENCY_TTL_MS } from "./http/middleware/idempotency";

/** The response cache's storage: one object per scope sharing a group's cached answers. */
export { AnswerCache } from "./cache/answer-cache";
export { TeamLedger } from "./ledger/team-ledger";
/** The service-binding door: typed methods for a team's side of the API (see src/rpc/gateway-rpc.ts). */
export { GatewayRpc } from "./rpc/gateway-rpc";

export default {
  fetch: app.fetch,
  /** Hourly: forget idempotency records past their 24 h (a stale record is also ignored when met), and audit rows past their retention. */
  async scheduled(_controller, env) {
    const repo = new Repository(env.DB);
    await repo.idempotency.purgeOlderThan(IDEMPOTENCY_TTL_MS);
    await repo.audit.purgeOlderThan(AUDIT_RETENTION_DAYS * 24 * 60 * 60 * 1000);
  },
} satisfies ExportedHandler<Env>;
