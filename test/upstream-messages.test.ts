import { describe, expect, it } from "vitest";
import { hideModelNames } from "../src/calls/upstream/redact";

describe("upstream messages shown to teams", () => {
  it("name neither the model nor the provider behind a group", () => {
    const message =
      "litellm.InternalServerError: OpenAIException - The server had an error with gpt-4o-mini-2024-07-18. Received Model Group=gpt-4o-mini+fail=500";
    const shown = hideModelNames(message, ["gpt-4o-mini+fail=500", "gpt-3.5-turbo"]);
    expect(shown).not.toMatch(/gpt|openai/i);
    expect(shown).toContain("ProviderException");
    expect(hideModelNames("AnthropicException - overloaded; claude-3-5-sonnet busy", [])).toBe(
      "ProviderException - overloaded; <model> busy",
    );
  });

  it("leave ordinary words alone", () => {
    expect(hideModelNames("This request exceeds the context window", ["gpt-4"])).toBe("This request exceeds the context window");
    const prose = "Philosophy commands: grokking the whisper of a sonar ping, gemma says";
    expect(hideModelNames(prose, [])).toBe(prose);
  });

  it("hide the model families whose names are also words when a version follows", () => {
    expect(hideModelNames("phi-3-mini, phi3, command-r-plus, grok-2, gemma2-9b, sonar-pro and whisper-1 failed", [])).toBe(
      "<model>, <model>, <model>, <model>, <model>, <model> and <model> failed",
    );
  });
});
