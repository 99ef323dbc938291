// Contract: the repo's mock LiteLLM (mock-litellm/server.mjs, mode "proxy") against the REAL
// pinned LiteLLM proxy (started by scripts/test-litellm.mjs in front of the mock upstream).
// The same requests go to both; what the gateway depends on must agree: body fields, headers,
// SSE framing, the usage chunk, error shapes and statuses. Shapes, types and statuses are
// compared, not texts or token counts (except where a text is what the gateway matches on).
//
// When this fails after a LiteLLM upgrade, the message says which side answered what: make the
// mock follow the real proxy (and its tests, mock-litellm/server.test.mjs), then check the
// gateway's suites still pass.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  describeLiteLLM,
  type HttpResult,
  http,
  litellmRun,
  loadMock,
  parseSse,
  randomHex,
  type Sse,
  streamedContent,
  usageChunks,
} from "./harness";

interface Target {
  name: "real" | "mock";
  url: string;
  key: string;
  /** The real proxy's model group → the mock's model name that imitates it. */
  model: (name: string) => string;
}

const MOCK_MODEL: Record<string, string> = {
  "always-fails": "gpt-4o-mini+fail=500",
  "fails-429": "gpt-4o-mini+fail=429",
  "fails-503": "gpt-4o-mini+fail=503",
  "fails-408": "gpt-4o-mini+fail=408",
  "fails-400": "gpt-4o-mini+fail=400",
  "fails-401": "gpt-4o-mini+fail=401",
  "fails-midstream": "gpt-4o-mini+fail=midstream",
};

let real: Target;
let mockTarget: Target;
let mockServer: { url: string; close(): Promise<void> } | null = null;

const MESSAGES = [
  { role: "system", content: "You are a helpful customer support assistant." },
  { role: "user", content: "How do I reset my password?" },
];
const WEATHER_TOOL = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Weather for a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};
const STREAM = { stream: true, stream_options: { include_usage: true } };

interface Answer extends HttpResult {
  target: Target["name"];
  sentCallId: string;
  sse: Sse | null;
}

/** Sends one request (the real model names; the mock gets its equivalents) to one side. */
async function send(target: Target, body: Record<string, unknown>, { key = target.key, path = "/chat/completions" } = {}): Promise<Answer> {
  const sentCallId = `contract-${target.name}-${randomHex(6)}`;
  const withModel = typeof body.model === "string" ? { ...body, model: target.model(body.model) } : body;
  const res = await http("POST", `${target.url}${path}`, {
    headers: { authorization: `Bearer ${key}`, "x-litellm-call-id": sentCallId },
    body: withModel,
  });
  const isSse = (res.headers.get("content-type") ?? "").startsWith("text/event-stream");
  return { ...res, target: target.name, sentCallId, sse: isSse ? parseSse(res.text) : null };
}

async function both(body: Record<string, unknown>, options: { realKey?: string; mockKey?: string } = {}): Promise<[Answer, Answer]> {
  const r = await send(real, body, { key: options.realKey ?? real.key });
  const m = await send(mockTarget, body, { key: options.mockKey ?? mockTarget.key });
  return [r, m];
}

/** A value's JSON type, with null and a missing member told apart. */
function typeOf(value: unknown): string {
  if (value === undefined) return "absent";
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/** `expect(mock).toEqual(real)` with both sides in the message. */
function agree(what: string, realValue: unknown, mockValue: unknown) {
  expect(mockValue, `${what}: the real LiteLLM gives ${JSON.stringify(realValue)}, the mock ${JSON.stringify(mockValue)}`).toEqual(
    realValue,
  );
}

const mediaType = (a: Answer) => (a.headers.get("content-type") ?? "").split(";")[0].trim();

/** What the gateway reads of a non-streamed answer. */
function plainView(a: Answer) {
  const choice = a.json?.choices?.[0];
  const usage = a.json?.usage;
  return {
    status: a.status,
    mediaType: mediaType(a),
    object: a.json?.object,
    choices: typeOf(a.json?.choices),
    content: typeOf(choice?.message?.content),
    // The gateway treats a missing tool_calls like null; either is "none".
    toolCalls: ["absent", "null"].includes(typeOf(choice?.message?.tool_calls)) ? "none" : typeOf(choice?.message?.tool_calls),
    finishReason: choice?.finish_reason,
    usage: {
      prompt_tokens: Number.isInteger(usage?.prompt_tokens),
      completion_tokens: Number.isInteger(usage?.completion_tokens),
      total_tokens: Number.isInteger(usage?.total_tokens) && usage.total_tokens === usage.prompt_tokens + usage.completion_tokens,
    },
    costHeader: costHeaderView(a),
    callIdEchoed: a.headers.get("x-litellm-call-id") === a.sentCallId,
  };
}

/** x-litellm-response-cost: absent, or present and numeric (and whether it is > 0). */
function costHeaderView(a: Answer): string {
  const value = a.headers.get("x-litellm-response-cost");
  if (value === null) return "absent";
  const usd = Number(value);
  if (value.trim() === "" || !Number.isFinite(usd)) return `not a number (${value})`;
  return usd > 0 ? "positive" : "zero";
}

/** What the gateway reads of a stream: framing, chunk objects, the usage chunk. */
function streamView(a: Answer) {
  const sse = a.sse;
  if (!sse) return { status: a.status, mediaType: mediaType(a), sse: false };
  const chunks = sse.objects.filter((o) => typeof o === "object" && o !== null && !("error" in o));
  const usage = usageChunks(chunks);
  const last = usage.at(-1);
  const finish = chunks.filter((c) => typeof c.choices?.[0]?.finish_reason === "string");
  return {
    status: a.status,
    mediaType: mediaType(a),
    framing: {
      everyEventIsOneDataLine: sse.frames.every((f) => f.startsWith("data: ") && !f.includes("\n")),
      noTrailingBytes: sse.rest === "",
      doneIsLast: sse.endsWithDone,
      doneCount: sse.data.filter((d) => d === "[DONE]").length,
      allJson: sse.objects.every((o) => typeof o === "object"),
    },
    chunkObjects: [...new Set(chunks.map((c) => c.object))],
    firstDeltaRole: chunks[0]?.choices?.[0]?.delta?.role,
    finishReasons: finish.map((c) => c.choices[0].finish_reason),
    usageChunks: usage.length,
    usageChunkIsLast: last !== undefined && last === chunks.at(-1),
    usageChunkChoices: last?.choices,
    usageFields: last
      ? {
          prompt_tokens: Number.isInteger(last.usage.prompt_tokens),
          completion_tokens: Number.isInteger(last.usage.completion_tokens),
          total_tokens: Number.isInteger(last.usage.total_tokens),
          cost: typeOf(last.usage.cost),
          costPositive: typeof last.usage.cost === "number" && last.usage.cost > 0,
        }
      : null,
    // Chunks before the usage chunk: usage absent (LiteLLM dumps chunks without nulls).
    usageOnOtherChunks: [...new Set(chunks.filter((c) => c !== last).map((c) => typeOf(c.usage)))],
    costHeader: costHeaderView(a),
    callIdEchoed: a.headers.get("x-litellm-call-id") === a.sentCallId,
  };
}

/** What the gateway reads of an error answer: status, envelope, where the text is. */
function errorView(a: Answer, model?: string) {
  const error = a.json?.error;
  const message: string = typeof error?.message === "string" ? error.message : "";
  return {
    status: a.status,
    mediaType: mediaType(a),
    envelopeKeys: error && typeof error === "object" ? Object.keys(error).sort() : typeOf(a.json),
    message: typeOf(error?.message),
    // A Python repr of a dict ("{'error': ...}") instead of a plain message: the mock's old bug.
    messageIsPythonRepr: /^\{'error'/.test(message),
    type: error?.type,
    param: error?.param,
    codeIsStatusString: error?.code === String(a.status),
    // LiteLLM's exception class, e.g. "InternalServerError" from "litellm.InternalServerError: ..."
    litellmClass: /^litellm\.(\w+):/.exec(message)?.[1] ?? null,
    // LiteLLM's router verdict at the end of an upstream error, with the group name taken out.
    routerVerdict: model ? message.includes(`LiteLLM: model group '${model}' failed with the error above.`) : undefined,
    callIdEchoed: a.headers.get("x-litellm-call-id") === a.sentCallId,
    costHeader: costHeaderView(a),
  };
}

describeLiteLLM("contract: the repo's mock LiteLLM behaves like the real one, where the gateway looks", () => {
  beforeAll(async () => {
    const run = litellmRun();
    const { startMockLiteLLM } = await loadMock(run.mockModule || undefined);
    const mockKey = `sk-${randomHex(32)}`;
    mockServer = await startMockLiteLLM({ port: 0, mode: "proxy", masterKey: mockKey, quiet: true });
    real = { name: "real", url: run.litellmUrl, key: run.litellmKey, model: (m) => m };
    mockTarget = { name: "mock", url: mockServer!.url, key: mockKey, model: (m) => MOCK_MODEL[m] ?? m };
    console.log(
      `contract: real LiteLLM ${run.litellmVersion} at ${run.litellmUrl} vs the mock (proxy mode${run.mockModule ? `, ${run.mockModule}` : ""}) at ${mockServer!.url}`,
    );
  });

  afterAll(async () => {
    await mockServer?.close();
  });

  it("both are alive on /health/liveliness", async () => {
    const [r, m] = await Promise.all([http("GET", `${real.url}/health/liveliness`), http("GET", `${mockTarget.url}/health/liveliness`)]);
    agree("liveliness", { status: r.status, body: r.json }, { status: m.status, body: m.json });
  });

  describe("non-streamed answers", () => {
    it("text: body fields, usage, x-litellm-response-cost, x-litellm-call-id, content-type", async () => {
      const [r, m] = await both({ model: "gpt-4o-mini", messages: MESSAGES });
      const view = plainView(r);
      expect(view).toMatchObject({
        status: 200,
        mediaType: "application/json",
        content: "string",
        toolCalls: "none",
        finishReason: "stop",
        costHeader: "positive",
        callIdEchoed: true,
      });
      agree("non-stream text answer", view, plainView(m));
    });

    it("tool calls: tool_calls array with function name and JSON arguments, content null", async () => {
      const [r, m] = await both({ model: "gpt-4o-mini", messages: MESSAGES, tools: [WEATHER_TOOL] });
      const view = plainView(r);
      expect(view).toMatchObject({ status: 200, toolCalls: "array", finishReason: "tool_calls" });
      agree("non-stream tool-call answer", view, plainView(m));
      const shape = (a: Answer) =>
        a.json.choices[0].message.tool_calls.map((t: any) => ({
          id: typeOf(t.id),
          type: t.type,
          name: typeOf(t.function?.name),
          argumentsAreJson: (() => {
            try {
              return typeof JSON.parse(t.function.arguments) === "object";
            } catch {
              return false;
            }
          })(),
        }));
      agree("tool_calls entries", shape(r), shape(m));
    });
  });

  describe("streamed answers", () => {
    it("SSE framing, chunk objects, the usage chunk (usage.cost, choices shape), no cost header", async () => {
      const [r, m] = await both({ model: "gpt-4o-mini", messages: MESSAGES, ...STREAM });
      const view = streamView(r);
      expect(view).toMatchObject({
        status: 200,
        mediaType: "text/event-stream",
        framing: { everyEventIsOneDataLine: true, noTrailingBytes: true, doneIsLast: true, doneCount: 1, allJson: true },
        chunkObjects: ["chat.completion.chunk"],
        usageChunks: 1,
        usageChunkIsLast: true,
        costHeader: "absent",
        callIdEchoed: true,
      });
      expect(view.usageFields).toMatchObject({ cost: "number", costPositive: true });
      agree("streamed text answer", view, streamView(m));
      expect(streamedContent(r.sse!.objects).length).toBeGreaterThan(0);
      expect(streamedContent(m.sse!.objects).length).toBeGreaterThan(0);
    });

    it("the usage chunk's choices are exactly the same on both sides", async () => {
      const [r, m] = await both({ model: "gpt-3.5-turbo", messages: MESSAGES, ...STREAM });
      const realUsage = usageChunks(r.sse!.objects).at(-1);
      const mockUsage = usageChunks(m.sse!.objects).at(-1);
      expect(realUsage, "the real proxy sent a usage chunk").toBeTruthy();
      agree("usage chunk choices", realUsage.choices, mockUsage?.choices);
      agree("usage chunk keys", Object.keys(realUsage).sort(), Object.keys(mockUsage ?? {}).sort());
      agree("usage keys", Object.keys(realUsage.usage).sort(), Object.keys(mockUsage?.usage ?? {}).sort());
    });

    it("without stream_options.include_usage", async () => {
      const [r, m] = await both({ model: "gpt-4o-mini", messages: MESSAGES, stream: true });
      agree("stream without include_usage", streamView(r), streamView(m));
    });

    it("tool calls: the deltas' fields, the finish reason", async () => {
      const [r, m] = await both({ model: "gpt-4o-mini", messages: MESSAGES, tools: [WEATHER_TOOL], ...STREAM });
      agree("streamed tool-call answer", streamView(r), streamView(m));
      const deltas = (a: Answer) =>
        a
          .sse!.objects.flatMap((o) => o?.choices?.[0]?.delta?.tool_calls ?? [])
          .map((t: any, i: number) => ({
            first: i === 0,
            keys: Object.keys(t).sort(),
            functionKeys: Object.keys(t.function ?? {}).sort(),
          }));
      const dedupe = (xs: unknown[]) => [...new Set(xs.map((x) => JSON.stringify(x)))];
      agree("tool-call delta shapes", dedupe(deltas(r)), dedupe(deltas(m)));
      const args = (a: Answer) =>
        a
          .sse!.objects.flatMap((o) => o?.choices?.[0]?.delta?.tool_calls ?? [])
          .map((t: any) => t.function?.arguments ?? "")
          .join("");
      expect(() => JSON.parse(args(r))).not.toThrow();
      expect(() => JSON.parse(args(m))).not.toThrow();
    });

    it("an upstream failure after the first chunk: content, one error event, the end (no [DONE])", async () => {
      const [r, m] = await both({ model: "fails-midstream", messages: MESSAGES, ...STREAM });
      const view = (a: Answer) => {
        const errors = a.sse?.objects.filter((o) => o && typeof o === "object" && "error" in o) ?? [];
        const lastFrame = a.sse?.frames.at(-1) ?? "";
        const error = errors[0]?.error;
        return {
          status: a.status,
          mediaType: mediaType(a),
          contentBeforeError: streamedContent(a.sse?.objects ?? []).length > 0,
          errorEvents: errors.length,
          errorIsLastEvent: lastFrame.startsWith("data: {") && lastFrame.includes('"error"'),
          pythonSpacing: lastFrame.startsWith('data: {"error": {'),
          done: a.sse?.data.includes("[DONE]"),
          envelopeKeys: error ? Object.keys(error).sort() : null,
          type: error?.type,
          param: error?.param,
          code: error?.code,
          litellmClass: /^litellm\.(\w+):/.exec(error?.message ?? "")?.[1] ?? null,
        };
      };
      expect(view(r)).toMatchObject({ status: 200, errorEvents: 1, errorIsLastEvent: true, done: false });
      agree("mid-stream failure", view(r), view(m));
    });
  });

  describe("errors", () => {
    for (const stream of [false, true]) {
      const mode = stream ? "stream" : "non-stream";

      it(`unknown model (${mode}): 400, plain message (not a Python repr), invalid_request_error`, async () => {
        const model = `no-such-model-${randomHex(3)}`;
        const [r, m] = await both({ model, messages: MESSAGES, ...(stream ? STREAM : {}) });
        const view = errorView(r);
        expect(view).toMatchObject({ status: 400, mediaType: "application/json", messageIsPythonRepr: false });
        agree(`unknown model (${mode})`, view, errorView(m));
        // The gateway falls back on this 400 by matching "invalid model name": the text must match exactly.
        agree(`unknown model message (${mode})`, r.json.error.message, m.json.error.message);
        expect(r.json.error.message).toMatch(/invalid model name/i);
      });

      it(`a model failing inside LiteLLM (${mode}): 500 JSON, not SSE`, async () => {
        const [r, m] = await both({ model: "always-fails", messages: MESSAGES, ...(stream ? STREAM : {}) });
        const view = errorView(r, "always-fails");
        expect(view).toMatchObject({
          status: 500,
          mediaType: "application/json",
          type: "internal_server_error",
          litellmClass: "InternalServerError",
          routerVerdict: true,
        });
        agree(`failing model (${mode})`, view, errorView(m, MOCK_MODEL["always-fails"]));
      });
    }

    // How LiteLLM passes on other upstream failures: the gateway's fallback decides on the status.
    for (const [model, status] of [
      ["fails-429", 429],
      ["fails-503", 503],
      ["fails-408", 408],
      ["fails-400", 400],
      ["fails-401", 401],
    ] as const) {
      it(`upstream ${model} → ${status} (non-stream and stream)`, async () => {
        for (const stream of [false, true]) {
          const [r, m] = await both({ model, messages: MESSAGES, ...(stream ? STREAM : {}) });
          const view = errorView(r, model);
          expect(view).toMatchObject({ status, mediaType: "application/json", routerVerdict: true });
          agree(`${model} (${stream ? "stream" : "non-stream"})`, view, errorView(m, MOCK_MODEL[model]));
          if (status === 400) {
            // The gateway passes a context-window error back as a 400 that says so.
            expect(r.json.error.message).toMatch(/context length/);
            expect(m.json.error.message).toMatch(/context length/);
          }
        }
      });
    }

    it("wrong key (no database): 400 no_db_connection", async () => {
      const wrong = `sk-${"0".repeat(64)}`;
      const [r, m] = await both({ model: "gpt-4o-mini", messages: MESSAGES }, { realKey: wrong, mockKey: wrong });
      const view = errorView(r);
      expect(view).toMatchObject({ status: 400, type: "no_db_connection" });
      agree("wrong key", view, errorView(m));
      agree("wrong key body", r.json, m.json);
    });

    it("missing messages: 400 invalid_request_error, param messages", async () => {
      const [r, m] = await both({ model: "gpt-4o-mini" });
      const view = errorView(r);
      expect(view).toMatchObject({ status: 400, type: "invalid_request_error", param: "messages" });
      agree("missing messages", view, errorView(m));
      agree("missing messages message", r.json.error.message, m.json.error.message);
    });
  });
  describe("/v1/responses and /v1/messages (served through the upstream's /v1/responses)", () => {
    const INPUT = { model: "gpt-4o-mini", input: "How do I reset my password?", max_output_tokens: 300 };
    const ANTHROPIC = { model: "gpt-4o-mini", max_tokens: 300, messages: [{ role: "user", content: "How do I reset my password?" }] };
    const pair = (body: Record<string, unknown>, path: string) =>
      Promise.all([send(real, body, { path }), send(mockTarget, body, { path })]);
    /** The named events of a stream (null for an unnamed `data:` event), and each event's `type`. */
    const eventsOf = (a: Answer) =>
      a.sse!.frames.map((frame) => ({
        name: /^event: (.+)$/m.exec(frame)?.[1] ?? null,
        type: (() => {
          const data = /^data: (.+)$/m.exec(frame)?.[1];
          if (data === "[DONE]") return "[DONE]";
          try {
            return JSON.parse(data ?? "").type ?? null;
          } catch {
            return null;
          }
        })(),
      }));
    /** Event types in order, a run of deltas shown once (their number depends on the text). */
    const sequence = (a: Answer) =>
      eventsOf(a)
        .map((e) => e.type)
        .filter((t, i, all) => !(t?.endsWith("delta") && all[i - 1] === t));

    it("responses, plain: LiteLLM's sealed id, usage with cost null, the cost in the header", async () => {
      const [r, m] = await pair(INPUT, "/v1/responses");
      const view = (a: Answer) => ({
        status: a.status,
        object: a.json?.object,
        // LiteLLM's own id (sealed: it encodes the deployment), never the provider's resp_<hex>.
        idIsLiteLLMs: /^resp_[A-Za-z0-9_-]{100,}={0,2}$/.test(String(a.json?.id)),
        output: a.json?.output?.map((item: any) => item.type),
        usage: Object.keys(a.json?.usage ?? {}).sort(),
        usageCost: typeOf(a.json?.usage?.cost),
        costHeader: costHeaderView(a),
      });
      expect(view(r)).toMatchObject({ status: 200, object: "response", idIsLiteLLMs: true, usageCost: "null" });
      agree("responses plain", view(r), view(m));
    });

    it("responses, streamed: unnamed events with the alias as model, usage.cost in response.completed, then [DONE]", async () => {
      const [r, m] = await pair({ ...INPUT, stream: true }, "/v1/responses");
      const view = (a: Answer) => ({
        status: a.status,
        named: eventsOf(a).filter((e) => e.name !== null).length,
        sequence: sequence(a),
        everyEventHasModel: a.sse!.objects.every((o) => typeof o?.model === "string"),
        completedCost: typeOf(a.sse!.objects.find((o) => o?.type === "response.completed")?.response?.usage?.cost),
        costHeader: costHeaderView(a),
      });
      expect(view(r)).toMatchObject({ status: 200, named: 0, completedCost: "number" });
      expect(view(r).sequence.at(-1)).toBe("[DONE]");
      agree("responses stream", view(r), view(m));
    });

    it("responses, failing mid-stream: a named response.failed, then [DONE]", async () => {
      const [r, m] = await pair({ ...INPUT, model: "fails-midstream", stream: true }, "/v1/responses");
      const tail = (a: Answer) => eventsOf(a).slice(-2);
      expect(tail(r)).toEqual([
        { name: "response.failed", type: "response.failed" },
        { name: null, type: "[DONE]" },
      ]);
      agree("responses mid-stream failure", tail(r), tail(m));
    });

    it("messages, plain: Anthropic's message, usage of input and output tokens, the cost in the header", async () => {
      const [r, m] = await pair(ANTHROPIC, "/v1/messages");
      const view = (a: Answer) => ({
        status: a.status,
        type: a.json?.type,
        content: a.json?.content?.map((block: any) => block.type),
        stopReason: a.json?.stop_reason,
        usage: Object.keys(a.json?.usage ?? {}).sort(),
        costHeader: costHeaderView(a),
      });
      expect(view(r)).toMatchObject({ status: 200, type: "message", stopReason: "end_turn" });
      agree("messages plain", view(r), view(m));
    });

    it("messages, streamed: Anthropic's named events, usage in message_delta only, no cost in the stream", async () => {
      const [r, m] = await pair({ ...ANTHROPIC, stream: true }, "/v1/messages");
      const view = (a: Answer) => ({
        status: a.status,
        allNamed: eventsOf(a).every((e) => e.name === e.type),
        sequence: sequence(a),
        startUsage: a.sse!.objects[0]?.message?.usage,
        deltaUsage: Object.keys(a.sse!.objects.find((o) => o?.type === "message_delta")?.usage ?? {}).sort(),
        anyCost: a.text.includes('"cost"'),
      });
      expect(view(r)).toMatchObject({ status: 200, allNamed: true, anyCost: false });
      agree("messages stream", view(r), view(m));
    });

    it("messages errors: Anthropic's envelope for an upstream 429, a missing max_tokens, a failure mid-stream", async () => {
      const [r429, m429] = await pair({ ...ANTHROPIC, model: "fails-429" }, "/v1/messages");
      const envelope = (a: Answer) => ({
        status: a.status,
        type: a.json?.type,
        errorType: a.json?.error?.type,
        keys: Object.keys(a.json ?? {}),
      });
      expect(envelope(r429)).toMatchObject({ status: 429, type: "error", errorType: "rate_limit_error" });
      agree("messages 429", envelope(r429), envelope(m429));
      const { max_tokens: _omitted, ...noMax } = ANTHROPIC;
      const [rMax, mMax] = await pair(noMax, "/v1/messages");
      agree("messages without max_tokens", rMax.json, mMax.json);
      const [rMid, mMid] = await pair({ ...ANTHROPIC, model: "fails-midstream", stream: true }, "/v1/messages");
      const last = (a: Answer) => ({ event: eventsOf(a).at(-1), errorType: a.sse!.objects.at(-1)?.error?.type });
      expect(last(rMid)).toEqual({ event: { name: "error", type: "error" }, errorType: "api_error" });
      agree("messages mid-stream failure", last(rMid), last(mMid));
    });
  });
});
