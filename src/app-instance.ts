import { createApp } from "./http/app";

/** The one Hono app of this Worker: its HTTP door (the default export) and its RPC door (GatewayRpc) both use it. */
export const app = createApp();
