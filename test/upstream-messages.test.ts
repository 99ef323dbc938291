import { describe, expect, it } from "vitest";
import { hideModelNames } from "../src/llm/redact";

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
  });
});
