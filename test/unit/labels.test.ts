import { describe, expect, it } from "vitest";
import { mergeLabels, openAILabels } from "../../src/calls/labels";
import { jobTagsWith, MAX_TAGS_PER_JOB } from "../../src/ledger/rules/job-tags";
import { OpenAIMetadata, splitTags, TagListText } from "../../src/schemas/labels";

describe("a call's labels", () => {
  it("splits a comma-separated list, trimming and skipping empty entries", () => {
    expect(splitTags(" a, b,,c ,")).toEqual(["a", "b", "c"]);
    expect(splitTags("")).toEqual([]);
  });

  it("takes the header's tags with the body's (each once) and the header's end user over the body's", () => {
    const body = { tags: ["beta", "search"], endUser: "from-body" };
    expect(mergeLabels(body, { tags: "checkout,beta", endUser: "from-header" })).toEqual({
      tags: ["beta", "search", "checkout"],
      endUser: "from-header",
    });
    expect(mergeLabels(body, {})).toEqual(body);
    expect(mergeLabels(body, { endUser: "" })).toEqual(body);
  });

  it("counts too many tags in all (at most 10), wherever they came from", () => {
    const body = { tags: ["t0", "t1", "t2", "t3", "t4", "t5"], endUser: null };
    expect(mergeLabels(body, { tags: "t5,t6,t7,t8,t9" })).toMatchObject({ tags: expect.any(Array) });
    expect(mergeLabels(body, { tags: "t6,t7,t8,t9,t10" })).toEqual({ tooManyTags: 11 });
  });

  it("reads OpenAI's user and metadata.tags; an empty user is none", () => {
    expect(openAILabels("u", { tags: "a,b,a" })).toEqual({ tags: ["a", "b"], endUser: "u" });
    expect(openAILabels("", null)).toEqual({ tags: [], endUser: null });
  });

  it("refuses tags that are not 1 to 64 of the allowed characters, and OpenAI metadata past its limits", () => {
    expect(TagListText.safeParse("ok,feature:checkout,v1.2/beta").success).toBe(true);
    for (const bad of ["not ok", "a;b", "é", "x".repeat(65), Array.from({ length: 11 }, (_, i) => `t${i}`).join(",")]) {
      expect(TagListText.safeParse(bad).success, bad).toBe(false);
    }
    expect(OpenAIMetadata.safeParse({ tags: "a b" }).success).toBe(false);
    expect(OpenAIMetadata.safeParse(Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"]))).success).toBe(false);
  });

  it("gathers a job's tags from its calls, each once, the first 32", () => {
    expect(jobTagsWith(["a"], ["b", "a", "c"])).toEqual(["a", "b", "c"]);
    const many = Array.from({ length: 40 }, (_, i) => `t${i}`);
    expect(jobTagsWith([], many)).toHaveLength(MAX_TAGS_PER_JOB);
    expect(jobTagsWith(many.slice(0, 32), ["new"])).toEqual(many.slice(0, 32));
  });
});
