declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: D1Migration[];
    /** The example consumer Worker (examples/consumer-worker), bound to the gateway's GatewayRpc. */
    CONSUMER: Fetcher;
  }
}
