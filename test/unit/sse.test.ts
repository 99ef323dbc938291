import { describe, expect, it } from "vitest";
import { readEvent, type SseEvent, sseParser } from "../../src/calls/stream/sse";

/** Feeds `pieces` to a parser as separate reads and returns the events it produced. */
function parse(pieces: string[], end = true): SseEvent[] {
  const events: SseEvent[] = [];
  const parser = sseParser((event) => events.push(event));
  for (const piece of pieces) parser.push(piece);
  if (end) parser.end();
  return events;
}

describe("readEvent", () => {
  it("joins data lines with a newline and strips one space after the colon", () => {
    expect(readEvent(['data: {"a":', "data:1}"])).toEqual({ data: '{"a":\n1}', comments: [] });
  });

  it("keeps comments apart and has no data without a data line", () => {
    expect(readEvent([": keep-alive", "event: ping"])).toEqual({ data: null, comments: [": keep-alive"], event: "ping" });
  });

  it("an empty data line is data, not the absence of it", () => {
    expect(readEvent(["data:"])).toEqual({ data: "", comments: [] });
  });
});

describe("sseParser", () => {
  it("emits an event at each blank line, whatever the line endings", () => {
    expect(parse(["data: 1\n\ndata: 2\r\n\r\ndata: 3\r\r"]).map((e) => e.data)).toEqual(["1", "2", "3"]);
  });

  it("an event split across reads comes out once, when its blank line arrives", () => {
    const events: SseEvent[] = [];
    const parser = sseParser((event) => events.push(event));
    parser.push("da");
    parser.push("ta: hel");
    expect(events).toEqual([]);
    parser.push("lo\n");
    expect(events).toEqual([]);
    parser.push("\n");
    expect(events.map((e) => e.data)).toEqual(["hello"]);
  });

  it("a '\\r' at the end of a read waits for a possible '\\n' (no empty event in between)", () => {
    expect(parse(["data: a\r", "\n\r", "\n"]).map((e) => e.data)).toEqual(["a"]);
  });

  it("at the end, an unterminated last event still counts", () => {
    expect(parse(["data: 1\n\ndata: last"]).map((e) => e.data)).toEqual(["1", "last"]);
    expect(parse(["data: 1\n\ndata: last"], false).map((e) => e.data)).toEqual(["1"]);
  });

  it("blank lines without any event line emit nothing", () => {
    expect(parse(["\n\n\r\n"])).toEqual([]);
  });

  it("with a limit, events up to it pass; one that grows past it (with or without line ends) is reported once and dropped", () => {
    const events: SseEvent[] = [];
    let oversized = 0;
    const parser = sseParser((event) => events.push(event), { maxEventChars: 20, onOversized: () => oversized++ });
    parser.push(`data: ${"a".repeat(14)}\n\n`); // 20 characters: at the limit
    parser.push("data: 0123456789");
    parser.push("0123456789"); // 26 characters and no line end yet
    parser.push("\n\ndata: after\n\n");
    parser.end();
    expect(events.map((e) => e.data)).toEqual(["a".repeat(14)]);
    expect(oversized).toBe(1);
  });

  it("a limit counts every line of an event, not only the unfinished one", () => {
    let oversized = false;
    const parser = sseParser(() => {}, {
      maxEventChars: 30,
      onOversized: () => {
        oversized = true;
      },
    });
    for (let i = 0; i < 5; i++) parser.push("data: 123456789\n");
    expect(oversized).toBe(true);
  });
});
