import { describe, expect, it } from "vitest";
import { containsShown, docBlocks, ELIDED, parseShown } from "../e2e/doc-blocks";

const fence = (lang: string, code: string) => `\`\`\`${lang}\n${code}\n\`\`\``;

describe("the docs runner: which blocks are requests, and what each curl must answer", () => {
  it("takes sh blocks that run curl, with the status and answer each comment shows", () => {
    const page = docBlocks(
      [
        "Text.",
        fence(
          "sh",
          [
            "KEY=$(curl -s -X POST \"$BASE/api/teams/create\" -d '{}' | jq -r .virtual_key)",
            'curl -s "$BASE/api/teams" -H "Authorization: Bearer $KEY"',
            "# → 403",
            'curl -s "$BASE/api/credits/teams/t/balance"',
            '# → 200 {"credits_remaining": 99,',
            '#        "credits_reserved": 0, …}',
          ].join("\n"),
        ),
      ].join("\n"),
    );
    expect(page.problems).toEqual([]);
    const [block] = page.runnable;
    expect(block).toMatchObject({ kind: "sh", line: 2 });
    expect(block.curls.map((c) => c.status)).toEqual([null, 403, 200]);
    expect(block.curls[2].contains).toEqual({ credits_remaining: 99, credits_reserved: 0 });
  });

  it("ignores blocks that only mention curl in a comment, and other languages' code", () => {
    const page = docBlocks(
      [
        fence("sh", "npm test   # needs curl and jq\nnpm start"),
        fence("ts", "await gateway.call(jobId, body);"),
        fence("toml", 'service = "x"'),
      ].join("\n"),
    );
    expect(page.runnable).toEqual([]);
    expect(page.problems).toEqual([]);
  });

  it("runs the OpenAI SDK snippets, honours a reasoned exemption, and refuses what it cannot check", () => {
    const page = docBlocks(
      [
        fence("python", 'client = OpenAI(base_url=os.environ["BASE"] + "/v1", api_key=os.environ["KEY"])'),
        fence("js", "const client = new OpenAI({ baseURL, apiKey });"),
        "<!-- not run: a deployed URL -->",
        fence("sh", "curl -s https://gateway.example.com/health"),
        fence("sh", "curl -s http://localhost:8003/health"),
        fence("sh", 'curl -s -o out.json "$BASE/health"'),
        fence("console", "curl -s $BASE/health"),
        fence("sh", 'curl -s "$BASE/health"\n# → 200 {"status": "healthy"\n'),
      ].join("\n"),
    );
    expect(page.runnable.map((b) => b.kind)).toEqual(["python", "js", "sh", "sh"]);
    expect(page.skipped).toEqual([{ line: 8, reason: "a deployed URL" }]);
    expect(page.problems).toHaveLength(4);
    expect(page.problems.join("\n")).toMatch(/port 8003[\s\S]*-o\/-w\/-D[\s\S]*`console` block[\s\S]*not JSON/);
  });

  it("runs the Anthropic SDK snippets as it runs OpenAI's", () => {
    const page = docBlocks(
      [
        fence("python", 'client = Anthropic(base_url=os.environ["BASE"], api_key=os.environ["KEY"])'),
        fence("js", "const client = new Anthropic({ baseURL: process.env.BASE, apiKey: process.env.KEY });"),
        fence("python", "print(Anthropic)"),
      ].join("\n"),
    );
    expect(page.runnable.map((b) => b.kind)).toEqual(["python", "js"]);
    expect(page.problems).toEqual([]);
  });

  it("reads … in a shown answer as elision", () => {
    expect(parseShown('{"id": "chatcmpl-…", "n": …, "list": [1, …], "more": {…}, …}')).toEqual({
      id: "chatcmpl-…",
      n: ELIDED,
      list: [1, ELIDED],
      more: {},
    });
    expect(parseShown("{not json}")).toBeNull();
  });

  it("an answer contains what is shown: extra fields pass, a different value or a missing item fails", () => {
    const shown = parseShown('{"id": "chatcmpl-…", "n": …, "list": [1, …], "exact": [1, 2], "s": "a…z"}');
    const answer = { id: "chatcmpl-42", n: 7, list: [1, 2, 3], exact: [1, 2], s: "abcz", extra: true };
    expect(containsShown(answer, shown)).toBe(true);
    expect(containsShown({ ...answer, id: "cmpl-42" }, shown)).toBe(false);
    expect(containsShown({ ...answer, list: [2, 3] }, shown)).toBe(false);
    expect(containsShown({ ...answer, exact: [1, 2, 3] }, shown)).toBe(false);
    expect(containsShown({ ...answer, s: "abc" }, shown)).toBe(false);
    const { n: _, ...withoutN } = answer;
    expect(containsShown(withoutN, shown)).toBe(true);
    expect(containsShown({ credits_remaining: 98 }, { credits_remaining: 99 })).toBe(false);
  });
});
