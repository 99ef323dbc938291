import { describe, expect, it } from "vitest";
import { deployProblems, unreachableHostReason } from "../../scripts/lib/deploy-checks.mjs";

const REAL_DB = { binding: "DB", database_name: "llm-job-gateway", database_id: "5f3c2a1b-9d8e-4f7a-b6c5-d4e3f2a1b0c9" };
const config = (url: string | undefined, databaseId = REAL_DB.database_id) => ({
  vars: url === undefined ? {} : { LITELLM_BASE_URL: url },
  d1_databases: [{ ...REAL_DB, database_id: databaseId }],
});
const hostOf = (url: string) => new URL(url).hostname;

describe("deploy preflight: what npm run deploy refuses", () => {
  it("passes a public LiteLLM URL and a real database id", () => {
    expect(deployProblems(config("https://litellm.example.com"))).toEqual([]);
    expect(deployProblems(config("http://203.0.113.7:4000/v1"))).toEqual([]);
  });

  it("refuses the repo's default loopback URL, naming it and what to set", () => {
    const [problem, ...rest] = deployProblems(config("http://127.0.0.1:4000"));
    expect(rest).toEqual([]);
    expect(problem).toContain('LITELLM_BASE_URL = "http://127.0.0.1:4000"');
    expect(problem).toContain("loopback");
    expect(problem).toContain("public URL");
  });

  it("refuses every way of writing this machine or a local network", () => {
    for (const url of [
      "http://localhost:4000",
      "http://api.localhost",
      "http://127.1:4000",
      "http://2130706433",
      "http://0.0.0.0:4000",
      "http://[::1]:4000",
      "http://[0:0:0:0:0:0:0:1]",
      "http://[::ffff:127.0.0.1]",
      "http://[::]",
      "http://10.0.0.5:4000",
      "http://172.20.1.1",
      "http://192.168.1.10:4000",
      "http://169.254.169.254",
      "http://100.64.0.1",
      "http://[fd12::1]",
      "http://[fe80::1]",
      "http://litellm:4000",
      "http://proxy.local",
      "http://litellm.internal",
    ]) {
      expect(unreachableHostReason(hostOf(url)), url).not.toBeNull();
      expect(deployProblems(config(url)), url).toHaveLength(1);
    }
  });

  it("lets public addresses next to the private ranges through", () => {
    for (const url of [
      "http://172.32.0.1",
      "http://100.128.0.1",
      "http://11.0.0.1",
      "http://[2001:db8::1]",
      "https://localhost.example.com",
    ]) {
      expect(unreachableHostReason(hostOf(url)), url).toBeNull();
    }
  });

  it("refuses a missing, empty or unparsable URL", () => {
    expect(deployProblems(config(undefined))[0]).toContain("LITELLM_BASE_URL is not set");
    expect(deployProblems(config("  "))[0]).toContain("LITELLM_BASE_URL is not set");
    expect(deployProblems(config("litellm.example.com"))[0]).toContain("is not a URL");
    expect(deployProblems(config("ftp://litellm.example.com"))[0]).toContain("not an http(s) URL");
  });

  it("refuses the placeholder database id and says how to get a real one", () => {
    const [problem, ...rest] = deployProblems(config("https://litellm.example.com", "00000000-0000-0000-0000-000000000000"));
    expect(rest).toEqual([]);
    expect(problem).toContain("placeholder 00000000-0000-0000-0000-000000000000");
    expect(problem).toContain("npx wrangler d1 create llm-job-gateway");
    expect(deployProblems(config("https://litellm.example.com", ""))[0]).toContain("not set");
    expect(deployProblems({ vars: { LITELLM_BASE_URL: "https://litellm.example.com" }, d1_databases: [] })[0]).toContain('binding = "DB"');
  });

  it("reports both problems of the repo's own wrangler.toml at once", () => {
    expect(deployProblems(config("http://127.0.0.1:4000", "00000000-0000-0000-0000-000000000000"))).toHaveLength(2);
  });
});
