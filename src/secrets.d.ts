// Secrets are not in wrangler.toml, so `wrangler types` does not see them: declare them here.
// Each is optional: a Worker deployed without one refuses what needs it (503) instead of guessing.
interface __BaseEnv_Env {
  ADMIN_API_KEY?: string;
  KEY_PEPPER?: string;
  LITELLM_API_KEY?: string;
}
