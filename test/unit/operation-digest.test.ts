import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { argumentsDigest, canonicalJson } from "../../src/ledger/rules/operation-digest";

describe("an operation's canonical JSON", () => {
  it("sorts object keys at every depth, so arguments built in another order read the same", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it("keeps the order of lists (a list's order is part of what was asked)", () => {
    expect(canonicalJson(["b", "a"])).not.toBe(canonicalJson(["a", "b"]));
  });
});

describe("an operation's digest", () => {
  it("is the SHA-256, in hex, of the method and the canonical arguments", async () => {
    const expected = createHash("sha256").update('createJob\n{"jobType":"t","userId":null}').digest("hex");
    expect(await argumentsDigest("createJob", { userId: null, jobType: "t" })).toBe(expected);
  });

  it("is the same for the same request however its keys were ordered", async () => {
    expect(await argumentsDigest("addCredits", { credits: 5, reason: "top-up" })).toBe(
      await argumentsDigest("addCredits", { reason: "top-up", credits: 5 }),
    );
  });

  it("differs for another method or other arguments, so a reused operation id is caught", async () => {
    const first = await argumentsDigest("addCredits", { credits: 5, reason: "top-up" });
    expect(await argumentsDigest("refundJob", { credits: 5, reason: "top-up" })).not.toBe(first);
    expect(await argumentsDigest("addCredits", { credits: 6, reason: "top-up" })).not.toBe(first);
  });
});
