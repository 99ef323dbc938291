// The documentation and the examples, run against a fresh `npm start` so they cannot drift:
// every request block of README.md and docs/*.md (doc-blocks.ts says which), the example
// scripts in examples/, the consumer Worker beside npm start as its README runs it, and
// `npm run smoke` against the local server.
//
// Run: npx vitest run -c vitest.e2e.config.ts test/e2e/docs.e2e.test.ts
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { freePort, signalGroup } from "../../scripts/lib/processes.mjs";
import { containsShown, docBlocks, pageScript } from "./doc-blocks";
import { dumpServerLogOnFailure, REPO_ROOT, SEED_ADMIN_KEY, type Server, sleep, startNpmStart, stopNpmStart } from "./npm-start";
import { openAIPython } from "./openai-python";

const PAGES = [
  "README.md",
  ...readdirSync(join(REPO_ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => `docs/${f}`),
];

let server: Server;
let work: string;
/** The variables the README's tour exported (BASE, ADMIN_KEY, KEY), as `declare -x` lines. */
const tourState = () => join(work, "README.md.state");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 180_000): Promise<Run> {
  return new Promise((resolveRun) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => signalGroup(child.pid, "SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr });
    });
  });
}

/** The environment a reader's shell has: the server's PORT, and none of the gateway's own settings. */
function readerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(server.port), ...extra };
  for (const name of ["BASE", "ADMIN_API_KEY", "ADMIN_KEY", "KEY", "TEAM_ID"]) if (!(name in extra)) delete env[name];
  return env;
}

function tourVariable(name: string): string {
  const line = readFileSync(tourState(), "utf8")
    .split("\n")
    .find((l) => l.startsWith(`declare -x ${name}=`));
  if (!line) throw new Error(`the README's tour exported no ${name}`);
  return JSON.parse(line.slice(`declare -x ${name}=`.length));
}

async function pythonFor(what: string): Promise<string | null> {
  const sdk = await openAIPython();
  if ("python" in sdk) return sdk.python;
  if (process.env.CI) throw new Error(`${what} needs ${sdk.missing}`);
  console.warn(`${what}: Python blocks skipped, this machine lacks ${sdk.missing}`);
  return null;
}

describe("the documentation's requests, run against npm start", () => {
  beforeAll(async () => {
    const missing = ["curl", "jq"].filter((tool) => spawnSync(tool, ["--version"], { stdio: "ignore" }).error);
    if (missing.length > 0) throw new Error(`the docs' requests need ${missing.join(" and ")} (apt-get install curl jq)`);
    work = mkdtempSync(join(tmpdir(), "gateway-docs-"));
    server = await startNpmStart();
  });

  afterAll(async () => {
    if (server) await stopNpmStart(server);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("every request block is runnable: sh for curl, no hard-coded port, every exemption with a reason", () => {
    const problems = PAGES.flatMap((page) => docBlocks(readFileSync(join(REPO_ROOT, page), "utf8")).problems.map((p) => `${page} ${p}`));
    expect(problems).toEqual([]);
    const readme = docBlocks(readFileSync(join(REPO_ROOT, "README.md"), "utf8"));
    expect(readme.skipped).toEqual([]);
    expect(readme.runnable.map((b) => b.kind)).toEqual(["sh", "sh", "python", "js"]);
  });

  it.each(PAGES)("%s: its requests answer as shown", async (page) => {
    dumpServerLogOnFailure(server);
    const blocks = docBlocks(readFileSync(join(REPO_ROOT, page), "utf8")).runnable;
    if (page !== "README.md") expect(readFileSync(tourState(), "utf8")).toContain("declare -x KEY=");
    const dir = join(work, page.replace("/", "_"));
    mkdirSync(dir, { recursive: true });
    const needsPython = blocks.some((b) => b.kind === "python");
    const script = pageScript(blocks, {
      dir,
      stateIn: page === "README.md" ? undefined : tourState(),
      stateOut: join(work, `${page.replace("/", "_")}.state`),
      python: needsPython ? await pythonFor(page) : null,
    });
    writeFileSync(join(dir, "page.sh"), script);
    const result = await run("bash", [join(dir, "page.sh")], readerEnv());
    onTestFailed(() => console.error(`---- ${page}: stdout ----\n${result.stdout}\n---- stderr ----\n${result.stderr}`));

    const progress = readFileSync(join(dir, "progress"), "utf8").trim();
    const failedAt = progress === "done" ? null : blocks[Number(progress)];
    expect(failedAt ? `the block at ${page}:${failedAt.line} failed (exit ${result.code})` : null).toBeNull();
    expect(result.code).toBe(0);

    const calls = readFileSync(join(dir, "calls"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line, i) => {
        const [block, status, exit] = line.split(" ").map(Number);
        return { block, status, exit, body: readFileSync(join(dir, `${i + 1}.body`), "utf8") };
      });
    blocks.forEach((block, index) => {
      const made = calls.filter((c) => c.block === index);
      expect(made.length, `${page}:${block.line}: curl calls made`).toBe(block.curls.length);
      block.curls.forEach((shown, n) => {
        const call = made[n];
        const where = `${page}:${block.line}, curl #${n + 1} (${call.status}: ${call.body.slice(0, 300)})`;
        expect(call.exit, where).toBe(0);
        if (shown.status === null) expect(call.status >= 200 && call.status < 300, where).toBe(true);
        else expect(call.status, where).toBe(shown.status);
        if (shown.contains !== undefined) {
          let body: unknown;
          try {
            body = JSON.parse(call.body);
          } catch {
            body = call.body;
          }
          expect(containsShown(body, shown.contains), `${where}\nshows ${JSON.stringify(shown.contains)}`).toBe(true);
        }
      });
    });
  });

  describe("examples/", () => {
    it("python/full_chain.py: the seed's Python chain, balance 100 -> 99", async (ctx) => {
      if (spawnSync("python3", ["--version"], { stdio: "ignore" }).error) {
        if (process.env.CI) throw new Error("examples/python needs python3");
        ctx.skip();
      }
      const result = await run("python3", ["examples/python/full_chain.py"], readerEnv());
      onTestFailed(() => console.error(result.stdout, result.stderr));
      expect(result.code).toBe(0);
      expect(result.stdout).toContain("  Credits remaining: 99\n");
      expect(result.stdout).toContain("✓ Credits: 99/100 (used 1)");
      expect(result.stdout).toContain("WORKFLOW COMPLETED SUCCESSFULLY!");
    });

    it("javascript/full-chain.mjs: the seed's JavaScript chain, balance 50 -> 49; a second run says to change TEAM_ID", async () => {
      const first = await run(process.execPath, ["examples/javascript/full-chain.mjs"], readerEnv());
      onTestFailed(() => console.error(first.stdout, first.stderr));
      expect(first.code).toBe(0);
      expect(first.stdout).toContain("  Credits remaining: 49\n");
      const again = await run(process.execPath, ["examples/javascript/full-chain.mjs"], readerEnv());
      expect(again.code).toBe(1);
      expect(again.stderr).toContain("Team js-team already exists");
      const other = await run(process.execPath, ["examples/javascript/full-chain.mjs"], readerEnv({ TEAM_ID: "js-team-2" }));
      expect(other.code).toBe(0);
      expect(other.stdout).toContain("✓ Team: js-team-2, 50 credits");
    });

    it("a script pointed at a gateway that is not there says so", async () => {
      const port = await freePort();
      const result = await run(process.execPath, ["examples/javascript/full-chain.mjs"], readerEnv({ BASE: `http://127.0.0.1:${port}` }));
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`Could not reach http://127.0.0.1:${port}`);
    });
  });

  describe("the consumer Worker beside npm start (examples/consumer-worker/README.md)", () => {
    let consumer: ChildProcess | undefined;
    afterAll(async () => {
      if (consumer?.pid && consumer.exitCode === null) {
        signalGroup(consumer.pid, "SIGTERM");
        await Promise.race([new Promise((r) => consumer?.once("close", r)), sleep(10_000)]);
        signalGroup(consumer.pid, "SIGKILL");
      }
    });

    it("reaches this checkout's gateway through its own dev registry and runs the chain for the tour's team", async () => {
      dumpServerLogOnFailure(server);
      const registry = join(server.stateDir, "registry");
      expect(server.output()).toContain(`WRANGLER_REGISTRY_PATH=${registry} npx wrangler dev`);
      const port = await freePort();
      const persist = join(work, "consumer-state");
      let output = "";
      consumer = spawn(
        process.execPath,
        [
          join(REPO_ROOT, "node_modules", "wrangler", "bin", "wrangler.js"),
          "dev",
          "--ip",
          "127.0.0.1",
          "--port",
          String(port),
          "--persist-to",
          persist,
        ],
        {
          cwd: join(REPO_ROOT, "examples", "consumer-worker"),
          env: { ...process.env, WRANGLER_REGISTRY_PATH: registry },
          detached: true,
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      consumer.stdout!.setEncoding("utf8").on("data", (d: string) => (output += d));
      consumer.stderr!.setEncoding("utf8").on("data", (d: string) => (output += d));
      onTestFailed(() => console.error(`---- consumer wrangler dev ----\n${output}`));

      const url = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 120_000;
      for (;;) {
        const res = await fetch(`${url}/support-ticket`, { method: "POST" }).catch(() => null);
        if (res?.status === 401) break;
        if (Date.now() > deadline || consumer.exitCode !== null) throw new Error("the consumer Worker did not start");
        await sleep(500);
      }
      // The binding may take a moment to see the gateway in the registry.
      let answer: Response | undefined;
      for (let attempt = 0; attempt < 20; attempt++) {
        answer = await fetch(`${url}/support-ticket`, {
          method: "POST",
          headers: { authorization: `Bearer ${tourVariable("KEY")}`, "content-type": "application/json" },
          body: JSON.stringify({ team_id: "engineering", question: "How do I reset my password?" }),
        });
        if (answer.status !== 503 && answer.status !== 500) break;
        await sleep(500);
      }
      const body = (await answer!.json()) as any;
      expect(answer!.status, JSON.stringify(body)).toBe(200);
      expect(body.costs).toMatchObject({ total_calls: 3, successful_calls: 3, credit_applied: true });
      for (const text of [body.initial_response, body.follow_up, body.analysis]) expect(text.length).toBeGreaterThan(0);
      const job = await fetch(`${url}/jobs/${body.job_id}`, { headers: { authorization: `Bearer ${tourVariable("KEY")}` } });
      expect(((await job.json()) as any).calls.map((c: any) => c.stream)).toEqual([false, true, false]);
    });
  });

  describe("npm run smoke (scripts/smoke.mjs), against npm start", () => {
    it("passes with the admin key: health, the key's identity, the first organization", async () => {
      const result = await run(process.execPath, ["scripts/smoke.mjs", `http://127.0.0.1:${server.port}`], {
        ...process.env,
        ADMIN_API_KEY: SEED_ADMIN_KEY,
      });
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.stdout).toContain("✓ health: llm-job-gateway is up");
      expect(result.stdout).toContain("✓ admin key: bootstrap (role owner, every organization)");
      expect(result.stdout).toMatch(/✓ organizations: D1 answers; the first is \S+/);
    });

    it("fails, naming the check, with a wrong key or a URL that is not the gateway", async () => {
      const wrongKey = await run(process.execPath, ["scripts/smoke.mjs", `http://127.0.0.1:${server.port}`], {
        ...process.env,
        ADMIN_API_KEY: "sk-admin-wrong",
      });
      expect(wrongKey.code).toBe(1);
      expect(wrongKey.stdout).toContain("✗ admin key: HTTP 401");
      const port = await freePort();
      const nobody = await run(process.execPath, ["scripts/smoke.mjs", `http://127.0.0.1:${port}`], {
        ...process.env,
        ADMIN_API_KEY: SEED_ADMIN_KEY,
      });
      expect(nobody.code).toBe(1);
      expect(nobody.stdout).toContain("✗ health: no answer");
      expect(nobody.stdout).toContain("failed 3 checks");
    });
  });
});
