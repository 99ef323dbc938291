#!/usr/bin/env node
// Smoke test of the REAL pinned LiteLLM proxy in front of the repo's mock
// OpenAI-compatible upstream: starts both on loopback, sends a few chat
// completions with the master key, prints what comes back on the wire, stops
// everything. Exit code 0 only if every check holds.
//
//   node scripts/litellm-smoke.mjs

import { startMockLiteLLM } from "../mock-litellm/server.mjs";
import { startLiteLLM } from "./litellm-env.mjs";

const SHOWN_HEADERS = /^(x-litellm-|x-ratelimit-|llm_provider-|content-type$|x-request-id$)/i;
const checks = [];
const check = (ok, what) => {
  checks.push({ ok, what });
  console.log(`  ${ok ? "ok  " : "FAIL"} ${what}`);
};

function printHeaders(res) {
  for (const [k, v] of res.headers) if (SHOWN_HEADERS.test(k)) console.log(`  ${k}: ${v}`);
}

async function post(litellm, body, { key = litellm.masterKey } = {}) {
  const started = performance.now();
  const res = await fetch(`${litellm.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  return { res, text, ms: Math.round(performance.now() - started) };
}

const messages = [{ role: "user", content: "Say hello to the smoke test." }];

async function nonStream(litellm) {
  console.log("\n== non-stream gpt-4o-mini");
  const { res, text, ms } = await post(litellm, { model: "gpt-4o-mini", messages, max_tokens: 64 });
  console.log(`  status ${res.status} (${ms} ms)`);
  printHeaders(res);
  const body = JSON.parse(text);
  console.log(`  body.model: ${body.model}`);
  console.log(`  body.usage: ${JSON.stringify(body.usage)}`);
  console.log(`  choices[0].message.content: ${JSON.stringify(body.choices?.[0]?.message?.content?.slice(0, 80))}...`);
  const cost = Number(res.headers.get("x-litellm-response-cost"));
  check(res.status === 200, "non-stream: status 200");
  check(Number.isFinite(cost) && cost > 0, `non-stream: x-litellm-response-cost > 0 (${res.headers.get("x-litellm-response-cost")})`);
  check(body.usage?.prompt_tokens > 0 && body.usage?.completion_tokens > 0, "non-stream: usage has prompt/completion tokens");
}

async function stream(litellm) {
  console.log("\n== stream gpt-4o-mini, stream_options.include_usage");
  const { res, text, ms } = await post(litellm, {
    model: "gpt-4o-mini",
    messages,
    max_tokens: 64,
    stream: true,
    stream_options: { include_usage: true },
  });
  console.log(`  status ${res.status} (${ms} ms)`);
  printHeaders(res);
  const events = text
    .split("\n\n")
    .map((e) => e.trim())
    .filter(Boolean);
  const data = events.map((e) => e.replace(/^data: ?/, ""));
  const done = data.at(-1) === "[DONE]";
  const chunks = data.filter((d) => d !== "[DONE]").map((d) => JSON.parse(d));
  const usageChunks = chunks.filter((c) => c.usage);
  console.log(`  events: ${events.length} (chunks ${chunks.length}, ends with [DONE]: ${done})`);
  console.log(`  first chunk: ${data[0]}`);
  const finish = chunks.find((c) => c.choices?.[0]?.finish_reason);
  console.log(`  finish chunk: ${finish ? JSON.stringify(finish) : "(none)"}`);
  for (const c of usageChunks) console.log(`  usage chunk: ${JSON.stringify(c)}`);
  const content = chunks.map((c) => c.choices?.[0]?.delta?.content ?? "").join("");
  console.log(`  content: ${JSON.stringify(content.slice(0, 80))}...`);
  const usage = usageChunks.at(-1)?.usage;
  check(res.status === 200, "stream: status 200");
  check(done, "stream: ends with data: [DONE]");
  check(usageChunks.length === 1, `stream: exactly one usage chunk (${usageChunks.length})`);
  check(usage?.prompt_tokens > 0 && usage?.completion_tokens > 0, "stream: usage has prompt/completion tokens");
  console.log(`  usage chunk choices: ${JSON.stringify(usageChunks.at(-1)?.choices)}; usage.cost: ${usage?.cost}`);
}

async function errorCase(litellm, title, body, expect, opts) {
  console.log(`\n== ${title}`);
  const { res, text, ms } = await post(litellm, body, opts);
  console.log(`  status ${res.status} (${ms} ms)`);
  printHeaders(res);
  console.log(`  body: ${text.length > 1500 ? `${text.slice(0, 1500)}...` : text}`);
  check(expect(res.status), `${title}: status ${res.status}`);
  let parsed = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  check(typeof parsed?.error?.message === "string", `${title}: body is an {"error":{...}} envelope`);
}

async function main() {
  const t0 = performance.now();
  const mock = await startMockLiteLLM({ port: 0, mode: "upstream", quiet: true });
  console.log(`mock upstream on ${mock.url}`);
  let litellm = null;
  const cleanup = async () => {
    await litellm?.stop();
    await mock.close();
  };
  for (const sig of ["SIGINT", "SIGTERM"]) {
    process.once(sig, () => {
      cleanup().finally(() => process.exit(130));
    });
  }
  try {
    litellm = await startLiteLLM({ upstreamUrl: mock.url, port: 0 });
    await nonStream(litellm);
    await stream(litellm);
    await errorCase(litellm, "always-fails (non-stream)", { model: "always-fails", messages }, (s) => s >= 500);
    await errorCase(
      litellm,
      "always-fails (stream)",
      {
        model: "always-fails",
        messages,
        stream: true,
        stream_options: { include_usage: true },
      },
      (s) => s >= 500,
    );
    await errorCase(litellm, "unknown model", { model: "no-such-model", messages }, (s) => s === 400);
    await errorCase(litellm, "wrong key", { model: "gpt-4o-mini", messages }, (s) => s === 400 || s === 401, {
      key: `sk-${"0".repeat(64)}`,
    });
  } finally {
    await cleanup();
  }
  const failed = checks.filter((c) => !c.ok);
  console.log(
    `\nlitellm-smoke: ${checks.length - failed.length}/${checks.length} checks ok, ` +
      `total ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  if (failed.length) {
    for (const f of failed) console.log(`  FAILED: ${f.what}`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(err?.stack ?? err);
  process.exitCode = 1;
});
