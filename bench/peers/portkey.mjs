// The Portkey peer: the Portkey AI gateway's own Node server (@portkey-ai/gateway, pinned in
// package.json; started through bench/peers/portkey-server.mjs, which binds it to 127.0.0.1),
// in its own process group, in front of the SAME mock the gateway and the bare Worker use.
//
// Requests: POST <portkey>/v1/chat/completions with
//   x-portkey-provider: openai
//   x-portkey-custom-host: <mock url>   (Portkey appends /chat/completions; 127.0.0.1 is in its
//                                        default TRUSTED_CUSTOM_HOSTS)
//   authorization: Bearer <mock master key>  (forwarded to the provider as is)
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { MOCK_KEY } from "../config.mjs";
import { request } from "../lib/http.mjs";
import { freePort, REPO_ROOT, startGroup, tail } from "../lib/proc.mjs";

const require = createRequire(import.meta.url);

function portkeyVersion() {
  try {
    return JSON.parse(readFileSync(require.resolve("@portkey-ai/gateway/package.json"), "utf8")).version;
  } catch {
    return null;
  }
}

/** Headers that route a request through Portkey to `upstreamUrl` as an OpenAI-compatible provider. */
export const portkeyHeaders = (upstreamUrl) => ({
  "x-portkey-provider": "openai",
  "x-portkey-custom-host": upstreamUrl,
  authorization: `Bearer ${MOCK_KEY}`,
});

/**
 * Starts Portkey in front of `upstreamUrl` and waits until a chat completion goes through.
 * Resolves { available: true, url, version, startup_seconds, stop() } or { available: false, reason }.
 */
export async function startPortkeyPeer(logDir, upstreamUrl, timeoutMs = 60_000) {
  const version = portkeyVersion();
  if (!version) return { available: false, reason: "@portkey-ai/gateway is not installed (npm ci)" };
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const t0 = performance.now();
  const proc = startGroup(process.execPath, [join(REPO_ROOT, "bench", "peers", "portkey-server.mjs"), `--port=${port}`], {
    logFile: join(logDir, "portkey.log"),
  });
  let exited = null;
  proc.exited.then((e) => {
    exited = e;
  });
  const deadline = Date.now() + timeoutMs;
  const body = { model: "gpt-4o-mini", messages: [{ role: "user", content: "ping" }] };
  while (Date.now() < deadline && !exited) {
    try {
      const res = await request("POST", `${url}/v1/chat/completions`, { headers: portkeyHeaders(upstreamUrl), body, timeoutMs: 5000 });
      if (res.status === 200)
        return { available: true, url, version, startup_seconds: (performance.now() - t0) / 1000, stop: () => proc.stop() };
      if (res.status !== 404) {
        await proc.stop();
        return { available: false, reason: `Portkey answered HTTP ${res.status}: ${res.text.slice(0, 200)}` };
      }
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  await proc.stop();
  return {
    available: false,
    reason: `Portkey ${exited ? `exited (${JSON.stringify(exited)})` : `was not ready within ${timeoutMs / 1000} s`}: ${tail(proc.logFile, 500)}`,
  };
}
