// Tests for mock-litellm/server.mjs. Run: node --test mock-litellm/

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import {
  buildAnswer,
  countPromptTokens,
  countTokens,
  EMBEDDING_PRICES,
  embeddingTokens,
  embeddingVector,
  MODEL_PRICES,
  parseModelName,
  pythonFloatRepr,
  splitIntoChunks,
  startMockLiteLLM,
} from "./server.mjs";

const MESSAGES = [
  { role: "system", content: "You are terse." },
  { role: "user", content: "Tell me something about gateways and billing." },
];
const WEATHER_TOOL = {
  type: "function",
  function: {
    name: "get_weather",
    parameters: { type: "object", properties: { city: { type: "string" }, unit: { enum: ["c", "f"] } }, required: ["city"] },
  },
};

// --- helpers ---------------------------------------------------------------

function chat(mock, body, headers = {}, signal) {
  return fetch(`${mock.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
    signal,
  });
}

/**
 * Reads an SSE body; returns the raw text and each event ("\n\n"-separated
 * frame) with the time it arrived, so pacing can be checked.
 */
async function readEvents(res, { stopAfter } = {}) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const events = [];
  let buffer = "";
  let raw = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    const text = decoder.decode(value, { stream: true });
    raw += text;
    buffer += text;
    const at = performance.now();
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      events.push({ frame: buffer.slice(0, cut), at });
      buffer = buffer.slice(cut + 2);
    }
    if (stopAfter && events.length >= stopAfter) {
      await reader.cancel();
      break;
    }
  }
  return { raw, events, rest: buffer };
}

/** Parsed JSON of `data:` events that hold valid JSON (what a tolerant client keeps). */
function dataObjects(events) {
  const out = [];
  for (const { frame } of events) {
    if (!frame.startsWith("data: ") || frame === "data: [DONE]") continue;
    try {
      out.push(JSON.parse(frame.slice(6)));
    } catch {
      // malformed line: skipped, as the gateway's parser must do
    }
  }
  return out;
}

function concatContent(chunks) {
  return chunks.map((c) => c.choices?.[0]?.delta?.content ?? "").join("");
}

function hasNullDeep(value) {
  if (value === null) return true;
  if (typeof value !== "object") return false;
  return Object.values(value).some(hasNullDeep);
}

const delay = (ms) => new Promise((r) => setTimeout(r, ms));

// --- pure helpers ----------------------------------------------------------

describe("exported helpers", () => {
  test("prices match LiteLLM cost map", () => {
    assert.deepEqual(MODEL_PRICES["gpt-4o-mini"], { input_cost_per_token: 0.00000015, output_cost_per_token: 0.0000006 });
    assert.deepEqual(Object.keys(MODEL_PRICES).sort(), ["gpt-3.5-turbo", "gpt-4", "gpt-4-turbo", "gpt-4o-mini"]);
  });

  test("token counting rules", () => {
    // ceil(14/4)+4 + ceil(45/4)+4 + 3
    assert.equal(countPromptTokens(MESSAGES), 4 + 4 + 12 + 4 + 3);
    assert.equal(countTokens("Hello big  world."), 3);
    const answer = buildAnswer({ messages: MESSAGES }, "gpt-4");
    assert.equal(answer.completionTokens, countTokens(answer.content));
    const words = answer.content.split(/\s+/).length;
    assert.ok(words >= 20 && words <= 90, `word count ${words}`);
    assert.ok(answer.content.startsWith("Mock answer from gpt-4: "));
    assert.deepEqual(buildAnswer({ messages: MESSAGES }, "gpt-4"), answer, "deterministic");
  });

  test("chunk splitting keeps the text and honours the count", () => {
    const text = "one two three four five";
    assert.deepEqual(splitIntoChunks(text), ["one", " two", " three", " four", " five"]);
    assert.equal(splitIntoChunks(text, 2).join(""), text);
    assert.equal(splitIntoChunks("ab", 5).length, 2);
    assert.equal(splitIntoChunks("word", 3).length, 3, "at least 3 by default even for one piece");
  });

  test("python float formatting of header values", () => {
    assert.equal(pythonFloatRepr(0.000015), "1.5e-05");
    assert.equal(pythonFloatRepr(0.00012), "0.00012");
    assert.equal(pythonFloatRepr(2), "2.0");
    assert.equal(pythonFloatRepr(0), "0.0");
  });

  test("model name grammar", () => {
    assert.deepEqual(parseModelName("gpt-4+fail=500+delay=5").options, { fail: "500", delay: 5 });
    assert.equal(parseModelName("nope"), null);
    assert.equal(parseModelName("gpt-4+bogus=1"), null);
    assert.equal(parseModelName("gpt-4+delay=abc"), null);
  });
});

// --- proxy mode ------------------------------------------------------------

describe("proxy mode", () => {
  let mock;
  before(async () => {
    mock = await startMockLiteLLM({ port: 0, quiet: true, masterKey: "" });
  });
  after(() => mock.close());

  test("health, readiness and models", async () => {
    assert.equal(await (await fetch(`${mock.url}/health/liveliness`)).json(), "I'm alive!");
    assert.equal(await (await fetch(`${mock.url}/health/liveness`)).json(), "I'm alive!");
    assert.deepEqual(await (await fetch(`${mock.url}/health/readiness`)).json(), {
      status: "healthy",
      db: "Not connected",
      cache: null,
      litellm_version: "mock",
      success_callbacks: [],
    });
    for (const path of ["/v1/models", "/models"]) {
      const models = await (await fetch(`${mock.url}${path}`)).json();
      assert.equal(models.object, "list");
      assert.deepEqual(models.data[0], { id: "gpt-3.5-turbo", object: "model", created: 1677610602, owned_by: "openai" });
    }
  });

  test("non-stream body and headers", async () => {
    const res = await chat(mock, { model: "gpt-4o-mini", messages: MESSAGES }, { "x-litellm-call-id": "call-123" });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/json");
    const body = await res.json();
    const expected = buildAnswer({ messages: MESSAGES }, "gpt-4o-mini");
    assert.match(body.id, /^chatcmpl-[0-9a-f-]{36}$/);
    assert.equal(body.object, "chat.completion");
    assert.equal(body.model, "gpt-4o-mini");
    assert.equal(typeof body.created, "number");
    assert.match(body.system_fingerprint, /^fp_/);
    // LiteLLM 1.106.12's shape: no tool_calls/function_call members when there are none.
    assert.deepEqual(body.choices, [
      {
        finish_reason: "stop",
        index: 0,
        message: { content: expected.content, role: "assistant", provider_specific_fields: { refusal: null }, annotations: [] },
        provider_specific_fields: {},
      },
    ]);
    assert.equal(body.service_tier, "default");
    assert.equal(body.usage.prompt_tokens, expected.promptTokens);
    assert.equal(body.usage.completion_tokens, expected.completionTokens);
    assert.equal(body.usage.total_tokens, expected.promptTokens + expected.completionTokens);
    assert.deepEqual(body.usage.prompt_tokens_details, { audio_tokens: 0, cached_tokens: 0 });
    assert.equal(body.usage.completion_tokens_details.reasoning_tokens, 0);

    const h = res.headers;
    assert.equal(h.get("x-litellm-call-id"), "call-123");
    assert.equal(h.get("x-litellm-model-id"), "mock-gpt-4o-mini");
    assert.equal(h.get("x-litellm-model-group"), "gpt-4o-mini");
    assert.ok(h.get("x-litellm-model-api-base"));
    assert.equal(h.get("x-litellm-version"), "mock");
    assert.equal(h.get("x-litellm-attempted-retries"), "0");
    assert.equal(h.get("x-litellm-attempted-fallbacks"), "0");
    assert.equal(h.get("x-litellm-model-name"), "openai/gpt-4o-mini");
    assert.ok(Number.parseFloat(h.get("x-litellm-response-duration-ms")) >= 0);
    assert.ok(Number.parseFloat(h.get("x-litellm-overhead-duration-ms")) >= 0);
    const cost = expected.promptTokens * 0.00000015 + expected.completionTokens * 0.0000006;
    assert.equal(Number.parseFloat(h.get("x-litellm-response-cost")), cost);
    assert.equal(Number.parseFloat(h.get("x-litellm-key-spend")), cost);
    assert.equal(Number.parseFloat(h.get("x-litellm-response-cost-original")), cost);
    assert.equal(Number.parseFloat(h.get("x-litellm-response-cost-input")), expected.promptTokens * 0.00000015);
    assert.equal(Number.parseFloat(h.get("x-litellm-response-cost-output")), expected.completionTokens * 0.0000006);
  });

  test("embeddings: LiteLLM's list shape, prompt tokens, cost header, floats or base64", async () => {
    const post = (body) =>
      fetch(`${mock.url}/embeddings`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const res = await post({ model: "text-embedding-3-small", input: ["hello world", "gateways"] });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.object, "list");
    assert.equal(body.model, "text-embedding-3-small");
    assert.deepEqual(
      body.data.map((d) => [d.object, d.index, d.embedding.length]),
      [
        ["embedding", 0, 8],
        ["embedding", 1, 8],
      ],
    );
    assert.deepEqual(body.data[0].embedding, embeddingVector("hello world"));
    const tokens = embeddingTokens("hello world") + embeddingTokens("gateways");
    assert.deepEqual([body.usage.prompt_tokens, body.usage.total_tokens, body.usage.completion_tokens], [tokens, tokens, 0]);
    assert.equal(res.headers.get("x-litellm-response-cost"), pythonFloatRepr(tokens * EMBEDDING_PRICES["text-embedding-3-small"]));

    const encoded = await (await post({ model: "text-embedding-3-small", input: "hello world", encoding_format: "base64" })).json();
    const bytes = Buffer.from(encoded.data[0].embedding, "base64");
    const floats = Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
    assert.deepEqual(
      floats.map((f) => f.toFixed(5)),
      embeddingVector("hello world").map((f) => f.toFixed(5)),
    );

    assert.equal((await post({ model: "text-embedding-3-small+fail=500", input: "x" })).status, 500);
    assert.equal((await post({ model: "gpt-4o-mini", input: "x" })).status, 400);
    assert.equal((await post({ model: "text-embedding-3-small", input: [] })).status, 400);
  });

  test("n=3 on a plain answer: three choices, completion tokens and cost counted three times", async () => {
    const one = await (await chat(mock, { model: "gpt-4o-mini", messages: MESSAGES })).json();
    const res = await chat(mock, { model: "gpt-4o-mini", messages: MESSAGES, n: 3 });
    const three = await res.json();
    assert.deepEqual(
      three.choices.map((c) => [c.index, c.message.content]),
      [0, 1, 2].map((i) => [i, one.choices[0].message.content]),
    );
    assert.equal(three.usage.completion_tokens, one.usage.completion_tokens * 3);
    const answer = buildAnswer({ messages: MESSAGES }, "gpt-4o-mini");
    assert.equal(
      res.headers.get("x-litellm-response-cost"),
      pythonFloatRepr(
        answer.promptTokens * MODEL_PRICES["gpt-4o-mini"].input_cost_per_token +
          answer.completionTokens * 3 * MODEL_PRICES["gpt-4o-mini"].output_cost_per_token,
      ),
    );
  });

  test("call id is generated when not sent", async () => {
    const res = await chat(mock, { model: "gpt-4", messages: MESSAGES });
    assert.match(res.headers.get("x-litellm-call-id"), /^[0-9a-f-]{36}$/);
    await res.arrayBuffer();
  });

  test("stream framing matches the non-stream answer exactly", async () => {
    const request = { model: "gpt-4o-mini", messages: MESSAGES };
    const plain = await (await chat(mock, request)).json();
    const res = await chat(mock, { ...request, stream: true, stream_options: { include_usage: true } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/event-stream; charset=utf-8");
    assert.equal(res.headers.get("x-accel-buffering"), "no");
    assert.equal(res.headers.get("cache-control"), "no-cache");
    assert.equal(res.headers.get("x-litellm-response-cost"), null, "no cost header on streams");
    assert.equal(res.headers.get("x-litellm-response-cost-original"), "0.0", "the breakdown headers are there, at 0.0");
    assert.ok(res.headers.get("x-litellm-call-id"));
    assert.ok(res.headers.get("x-litellm-model-id"));

    const { raw, events, rest } = await readEvents(res);
    assert.equal(rest, "", "stream ends on an event boundary");
    assert.ok(raw.endsWith("data: [DONE]\n\n"));
    assert.ok(events.every((e) => e.frame.startsWith("data: ")));
    const chunks = dataObjects(events);
    assert.ok(chunks.every((c) => c.object === "chat.completion.chunk" && c.model === "gpt-4o-mini"));
    assert.ok(
      chunks.every((c) => !hasNullDeep(c)),
      "nulls are omitted in chunks",
    );
    assert.equal(new Set(chunks.map((c) => c.id)).size, 1);
    assert.equal(chunks[0].choices[0].delta.role, "assistant");
    assert.ok(chunks[0].choices[0].delta.content.length > 0, "first delta carries the first piece");

    const usageChunks = chunks.filter((c) => c.usage);
    assert.equal(usageChunks.length, 1);
    const [usageChunk] = usageChunks;
    assert.equal(chunks.at(-1), usageChunk, "usage is the last JSON chunk");
    assert.deepEqual(usageChunk.choices, [{ index: 0, delta: {} }], "LiteLLM quirk by default");
    const finish = chunks.at(-2);
    assert.deepEqual(finish.choices, [{ index: 0, delta: {}, finish_reason: "stop" }]);

    assert.equal(concatContent(chunks), plain.choices[0].message.content);
    assert.equal(usageChunk.usage.prompt_tokens, plain.usage.prompt_tokens);
    assert.equal(usageChunk.usage.completion_tokens, plain.usage.completion_tokens);
    assert.equal(usageChunk.usage.total_tokens, plain.usage.total_tokens);
    const expectedCost = plain.usage.prompt_tokens * 0.00000015 + plain.usage.completion_tokens * 0.0000006;
    assert.equal(usageChunk.usage.cost, expectedCost);
    // one content chunk per word-ish piece by default
    assert.equal(chunks.length - 2, countTokens(plain.choices[0].message.content));
  });

  test("usage chunk only with include_usage; usagechoices=empty", async () => {
    const without = await readEvents(await chat(mock, { model: "gpt-4", messages: MESSAGES, stream: true }));
    assert.ok(dataObjects(without.events).every((c) => !c.usage));
    assert.ok(without.raw.endsWith("data: [DONE]\n\n"));

    const empty = await readEvents(
      await chat(mock, {
        model: "gpt-4+usagechoices=empty",
        messages: MESSAGES,
        stream: true,
        stream_options: { include_usage: true },
      }),
    );
    const usage = dataObjects(empty.events).find((c) => c.usage);
    assert.deepEqual(usage.choices, []);
  });

  test("chunks=N and max_tokens", async () => {
    const { events } = await readEvents(await chat(mock, { model: "gpt-4+chunks=4", messages: MESSAGES, stream: true }));
    const chunks = dataObjects(events);
    assert.equal(chunks.filter((c) => c.choices[0].delta.content !== undefined).length, 4);

    const body = { model: "gpt-3.5-turbo", messages: MESSAGES, max_tokens: 5 };
    const plain = await (await chat(mock, body)).json();
    assert.equal(plain.choices[0].finish_reason, "length");
    assert.equal(plain.usage.completion_tokens, 5);
    assert.equal(countTokens(plain.choices[0].message.content), 5);
    const streamed = dataObjects((await readEvents(await chat(mock, { ...body, stream: true }))).events);
    assert.equal(concatContent(streamed), plain.choices[0].message.content);
    assert.equal(streamed.at(-1).choices[0].finish_reason, "length");
  });

  test("tool calls, plain and streamed", async () => {
    const body = { model: "gpt-4", messages: MESSAGES, tools: [WEATHER_TOOL] };
    const plain = await (await chat(mock, body)).json();
    const message = plain.choices[0].message;
    assert.equal(plain.choices[0].finish_reason, "tool_calls");
    assert.equal(message.content, null);
    assert.equal(message.tool_calls.length, 1);
    const [call] = message.tool_calls;
    assert.equal(call.type, "function");
    assert.equal(call.function.name, "get_weather");
    assert.deepEqual(JSON.parse(call.function.arguments), { city: "mock value", unit: "c" });

    const chunks = dataObjects(
      (
        await readEvents(
          await chat(mock, {
            ...body,
            stream: true,
            stream_options: { include_usage: true },
          }),
        )
      ).events,
    );
    const deltas = chunks.flatMap((c) => c.choices?.[0]?.delta?.tool_calls ?? []);
    assert.equal(deltas[0].id, call.id);
    assert.equal(deltas[0].function.name, "get_weather");
    assert.equal(deltas.map((d) => d.function.arguments).join(""), call.function.arguments);
    assert.ok(
      deltas.every((d) => d.type === "function" && d.index === 0),
      "LiteLLM repeats type on every fragment",
    );
    assert.equal(chunks.find((c) => c.choices[0]?.finish_reason).choices[0].finish_reason, "tool_calls");
    assert.equal(chunks.at(-1).usage.completion_tokens, plain.usage.completion_tokens);

    const none = await (await chat(mock, { ...body, tool_choice: "none" })).json();
    assert.equal("tool_calls" in none.choices[0].message, false);
    assert.equal(typeof none.choices[0].message.content, "string");
  });

  test("pacing: ttfb and delay between chunks, no buffering", async () => {
    const n = 5;
    const gap = 60;
    const t0 = performance.now();
    const res = await chat(mock, { model: `gpt-4o-mini+ttfb=100+delay=${gap}+chunks=${n}`, messages: MESSAGES, stream: true });
    assert.ok(performance.now() - t0 >= 95, "headers wait for ttfb");
    const { events } = await readEvents(res);
    const content = events.filter((e) => e.frame.includes('"content"'));
    assert.equal(content.length, n);
    assert.ok(content.at(-1).at - content[0].at >= (n - 1) * gap - 5);
    for (let i = 1; i < n; i++) {
      assert.ok(content[i].at - content[i - 1].at >= gap * 0.7, `chunk ${i} arrived separately`);
    }
  });

  test("defaultChunkDelayMs applies when the name has no delay", async () => {
    const slow = await startMockLiteLLM({ quiet: true, masterKey: "", defaultChunkDelayMs: 30 });
    try {
      const { events } = await readEvents(await chat(slow, { model: "gpt-4+chunks=4", messages: MESSAGES, stream: true }));
      const content = events.filter((e) => e.frame.includes('"content"'));
      assert.ok(content.at(-1).at - content[0].at >= 3 * 30 - 5);
    } finally {
      await slow.close();
    }
  });

  // [fail mode, status, message, type]: as LiteLLM 1.106.12 answers an upstream failing this way.
  const STATUS_FAILURES = [
    ["500", 500, /^litellm\.InternalServerError: /, "internal_server_error"],
    ["503", 503, /^litellm\.ServiceUnavailableError: /, "internal_server_error"],
    ["429", 429, /^litellm\.RateLimitError: /, "throttling_error"],
    ["408", 408, /^litellm\.Timeout: /, "invalid_request_error"],
    ["400", 400, /^litellm\.ContextWindowExceededError: .*context length/, "invalid_request_error"],
    ["401", 401, /^litellm\.AuthenticationError: /, "authentication_error"],
  ];
  for (const [mode, status, pattern, type] of STATUS_FAILURES) {
    test(`fail=${mode} -> ${status} LiteLLM envelope`, async () => {
      for (const stream of [false, true]) {
        const res = await chat(mock, { model: `gpt-4+fail=${mode}`, messages: MESSAGES, stream }, { "x-litellm-call-id": "c1" });
        assert.equal(res.status, status);
        assert.equal(res.headers.get("content-type"), "application/json", "errors before the first chunk are JSON");
        assert.equal(res.headers.get("x-litellm-call-id"), "c1");
        assert.equal(res.headers.get("x-litellm-response-cost"), "0");
        const { error } = await res.json();
        assert.match(error.message, pattern);
        assert.match(
          error.message,
          /\n\nLiteLLM: model group 'gpt-4\+fail=\d+' failed with the error above\. No fallback was attempted\.$/,
        );
        assert.equal(error.code, String(status));
        assert.equal(error.type, type);
        assert.equal(error.param, null);
      }
    });
  }

  test("fail=timeout never answers; the client gives up", async () => {
    const t0 = performance.now();
    await assert.rejects(
      chat(mock, { model: "gpt-4+fail=timeout", messages: MESSAGES }, {}, AbortSignal.timeout(300)),
      (err) => err.name === "TimeoutError" || err.name === "AbortError",
    );
    assert.ok(performance.now() - t0 >= 290);
    assert.equal((await fetch(`${mock.url}/health/liveliness`)).status, 200, "server still fine");
  });

  test("fail=reset destroys the socket", async () => {
    await assert.rejects(chat(mock, { model: "gpt-4+fail=reset", messages: MESSAGES }), TypeError);
  });

  test("fail=badjson gives a 200 with an unparsable JSON body", async () => {
    const res = await chat(mock, { model: "gpt-4+fail=badjson", messages: MESSAGES });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/json");
    const text = await res.text();
    assert.ok(text.startsWith("{"));
    assert.throws(() => JSON.parse(text), SyntaxError);
  });

  test("fail=html gives a load-balancer 502", async () => {
    const res = await chat(mock, { model: "gpt-4+fail=html", messages: MESSAGES });
    assert.equal(res.status, 502);
    assert.equal(res.headers.get("content-type"), "text/html");
    assert.match(await res.text(), /<h1>502 Bad Gateway<\/h1>/);
  });

  test("fail=midstream: two chunks, an error event, no [DONE]", async () => {
    const res = await chat(mock, {
      model: "gpt-4+fail=midstream",
      messages: MESSAGES,
      stream: true,
      stream_options: { include_usage: true },
    });
    assert.equal(res.status, 200);
    const { raw, events } = await readEvents(res);
    assert.ok(!raw.includes("[DONE]"));
    const objects = dataObjects(events);
    assert.equal(objects.length, 3);
    assert.equal(objects.filter((o) => o.choices).length, 2);
    const { error } = objects[2];
    assert.match(error.message, /^litellm\.APIConnectionError/);
    assert.equal(error.code, "500");
    assert.equal(error.type, null);
    assert.equal(error.param, null);
    assert.ok(events[2].frame.startsWith('data: {"error": {"message": '), "Python json.dumps spacing");

    const plain = await chat(mock, { model: "gpt-4+fail=midstream", messages: MESSAGES });
    assert.equal(plain.status, 500);
    assert.match((await plain.json()).error.message, /^litellm\.InternalServerError: /);
  });

  test("fail=malformed mixes junk lines into a valid stream", async () => {
    const request = { model: "gpt-4o-mini", messages: MESSAGES };
    const plain = await (await chat(mock, request)).json();
    const { raw, events } = await readEvents(
      await chat(mock, {
        ...request,
        model: "gpt-4o-mini+fail=malformed",
        stream: true,
        stream_options: { include_usage: true },
      }),
    );
    assert.ok(
      events.some((e) => !e.frame.startsWith("data: ")),
      "has non-data lines",
    );
    assert.ok(
      events.some((e) => e.frame.startsWith("data: {") && !e.frame.endsWith("}")),
      "has invalid JSON data",
    );
    const chunks = dataObjects(events);
    assert.equal(concatContent(chunks), plain.choices[0].message.content);
    assert.equal(chunks.at(-1).usage.total_tokens, plain.usage.total_tokens);
    assert.ok(raw.endsWith("data: [DONE]\n\n"));
  });

  test("hang=N sends N chunks then stalls until the client leaves", async () => {
    const controller = new AbortController();
    const res = await chat(mock, { model: "gpt-4+hang=2", messages: MESSAGES, stream: true }, {}, controller.signal);
    const reader = res.body.getReader();
    let text = "";
    const deadline = performance.now() + 300;
    while (performance.now() < deadline) {
      const next = await Promise.race([reader.read(), delay(deadline - performance.now()).then(() => null)]);
      if (!next || next.done) break;
      text += new TextDecoder().decode(next.value);
    }
    assert.equal(text.split("\n\n").filter((f) => f.startsWith("data: ")).length, 2);
    assert.ok(!text.includes("[DONE]"));
    controller.abort();
    await reader.cancel().catch(() => {});
  });

  test("hugeevent=N adds one N-character content event after the first; hugebody=N pads a plain answer", async () => {
    const streamed = await chat(mock, { model: "gpt-4+hugeevent=5000", messages: MESSAGES, stream: true });
    const chunks = dataObjects((await readEvents(streamed)).events);
    assert.equal(chunks[1].choices[0].delta.content, "x".repeat(5000));
    const plain = await chat(mock, { model: "gpt-4+hugebody=7000", messages: MESSAGES });
    const body = await plain.json();
    assert.ok(body.choices[0].message.content.endsWith("x".repeat(7000)));
    assert.equal(body.usage.total_tokens, buildAnswer({ messages: MESSAGES }, "gpt-4").totalTokens);
  });

  test("client disconnect mid-stream is harmless", async () => {
    const controller = new AbortController();
    const res = await chat(mock, { model: "gpt-4+delay=20+chunks=30", messages: MESSAGES, stream: true }, {}, controller.signal);
    await readEvents(res, { stopAfter: 2 });
    controller.abort();
    await delay(100);
    const after = await chat(mock, { model: "gpt-4", messages: MESSAGES });
    assert.equal(after.status, 200);
    await after.arrayBuffer();
  });

  test("unknown model, bad option, missing messages, invalid JSON", async () => {
    for (const model of ["nope", "fail-notfound", "gpt-4+bogus=1"]) {
      const res = await chat(mock, { model, messages: MESSAGES });
      assert.equal(res.status, 400);
      const message = `/chat/completions: Invalid model name passed in model=${model}. Call \`/v1/models\` to view available models for your key.`;
      assert.deepEqual(await res.json(), {
        error: {
          message,
          type: "invalid_request_error",
          param: null,
          code: "400",
          provider_specific_fields: { error: message },
        },
      });
    }
    const missing = await chat(mock, { model: "gpt-4" });
    assert.equal(missing.status, 400);
    assert.deepEqual((await missing.json()).error, {
      message: "/chat/completions: Missing required parameter: 'messages'.",
      type: "invalid_request_error",
      param: "messages",
      code: "400",
    });
    const invalid = await chat(mock, '{"model": "gpt-4", ');
    assert.equal(invalid.status, 400);
    assert.equal((await invalid.json()).error.code, "400");
  });

  test("request log: redaction, user filter, limit, clear", async () => {
    await fetch(`${mock.url}/__mock/requests`, { method: "DELETE" });
    assert.equal(mock.requests.length, 0);
    for (const user of ["alice", "bob", "alice"]) {
      const res = await chat(mock, { model: "gpt-4", messages: MESSAGES, user }, { authorization: "Bearer sk-secret" });
      await res.arrayBuffer();
    }
    const all = await (await fetch(`${mock.url}/__mock/requests`)).json();
    assert.equal(all.requests.length, 3);
    const alice = await (await fetch(`${mock.url}/__mock/requests?user=alice`)).json();
    assert.equal(alice.requests.length, 2);
    const [entry] = alice.requests;
    assert.equal(entry.method, "POST");
    assert.equal(entry.path, "/v1/chat/completions");
    assert.equal(entry.headers.authorization, "present");
    assert.equal(entry.headers["content-type"], "application/json");
    assert.equal(entry.body.user, "alice");
    assert.ok(!JSON.stringify(all).includes("sk-secret"));
    assert.ok(!Number.isNaN(Date.parse(entry.received_at)));
    const last = await (await fetch(`${mock.url}/__mock/requests?limit=1`)).json();
    assert.equal(last.requests.length, 1);
    assert.equal(last.requests[0].body.user, "alice", "newest last");
    assert.equal(mock.requests.length, 3, "same buffer as the API");
    assert.equal((await fetch(`${mock.url}/__mock/requests`, { method: "DELETE" })).status, 200);
    assert.equal(mock.requests.length, 0);
  });
});

// --- auth --------------------------------------------------------------------

describe("auth with a master key", () => {
  let mock;
  const key = "sk-mock-master-0123";
  before(async () => {
    mock = await startMockLiteLLM({ quiet: true, masterKey: key });
  });
  after(() => mock.close());
  const body = { model: "gpt-4", messages: MESSAGES };

  test("missing key -> 401", async () => {
    const res = await chat(mock, body);
    assert.equal(res.status, 401);
    assert.deepEqual(await res.json(), {
      error: {
        message: "Authentication Error, No api key passed in.",
        type: "auth_error",
        param: "None",
        code: "401",
      },
    });
  });

  test("bare key without Bearer fails", async () => {
    const res = await chat(mock, body, { authorization: key });
    assert.equal(res.status, 401);
    assert.match((await res.json()).error.message, /Malformed API Key/);
  });

  test("wrong key -> 400 no_db_connection", async () => {
    const res = await chat(mock, body, { authorization: "Bearer sk-wrong" });
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), { error: { message: "No connected db.", type: "no_db_connection", param: null, code: "400" } });
  });

  test("right key passes; health and control routes need none", async () => {
    const ok = await chat(mock, body, { authorization: `Bearer ${key}` });
    assert.equal(ok.status, 200);
    await ok.arrayBuffer();
    assert.equal((await fetch(`${mock.url}/v1/models`)).status, 401);
    assert.equal((await fetch(`${mock.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } })).status, 200);
    assert.equal((await fetch(`${mock.url}/health/readiness`)).status, 200);
    assert.equal((await fetch(`${mock.url}/__mock/requests`)).status, 200);
  });
});

// --- upstream mode -----------------------------------------------------------

describe("upstream mode (plain OpenAI-compatible provider)", () => {
  let mock;
  before(async () => {
    mock = await startMockLiteLLM({ quiet: true, mode: "upstream", masterKey: "ignored-here" });
  });
  after(() => mock.close());

  test("no x-litellm headers, OpenAI body, any bearer accepted", async () => {
    const res = await chat(mock, { model: "gpt-4o-mini", messages: MESSAGES }, { authorization: "Bearer whatever" });
    assert.equal(res.status, 200);
    assert.ok(![...res.headers.keys()].some((k) => k.startsWith("x-litellm-")));
    const body = await res.json();
    assert.equal(body.choices[0].message.refusal, null);
    assert.equal(body.usage.cost, undefined);
    assert.equal(body.choices[0].message.content, buildAnswer({ messages: MESSAGES }, "gpt-4o-mini").content);
  });

  test("usage chunk has choices [] and no cost, even when asked for delta", async () => {
    const res = await chat(mock, {
      model: "gpt-4o-mini+usagechoices=delta",
      messages: MESSAGES,
      stream: true,
      stream_options: { include_usage: true },
    });
    assert.ok(![...res.headers.keys()].some((k) => k.startsWith("x-litellm-")));
    const chunks = dataObjects((await readEvents(res)).events);
    const usage = chunks.at(-1);
    assert.deepEqual(usage.choices, []);
    assert.equal(usage.usage.cost, undefined);
    assert.ok(
      chunks.slice(0, -1).every((c) => c.usage === null),
      "OpenAI sends usage: null before",
    );
  });

  test("errors use the OpenAI envelope", async () => {
    const res = await chat(mock, { model: "nope", messages: MESSAGES });
    assert.equal(res.status, 404);
    assert.equal((await res.json()).error.code, "model_not_found");
    const limited = await chat(mock, { model: "gpt-4+fail=429", messages: MESSAGES });
    assert.equal(limited.status, 429);
    assert.equal((await limited.json()).error.code, "rate_limit_exceeded");
  });
});

// --- Responses and Messages ------------------------------------------------------

function post(mock, path, body, headers = {}) {
  return fetch(`${mock.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

/** Parsed `data:` JSON of an SSE body's events, with each event's name (null when unnamed). */
async function namedEvents(res) {
  const { events } = await readEvents(res);
  return events
    .map(({ frame }) => {
      const name = /^event: (.+)$/m.exec(frame)?.[1] ?? null;
      const data = /^data: (.+)$/m.exec(frame)?.[1];
      return { name, data };
    })
    .filter((e) => e.data !== undefined);
}

describe("/v1/responses and /v1/messages", () => {
  let proxy;
  let upstream;
  before(async () => {
    proxy = await startMockLiteLLM({ port: 0, quiet: true, masterKey: "" });
    upstream = await startMockLiteLLM({ port: 0, quiet: true, mode: "upstream" });
  });
  after(async () => {
    await proxy.close();
    await upstream.close();
  });

  const RESPONSES = { model: "gpt-4o-mini", input: "Tell me something about gateways and billing.", instructions: "You are terse." };
  // The same conversation as MESSAGES: the same answer, tokens and cost through every API.
  const expected = buildAnswer({ messages: MESSAGES }, "gpt-4o-mini");

  test("upstream: OpenAI's response object, the same answer and usage as chat", async () => {
    const res = await post(upstream, "/v1/responses", RESPONSES);
    assert.equal(res.status, 200);
    assert.ok(![...res.headers.keys()].some((k) => k.startsWith("x-litellm-")));
    const body = await res.json();
    assert.match(body.id, /^resp_[0-9a-f]{32}$/);
    assert.equal(body.object, "response");
    assert.equal(body.status, "completed");
    assert.equal(body.output[0].content[0].text, expected.content);
    assert.deepEqual(body.usage, {
      input_tokens: expected.promptTokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: expected.completionTokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: expected.totalTokens,
    });
  });

  test("upstream stream: named events in order, deltas that join to the text, usage in response.completed, no [DONE]", async () => {
    const events = await namedEvents(await post(upstream, "/v1/responses", { ...RESPONSES, stream: true }));
    assert.ok(events.every((e) => e.name === JSON.parse(e.data).type));
    const types = events.map((e) => e.name);
    assert.deepEqual(types.slice(0, 4), [
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
    ]);
    assert.equal(types.at(-1), "response.completed");
    const parsed = events.map((e) => JSON.parse(e.data));
    assert.deepEqual(
      parsed.map((e) => e.sequence_number),
      parsed.map((_, i) => i),
    );
    const text = parsed.filter((e) => e.type === "response.output_text.delta").map((e) => e.delta);
    assert.equal(text.join(""), expected.content);
    assert.equal(parsed.at(-1).response.usage.total_tokens, expected.totalTokens);
  });

  test("upstream: max_output_tokens cuts the answer and the response is incomplete; tools give a function call", async () => {
    const cut = await (await post(upstream, "/v1/responses", { ...RESPONSES, max_output_tokens: 3 })).json();
    assert.equal(cut.status, "incomplete");
    assert.deepEqual(cut.incomplete_details, { reason: "max_output_tokens" });
    assert.equal(cut.usage.output_tokens, 3);
    const tools = [{ type: "function", name: "get_weather", parameters: WEATHER_TOOL.function.parameters }];
    const called = await (await post(upstream, "/v1/responses", { ...RESPONSES, tools })).json();
    assert.equal(called.output[0].type, "function_call");
    assert.equal(called.output[0].name, "get_weather");
    assert.deepEqual(JSON.parse(called.output[0].arguments), { city: "mock value", unit: "c" });
  });

  test("proxy: LiteLLM's encoded id, the cost header, usage.cost null; max_output_tokens raised to 16", async () => {
    const res = await post(proxy, "/v1/responses", { ...RESPONSES, max_output_tokens: 5 });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.match(body.id, /^resp_[A-Za-z0-9_-]{300,}$/);
    assert.equal(body.max_output_tokens, 16);
    assert.equal(body.usage.output_tokens, 16);
    assert.equal(body.usage.cost, null);
    assert.equal(res.headers.get("x-litellm-response-cost"), pythonFloatRepr(body.usage.input_tokens * 0.00000015 + 16 * 0.0000006));
  });

  test("proxy stream: unnamed events with the alias as model, the cost in response.completed, then [DONE]", async () => {
    const res = await post(proxy, "/v1/responses", { ...RESPONSES, stream: true });
    assert.equal(res.headers.get("x-litellm-response-cost"), null);
    const events = await namedEvents(res);
    assert.equal(events.at(-1).data, "[DONE]");
    const parsed = events.slice(0, -1).map((e) => JSON.parse(e.data));
    assert.ok(events.slice(0, -1).every((e) => e.name === null));
    assert.ok(parsed.every((e) => e.model === "gpt-4o-mini"));
    const completed = parsed.at(-1);
    assert.equal(completed.type, "response.completed");
    assert.equal(completed.response.usage.cost, expected.cost);
  });

  test("proxy: fail=midstream ends with response.failed and [DONE]; fail=429 is LiteLLM's envelope", async () => {
    const events = await namedEvents(
      await post(proxy, "/v1/responses", { ...RESPONSES, model: "gpt-4o-mini+fail=midstream", stream: true }),
    );
    assert.equal(events.at(-2).name, "response.failed");
    assert.equal(JSON.parse(events.at(-2).data).response.error.message, "Response API in-stream error");
    assert.equal(events.at(-1).data, "[DONE]");
    const limited = await post(proxy, "/v1/responses", { ...RESPONSES, model: "gpt-4o-mini+fail=429" });
    assert.equal(limited.status, 429);
    const error = (await limited.json()).error;
    assert.equal(error.code, "429");
    assert.match(error.message, /^litellm\.RateLimitError: RateLimitError: OpenAIException - \{"error":/);
  });

  // LiteLLM sends Anthropic's system prompt as a developer message: the same tokens, another seed.
  const expectedMessages = buildAnswer({ messages: [{ role: "developer", content: MESSAGES[0].content }, MESSAGES[1]] }, "gpt-4o-mini");
  const ANTHROPIC = {
    model: "gpt-4o-mini",
    max_tokens: 200,
    system: "You are terse.",
    messages: [{ role: "user", content: "Tell me something about gateways and billing." }],
  };

  test("proxy /v1/messages: Anthropic's message over the Responses answer, with the cost header", async () => {
    const res = await post(proxy, "/v1/messages", ANTHROPIC, { "anthropic-version": "2023-06-01" });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.type, "message");
    assert.match(
      Buffer.from(body.id.slice(5), "base64").toString(),
      /^litellm:custom_llm_provider:openai;model_id:mock-gpt-4o-mini;response_id:resp_/,
    );
    assert.deepEqual(body.content, [{ type: "text", text: expectedMessages.content }]);
    assert.equal(body.stop_reason, "end_turn");
    assert.deepEqual(body.usage, { input_tokens: expectedMessages.promptTokens, output_tokens: expectedMessages.completionTokens });
    assert.equal(expectedMessages.promptTokens, expected.promptTokens);
    assert.equal(res.headers.get("x-litellm-response-cost"), pythonFloatRepr(expectedMessages.cost));
  });

  test("proxy /v1/messages stream: Anthropic's named events, usage only in message_delta, no cost in the stream", async () => {
    const events = await namedEvents(await post(proxy, "/v1/messages", { ...ANTHROPIC, stream: true }));
    const types = events.map((e) => e.name);
    assert.deepEqual(types.slice(0, 2), ["message_start", "content_block_start"]);
    assert.deepEqual(types.slice(-3), ["content_block_stop", "message_delta", "message_stop"]);
    const parsed = events.map((e) => JSON.parse(e.data));
    assert.equal(parsed[0].message.usage.input_tokens, 0);
    const text = parsed.filter((e) => e.type === "content_block_delta").map((e) => e.delta.text);
    assert.equal(text.join(""), expectedMessages.content);
    assert.deepEqual(parsed.at(-2).usage, {
      input_tokens: expectedMessages.promptTokens,
      output_tokens: expectedMessages.completionTokens,
    });
    assert.match(events[0].data, /^\{"type": "message_start", /); // Python's json.dumps spacing
  });

  test("proxy /v1/messages: tool use, max_tokens required, Anthropic's error envelope, fail=midstream", async () => {
    const tools = [{ name: "get_weather", input_schema: WEATHER_TOOL.function.parameters }];
    const called = await (await post(proxy, "/v1/messages", { ...ANTHROPIC, tools })).json();
    assert.equal(called.stop_reason, "tool_use");
    assert.deepEqual(called.content[0].input, { city: "mock value", unit: "c" });
    const { max_tokens: _omitted, ...withoutMax } = ANTHROPIC;
    const missing = await post(proxy, "/v1/messages", withoutMax);
    assert.equal(missing.status, 400);
    assert.deepEqual(await missing.json(), {
      type: "error",
      error: { type: "invalid_request_error", message: "anthropic_messages: Missing required parameter: 'max_tokens'." },
    });
    const limited = await post(proxy, "/v1/messages", { ...ANTHROPIC, model: "gpt-4o-mini+fail=429" });
    assert.equal(limited.status, 429);
    assert.equal((await limited.json()).error.type, "rate_limit_error");
    const events = await namedEvents(
      await post(proxy, "/v1/messages", { ...ANTHROPIC, model: "gpt-4o-mini+fail=midstream", stream: true }),
    );
    assert.equal(events.at(-1).name, "error");
    assert.equal(JSON.parse(events.at(-1).data).error.type, "api_error");
    assert.ok(!events.some((e) => e.name === "message_stop"));
  });

  test("/v1/messages is a proxy route: an upstream has none", async () => {
    assert.equal((await post(upstream, "/v1/messages", ANTHROPIC)).status, 404);
  });
});

// --- CLI ---------------------------------------------------------------------

test("CLI prints one ready line and exits cleanly on SIGTERM", async () => {
  const script = fileURLToPath(new URL("./server.mjs", import.meta.url));
  const child = spawn(process.execPath, [script, "--port", "0", "--mode", "upstream", "--quiet"], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  child.stdout.setEncoding("utf8");
  const ready = new Promise((resolve, reject) => {
    child.stdout.on("data", (d) => {
      stdout += d;
      if (stdout.includes("\n")) resolve();
    });
    child.once("exit", () => reject(new Error("exited early")));
  });
  await ready;
  const match = /^mock-litellm listening on (http:\/\/127\.0\.0\.1:\d+) \(mode=upstream\)\n$/.exec(stdout);
  assert.ok(match, stdout);
  assert.equal((await fetch(`${match[1]}/health/liveliness`)).status, 200);
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  child.kill("SIGTERM");
  assert.deepEqual(await exited, { code: 0, signal: null });
  assert.equal(stdout.split("\n").filter(Boolean).length, 1);
});
