import { createApp } from "./http/app";

export { TeamLedger } from "./ledger/team-ledger";

const app = createApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
