import { consoleRoutes } from "./console/routes";
import { createApp } from "./http/app";

/** The one Hono app of this Worker: its HTTP door (the default export) and its RPC door (GatewayRpc) both use it. */
export const app = createApp();

// The admin console: server-rendered pages that act through the app's own /api routes, in process.
app.route(
  "/admin",
  consoleRoutes((request, env, executionCtx) => app.fetch(request, env, executionCtx)),
);
