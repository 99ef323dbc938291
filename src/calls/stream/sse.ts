// Server-sent events as LiteLLM sends them, parsed with no I/O: text in, events out. Lines
// end with "\n", "\r\n" or "\r"; an event ends at a blank line (see the WHATWG SSE spec).

/** One event as read: its `data:` lines joined by "\n" (null without any), its comment lines, and its `event:` name if it has one. */
export interface SseEvent {
  data: string | null;
  comments: string[];
  event?: string;
}

const fieldValue = (line: string, field: string) => line.slice(line.startsWith(`${field}: `) ? field.length + 2 : field.length + 1);

export function readEvent(lines: string[]): SseEvent {
  const data: string[] = [];
  const comments: string[] = [];
  let event: string | undefined;
  for (const line of lines) {
    if (line.startsWith("data:")) data.push(fieldValue(line, "data"));
    else if (line.startsWith(":")) comments.push(line);
    else if (line.startsWith("event:")) event = fieldValue(line, "event");
  }
  return { data: data.length === 0 ? null : data.join("\n"), comments, ...(event !== undefined ? { event } : {}) };
}

export interface SseParser {
  /** Text read so far; every event it completes is passed to `onEvent` before this returns. */
  push(text: string): void;
  /** The stream ended: whatever is left counts as a last event. */
  end(): void;
}

const LINE_END = /\r\n|\r|\n/g;

export interface SseLimit {
  /** The most characters one event may hold (its lines and the unfinished tail together). */
  maxEventChars: number;
  /** Called once when an event grows past the limit; the parser then drops everything it is given. */
  onOversized: () => void;
}

/**
 * Splits text into lines, and lines into events at each blank line; keeps only the unfinished
 * tail. With a limit, what it holds never grows past one event's cap (plus the read in hand).
 */
export function sseParser(onEvent: (event: SseEvent) => void, limit?: SseLimit): SseParser {
  let buffer = "";
  let eventLines: string[] = [];
  let eventChars = 0;
  let oversized = false;
  const emit = () => {
    if (eventLines.length > 0) onEvent(readEvent(eventLines));
    eventLines = [];
    eventChars = 0;
  };
  const consume = (text: string, final: boolean) => {
    if (oversized) return;
    // The tail held so far has no line end (but maybe a last '\r'): only the new text needs searching.
    let searchFrom = Math.max(0, buffer.length - 1);
    buffer += text;
    for (;;) {
      LINE_END.lastIndex = searchFrom;
      const match = LINE_END.exec(buffer);
      if (!match) break;
      searchFrom = 0;
      // A lone '\r' at the very end may be the first half of "\r\n": wait for the next read.
      if (match[0] === "\r" && match.index === buffer.length - 1 && !final) break;
      const line = buffer.slice(0, match.index);
      buffer = buffer.slice(match.index + match[0].length);
      if (line === "") emit();
      else {
        eventLines.push(line);
        eventChars += line.length;
      }
    }
    if (limit && eventChars + buffer.length > limit.maxEventChars) {
      oversized = true;
      buffer = "";
      eventLines = [];
      limit.onOversized();
      return;
    }
    if (final) {
      if (buffer !== "") eventLines.push(buffer);
      buffer = "";
      emit();
    }
  };
  return {
    push: (text) => consume(text, false),
    end: () => consume("", true),
  };
}
