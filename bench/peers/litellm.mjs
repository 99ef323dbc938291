// The LiteLLM peer: a real LiteLLM proxy (scripts/litellm-env.mjs, the pinned version in
// .venv-litellm/) in front of its own mock in upstream mode (LiteLLM speaks OpenAI to its
// upstream). Never builds the venv: when it is absent or stale, the peer is skipped with a reason.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { REPO_ROOT } from "../lib/proc.mjs";
import { startMock } from "../targets.mjs";

export async function litellmModule() {
  const modulePath = join(REPO_ROOT, "scripts", "litellm-env.mjs");
  const venv = join(REPO_ROOT, ".venv-litellm");
  if (!existsSync(modulePath)) return { available: false, reason: "scripts/litellm-env.mjs is not in the repository" };
  if (!existsSync(join(venv, "bin", "litellm")))
    return {
      available: false,
      reason: ".venv-litellm/ is not installed (node -e \"import('./scripts/litellm-env.mjs').then(m => m.ensureLiteLLMVenv())\")",
    };
  const mod = await import(pathToFileURL(modulePath).href);
  if (typeof mod.startLiteLLM !== "function" || typeof mod.ensureLiteLLMVenv !== "function") {
    return { available: false, reason: "scripts/litellm-env.mjs does not export startLiteLLM and ensureLiteLLMVenv" };
  }
  // Never let the bench trigger a (networked, minutes-long) venv rebuild: only use a current venv.
  if (typeof mod.liteLLMVenvIsCurrent === "function" && !(await mod.liteLLMVenvIsCurrent()))
    return { available: false, reason: ".venv-litellm/ is stale (its lock changed); rebuild it with ensureLiteLLMVenv()" };
  return { available: true, mod };
}

/**
 * Starts the upstream-mode mock and LiteLLM in front of it. Resolves
 * { available: true, url, key, upstreamUrl, version, startup_seconds, stop() } or { available: false, reason }.
 */
export async function startLiteLLMPeer(logDir) {
  const found = await litellmModule();
  if (!found.available) return { available: false, reason: found.reason };
  const upstream = await startMock(logDir, "mock-upstream", ["--mode", "upstream"]);
  let proxy;
  try {
    proxy = await found.mod.startLiteLLM({ upstreamUrl: upstream.url, port: 0, quiet: true });
  } catch (error) {
    await upstream.proc.stop();
    return { available: false, reason: `LiteLLM did not start: ${error.message.split("\n")[0]}` };
  }
  return {
    available: true,
    url: proxy.url,
    key: proxy.masterKey,
    upstreamUrl: upstream.url,
    version: proxy.version ?? null,
    startup_seconds: proxy.startupSeconds ?? null,
    stop: async () => {
      await proxy.stop().catch(() => {});
      await upstream.proc.stop();
    },
  };
}
