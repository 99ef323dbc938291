import { describe, expect, it } from "vitest";
import { openAIResponses } from "../../../src/calls/dialects/openai-responses";
import { admittedCall, facts } from "./admitted-call";

const event = (data: unknown) => ({ data: typeof data === "string" ? data : JSON.stringify(data), comments: [] });
const body = { model: "fast", input: "Hi", instructions: "Be brief", max_output_tokens: 64, user: "u-1", metadata: { tags: "a,b" } };

/** A response as LiteLLM passes it on: its sealed id, the served model, usage with a cost, provider extras. */
const upstream = {
  id: "resp_c2VhbGVkLWJ5LWxpdGVsbG0",
  object: "response",
  created_at: 1_700_000_000,
  status: "completed",
  model: "gpt-4o-mini-2024-07-18",
  output: [
    {
      id: "msg_1",
      type: "message",
      status: "completed",
      role: "assistant",
      phase: null,
      content: [{ type: "output_text", text: "Hello", annotations: [], logprobs: [] }],
    },
    {
      id: "fc_1",
      type: "function_call",
      status: "completed",
      call_id: "call_1",
      name: "lookup",
      arguments: '{"q":1}',
      provider_specific_fields: {},
    },
  ],
  usage: {
    input_tokens: 12,
    input_tokens_details: { cached_tokens: 4 },
    output_tokens: 30,
    output_tokens_details: { reasoning_tokens: 8 },
    total_tokens: 42,
    cost: 0.001,
  },
  service_tier: "default",
  billing: { payer: "developer" },
  user: "team-42",
  metadata: {},
};

describe("OpenAI's Responses dialect", () => {
  const request = openAIResponses.parse(body as never);

  it("reads the group, the labels (user, metadata.tags) and the forwarded parameters; echoes the team's own user and metadata", () => {
    expect(request).toMatchObject({ modelGroup: "fast", purpose: null, labels: { tags: ["a", "b"], endUser: "u-1" } });
    expect(request.params).toEqual({ input: "Hi", instructions: "Be brief", max_output_tokens: 64 });
    expect(request.echo).toEqual({ user: "u-1", metadata: { tags: "a,b" } });
    expect(openAIResponses.parse({ model: "fast", input: "Hi", safety_identifier: "s-9" } as never).labels.endUser).toBe("s-9");
  });

  it("holds every prompt-side field and max_output_tokens, at least OpenAI's 16 when the object chooses", () => {
    const estimate = openAIResponses.estimate(request);
    // Each field's JSON at 4 characters a token: '"Hi"' and '"Be brief"'.
    expect(estimate).toEqual({ promptTokens: 1 + 3, maxTokens: 64, choices: 1, minMaxTokens: 16 });
    expect(openAIResponses.estimate(openAIResponses.parse({ model: "fast", input: "Hi" } as never)).maxTokens).toBeNull();
  });

  it("sends LiteLLM store: false, the team as user, LiteLLM's own metadata, and the gateway's max_output_tokens when it chose one", () => {
    const sent = openAIResponses.upstreamBody(request, admittedCall(), true);
    expect(sent).toMatchObject({ model: "openai/gpt-4o-mini", input: "Hi", store: false, stream: true, user: "team-42" });
    expect(sent.litellm_metadata).toMatchObject({ team_id: "team-42", job_id: "job-1", call_id: "call-9" });
    expect(sent).not.toHaveProperty("metadata");
    const unasked = openAIResponses.parse({ model: "fast", input: "Hi" } as never);
    expect(openAIResponses.upstreamBody(unasked, admittedCall(200), false).max_output_tokens).toBe(200);
    expect(openAIResponses.upstreamPath).toBe("/responses");
  });

  it("is metered from usage (cached in the input, reasoning in the output) and answers the team's response, nothing of the provider", () => {
    const reading = openAIResponses.readAnswer(JSON.stringify(upstream))!;
    expect(reading.usage).toEqual({ promptTokens: 12, completionTokens: 30, totalTokens: 42 });
    expect(reading.deliveredChars).toBe("Hello".length + '{"q":1}'.length);
    const answer = openAIResponses.writeAnswer(reading.parsed, facts, request);
    expect(answer).toMatchObject({ id: "resp_call-9", object: "response", model: "fast", status: "completed", store: false, user: "u-1" });
    expect(answer.metadata).toEqual({ tags: "a,b" });
    expect(answer.usage).toEqual({
      input_tokens: 12,
      input_tokens_details: { cached_tokens: 4 },
      output_tokens: 30,
      output_tokens_details: { reasoning_tokens: 8 },
      total_tokens: 42,
    });
    expect(answer.output).toEqual([
      {
        id: "msg_1",
        type: "message",
        status: "completed",
        role: "assistant",
        content: [{ type: "output_text", text: "Hello", annotations: [], logprobs: [] }],
      },
      { id: "fc_1", type: "function_call", status: "completed", call_id: "call_1", name: "lookup", arguments: '{"q":1}' },
    ]);
    expect(JSON.stringify(answer)).not.toMatch(/cost|billing|service_tier|gpt-4o|c2VhbGVk/);
    expect(openAIResponses.readAnswer(JSON.stringify({ id: "x" }))).toBeNull();
  });

  it("rewrites the stream: named events from their fields, response.completed the held end with its usage and cost", () => {
    const format = openAIResponses.streamFormat(request, admittedCall());
    const created = format.read(
      event({
        type: "response.created",
        sequence_number: 0,
        model: "alias",
        response: { ...upstream, status: "in_progress", output: [], usage: null },
      }),
    );
    expect(created.kind).toBe("chunk");
    const sent = (created as { send: string }).send;
    expect(sent.startsWith("event: response.created\ndata: ")).toBe(true);
    const createdEvent = JSON.parse(sent.split("\ndata: ")[1]);
    expect(createdEvent).toMatchObject({
      type: "response.created",
      sequence_number: 0,
      response: { id: "resp_call-9", model: "fast", usage: null },
    });
    expect(createdEvent).not.toHaveProperty("model");

    const delta = format.read(
      event({
        type: "response.output_text.delta",
        sequence_number: 1,
        item_id: "msg_1",
        output_index: 0,
        content_index: 0,
        delta: "Hel",
        model: "alias",
      }),
    );
    expect(delta).toMatchObject({ kind: "chunk", deliveredChars: 3 });

    const completed = format.read(event({ type: "response.completed", sequence_number: 2, response: upstream }));
    expect(completed).toMatchObject({
      kind: "end",
      usage: { promptTokens: 12, completionTokens: 30, totalTokens: 42 },
      reportedCostUsd: 0.001,
      finishReason: "completed",
    });
    expect((completed as { send: string }).send).not.toContain("cost");
    expect(format.read(event("[DONE]"))).toEqual({ kind: "end" });
    expect(format.closing).toBe("");
  });

  it("reads response.failed and error events as the upstream failing, and tells of a failure as OpenAI's error event, numbered next", () => {
    const format = openAIResponses.streamFormat(request, admittedCall());
    format.read(event({ type: "response.in_progress", sequence_number: 4, response: upstream }));
    expect(
      format.read(event({ type: "response.failed", response: { error: { code: "server_error", message: "in-stream error" } } })),
    ).toEqual({
      kind: "error",
      upstreamMessage: "in-stream error",
    });
    expect(format.read(event({ type: "error", code: "server_error", message: "boom" }))).toEqual({
      kind: "error",
      upstreamMessage: "boom",
    });
    const error = format.errorEvent("The model failed mid-stream");
    expect(error.startsWith("event: error\ndata: ")).toBe(true);
    expect(JSON.parse(error.split("\ndata: ")[1])).toEqual({
      type: "error",
      code: "upstream_error",
      message: "The model failed mid-stream",
      param: null,
      status: 502,
      sequence_number: 5,
    });
  });
});
