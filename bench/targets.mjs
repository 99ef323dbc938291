// Starting and stopping what the bench measures: the mock LiteLLM (its own process), the bare
// Worker, the gateway and the probe (each `wrangler dev` in its own process group, own state
// dir). Everything listens on 127.0.0.1; lib/proc.mjs's stopAll() stops every group started.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { upstreamBody } from "./api.mjs";
import { ADMIN_KEY, KEY_PEPPER, MOCK_KEY } from "./config.mjs";
import { request } from "./lib/http.mjs";
import { freePort, REPO_ROOT, runWrangler, startGroup, startWranglerDev, tail } from "./lib/proc.mjs";

export function rootWranglerSettings() {
  const toml = readFileSync(join(REPO_ROOT, "wrangler.toml"), "utf8");
  const date = toml.match(/^compatibility_date\s*=\s*"([^"]+)"/m)?.[1];
  const flags = [...(toml.match(/^compatibility_flags\s*=\s*\[([^\]]*)\]/m)?.[1] ?? "").matchAll(/"([^"]+)"/g)].map((m) => m[1]);
  if (!date) throw new Error("no compatibility_date in wrangler.toml");
  return { date, flags };
}

export async function startMock(logDir, name, extra = []) {
  const proc = startGroup(process.execPath, [join(REPO_ROOT, "mock-litellm", "server.mjs"), "--port", "0", "--quiet", ...extra], {
    logFile: join(logDir, `${name}.log`),
  });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start`)), 15_000);
    proc.onLine((line) => {
      const m = line.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.exited.then((e) => reject(new Error(`${name} exited: ${JSON.stringify(e)}`)));
  });
  return { proc, url };
}

export async function waitReady(name, proc, probe, timeoutMs = 180_000) {
  const deadline = Date.now() + timeoutMs;
  let exited = null;
  proc.exited.then((e) => {
    exited = e;
  });
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${name} exited during startup (${JSON.stringify(exited)}):\n${tail(proc.logFile)}`);
    try {
      if (await probe()) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${name} was not ready within ${timeoutMs / 1000} s:\n${tail(proc.logFile)}`);
}

/**
 * Starts the mock (proxy mode, with a master key), applies the D1 migrations for the gateway
 * and the probe, starts the bare Worker, the gateway and the probe under `wrangler dev`, and
 * waits until all answer. `section(name, fn)` times the steps. Resolves the env the scenarios use:
 * { mock, bare, gateway, probe } each with a url (and proc).
 */
export async function startTargets(tmp, logDir, section = (_name, fn) => fn()) {
  const compat = rootWranglerSettings();
  const mock = await startMock(logDir, "mock", ["--master-key", MOCK_KEY]);
  const gwState = join(tmp, "gateway-state");
  const probeState = join(tmp, "probe-state");
  const bareState = join(tmp, "bare-state");
  const probeConfig = join(REPO_ROOT, "bench", "probe-worker", "wrangler.toml");
  const bareConfig = join(REPO_ROOT, "bench", "bare-worker", "wrangler.toml");
  await section("startup", async () => {
    const migrations = await Promise.all([
      runWrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", gwState], {
        logFile: join(logDir, "migrate-gateway.log"),
      }),
      runWrangler(["d1", "migrations", "apply", "DB", "--local", "-c", probeConfig, "--persist-to", probeState], {
        logFile: join(logDir, "migrate-probe.log"),
      }),
    ]);
    for (const m of migrations) if (m.code !== 0) throw new Error(`d1 migrations apply failed:\n${m.output.slice(-1500)}`);
  });
  const [barePort, gwPort, probePort, i1, i2, i3] = await Promise.all(Array.from({ length: 6 }, () => freePort()));
  const compatArgs = ["--compatibility-date", compat.date, ...compat.flags.flatMap((f) => ["--compatibility-flags", f])];
  const vars = (entries) => entries.flatMap(([k, v]) => ["--var", `${k}:${v}`]);
  const gatewayVars = vars([
    ["LITELLM_BASE_URL", mock.url],
    ["LITELLM_API_KEY", MOCK_KEY],
    ["ADMIN_API_KEY", ADMIN_KEY],
    ["KEY_PEPPER", KEY_PEPPER],
  ]);
  const common = (port, inspector) => [
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(inspector),
    "--show-interactive-dev-session=false",
  ];
  const bareProc = startWranglerDev(
    [
      "-c",
      bareConfig,
      ...common(barePort, i1),
      "--persist-to",
      bareState,
      ...compatArgs,
      ...vars([
        ["UPSTREAM_URL", mock.url],
        ["UPSTREAM_KEY", MOCK_KEY],
      ]),
    ],
    { logFile: join(logDir, "bare.log") },
  );
  const gwProc = startWranglerDev([...common(gwPort, i2), "--persist-to", gwState, ...gatewayVars], {
    logFile: join(logDir, "gateway.log"),
  });
  const probeProc = startWranglerDev(
    ["-c", probeConfig, ...common(probePort, i3), "--persist-to", probeState, ...compatArgs, ...gatewayVars],
    { logFile: join(logDir, "probe.log") },
  );
  const env = {
    mock,
    bare: { url: `http://127.0.0.1:${barePort}`, proc: bareProc },
    gateway: { url: `http://127.0.0.1:${gwPort}`, proc: gwProc },
    probe: { url: `http://127.0.0.1:${probePort}`, proc: probeProc },
  };
  await section("startup", () =>
    Promise.all([
      waitReady(
        "bare worker",
        bareProc,
        async () => (await request("POST", `${env.bare.url}/chat/completions`, { body: upstreamBody() })).status === 200,
      ),
      waitReady("gateway", gwProc, async () => (await request("GET", `${env.gateway.url}/health`)).status === 200),
      waitReady("probe", probeProc, async () => (await request("GET", `${env.probe.url}/health`)).status === 200),
    ]),
  );
  return env;
}
