import { describe, expect, it } from "vitest";
import { UnknownKeys } from "../../src/http/middleware/key-owners";

describe("unknown keys", () => {
  it("are remembered for their window only", () => {
    const unknown = new UnknownKeys(10, 1000);
    unknown.add("h1", 0);
    expect(unknown.has("h1", 999)).toBe(true);
    expect(unknown.has("h1", 1000)).toBe(false);
    expect(unknown.has("h2", 0)).toBe(false);
  });

  it("are bounded: the oldest goes first", () => {
    const unknown = new UnknownKeys(2, 1000);
    unknown.add("a", 0);
    unknown.add("b", 0);
    unknown.add("c", 0);
    expect(unknown.has("a", 1)).toBe(false);
    expect(unknown.has("b", 1)).toBe(true);
    expect(unknown.has("c", 1)).toBe(true);
  });
});
