import { describe, expect, it } from "vitest";
import { buildUpstreamBody, type ChatParameters } from "../../src/calls/dialects/chat-completions";
import type { Attribution } from "../../src/calls/upstream/upstream-request";

const attribution: Attribution = {
  teamId: "team-42",
  organizationId: "org-7",
  jobId: "job-1",
  jobType: "resume_analysis",
  purpose: "summary",
  endUser: null,
  tags: [],
  callId: "call-9",
};
const messages = [{ role: "user", content: "Hello" }];

describe("the body the gateway sends to LiteLLM", () => {
  it("carries the chosen model and the whitelisted OpenAI parameters as they are", () => {
    const params: ChatParameters = {
      messages,
      temperature: 0.2,
      top_p: 0.9,
      max_tokens: 100,
      max_completion_tokens: 120,
      stop: ["\n\n"],
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
      logit_bias: { "50256": -100 },
      logprobs: true,
      top_logprobs: 3,
      seed: 7,
      response_format: { type: "json_object" },
      tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object" } } }],
      tool_choice: "auto",
      parallel_tool_calls: false,
    };
    const body = buildUpstreamBody(params, "gpt-4o-mini", attribution, false);
    const { model, user, metadata, ...forwarded } = body;
    expect(model).toBe("gpt-4o-mini");
    expect(forwarded).toEqual(params);
  });

  it("drops every parameter off the whitelist, including ones that would redirect the call or carry credentials", () => {
    const hostile = {
      messages,
      api_base: "https://evil.example/v1",
      base_url: "https://evil.example/v1",
      api_key: "sk-stolen",
      extra_headers: { Authorization: "Bearer sk-stolen" },
      mock_response: "free answer",
      fallbacks: ["gpt-4"],
      num_retries: 50,
      caching: true,
    } as unknown as ChatParameters;
    const body = buildUpstreamBody(hostile, "gpt-4o-mini", attribution, false);
    expect(Object.keys(body).sort()).toEqual(["messages", "metadata", "model", "user"]);
  });

  it("never lets the client choose the model, the user, the metadata or streaming", () => {
    const sneaky = {
      messages,
      model: "gpt-4",
      user: "someone-else",
      metadata: { team_id: "team-other" },
      stream: true,
      stream_options: { include_usage: false },
    } as unknown as ChatParameters;
    const body = buildUpstreamBody(sneaky, "gpt-4o-mini", attribution, false);
    expect(body.model).toBe("gpt-4o-mini");
    expect(body.user).toBe("team-42");
    expect((body.metadata as Record<string, unknown>).team_id).toBe("team-42");
    expect(body).not.toHaveProperty("stream");
    expect(body).not.toHaveProperty("stream_options");
  });

  it("leaves out parameters the client did not send (no default temperature is invented here)", () => {
    const body = buildUpstreamBody({ messages, temperature: undefined }, "gpt-4o-mini", attribution, false);
    expect(body).not.toHaveProperty("temperature");
  });

  it("attributes the call to the team, job and purpose for LiteLLM's logs and spend tags", () => {
    const body = buildUpstreamBody({ messages }, "gpt-4o-mini", attribution, false);
    expect(body.user).toBe("team-42");
    expect(body.metadata).toEqual({
      team_id: "team-42",
      job_id: "job-1",
      job_type: "resume_analysis",
      purpose: "summary",
      call_id: "call-9",
      tags: ["team:team-42", "job_type:resume_analysis"],
    });
  });

  it("names the end user only when the job has one", () => {
    const withUser = buildUpstreamBody({ messages }, "gpt-4o-mini", { ...attribution, endUser: "user-5", purpose: null }, false);
    expect(withUser.metadata).toMatchObject({ end_user: "user-5", purpose: null });
    const without = buildUpstreamBody({ messages }, "gpt-4o-mini", attribution, false);
    expect(without.metadata).not.toHaveProperty("end_user");
  });

  it("asks for the usage chunk on a streamed call, so the stream can be metered", () => {
    const body = buildUpstreamBody({ messages }, "gpt-4o-mini", attribution, true);
    expect(body.stream).toBe(true);
    expect(body.stream_options).toEqual({ include_usage: true });
  });
});
