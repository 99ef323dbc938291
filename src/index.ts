import { app } from "./app-instance";
import { Repository } from "./db/repository";
import { IDEMPOTENCY_TTL_MS } from "./http/idempotency";

export { TeamLedger } from "./ledger/team-ledger";
/** The service-binding door: typed methods for a team's side of the API (see src/rpc/gateway-rpc.ts). */
export { GatewayRpc } from "./rpc/gateway-rpc";

export default {
  fetch: app.fetch,
  /** Hourly: forget idempotency records past their 24 h (a stale record is also ignored when met). */
  async scheduled(_controller, env) {
    await new Repository(env.DB).idempotency.purgeOlderThan(IDEMPOTENCY_TTL_MS);
  },
} satisfies ExportedHandler<Env>;
