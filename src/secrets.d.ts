// Secrets (and optional tuning not in wrangler.toml) are unseen by `wrangler types`: declare them here.
// Each is optional: a Worker deployed without one refuses what needs it (503) instead of guessing.
interface __BaseEnv_Env {
  ADMIN_API_KEY?: string;
  KEY_PEPPER?: string;
  LITELLM_API_KEY?: string;
  /** How long (ms) the end of a stream waits for the call's record before `[DONE]`; default 10000. */
  LEDGER_END_OF_STREAM_WAIT_MS?: string;
}
