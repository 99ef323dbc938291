// The documentation's runnable blocks: which fenced blocks of a markdown page are requests, how
// they are run in one bash session per page, and what each `curl` in them must answer.
//
// A request block is a fenced `sh`/`bash` block that runs `curl`, a `python` block that builds an
// `OpenAI(` or `Anthropic(` client, or a `js` block that builds `new OpenAI(` or `new Anthropic(`. `<!-- not run: why -->` on the line
// before the fence exempts one (a deployed URL). After a `curl`, a comment `# → 403 …` says the
// status it must answer (otherwise any 2xx); when the rest of that comment (with its `#`
// continuation lines) is a JSON object, the answer must contain it. In that object `…` elides:
// a value `…` is anything, `, …}` more fields, `, …]` more items, and `"abc…"` a string that
// starts with abc (`"a…b"`: starts with a, ends with b).

export interface Expectation {
  /** The status the comment after the curl shows (null: any 2xx). */
  status: number | null;
  /** A JSON object the answer must contain, when the comment shows one. */
  contains: unknown;
  comment: string;
}

export interface DocBlock {
  kind: "sh" | "python" | "js";
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
  /** One per `curl` in the block, in order (sh blocks only). */
  curls: Expectation[];
}

export interface PageBlocks {
  runnable: DocBlock[];
  skipped: { line: number; reason: string }[];
  /** Blocks that look like requests but cannot be run or checked here, with why. */
  problems: string[];
}

const SHELLS = new Set(["sh", "bash", "shell"]);
/** What an elided value or list tail becomes once the shown JSON is parsed. */
export const ELIDED = "\u2026<elided>";
const CURL = /(?:^|[\s(|;&`])curl\s/g;
const EXPECT = /^\s*#\s*→\s*(\d{3})?\s*(.*)$/;
const CONTINUATION = /^\s*#\s{2,}(.*)$/;

/** A shell line without its comment (a `#` after whitespace, outside quotes). */
function withoutComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote) {
      if (ch === "\\" && quote === '"') i++;
      else if (ch === quote) quote = null;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === "#" && (i === 0 || /\s/.test(line[i - 1]))) return line.slice(0, i);
  }
  return line;
}

/**
 * The shown answer as JSON: `…` outside strings becomes ELIDED (a value, or an array's tail), and
 * an object's `, …` is dropped. Null when it is not JSON even so.
 */
export function parseShown(text: string): unknown {
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      out += ch;
      if (ch === "\\") out += text[++i] ?? "";
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    if (ch !== "\u2026") {
      out += ch;
      continue;
    }
    const next = text.slice(i + 1).trimStart()[0];
    if (next === "}") out = out.replace(/,\s*$/, "");
    else out += JSON.stringify(ELIDED);
  }
  try {
    return JSON.parse(out);
  } catch {
    return null;
  }
}

function expectationsOf(code: string): Expectation[] {
  const curls: Expectation[] = [];
  let last: Expectation | null = null;
  let shown = true;
  let continuing = false;
  for (const line of code.split("\n")) {
    const expect = EXPECT.exec(line);
    if (expect) {
      if (!last || shown) throw new Error(`"${line.trim()}" follows no curl of its own`);
      shown = true;
      last.status = expect[1] ? Number(expect[1]) : null;
      last.comment = expect[2];
      continuing = true;
      continue;
    }
    const more = continuing ? CONTINUATION.exec(line) : null;
    if (more && last) {
      last.comment += ` ${more[1]}`;
      continue;
    }
    continuing = false;
    for (const _ of withoutComment(line).matchAll(CURL)) {
      last = { status: null, contains: undefined, comment: "" };
      shown = false;
      curls.push(last);
    }
  }
  for (const curl of curls) {
    const text = curl.comment.trim();
    if (!text.startsWith("{")) continue;
    const shown = parseShown(text);
    if (shown === null) throw new Error(`the answer shown after curl, ${text}, is not JSON (elide with …)`);
    curl.contains = shown;
  }
  return curls;
}

export function docBlocks(markdown: string): PageBlocks {
  const lines = markdown.split("\n");
  const page: PageBlocks = { runnable: [], skipped: [], problems: [] };
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    const lang = open[1].toLowerCase();
    const code = body.join("\n");
    const line = start + 1;
    const shellCode = code.split("\n").map(withoutComment).join("\n");
    const isRequest =
      (SHELLS.has(lang) && shellCode.match(CURL) !== null) ||
      (lang === "python" && /\b(OpenAI|Anthropic)\(/.test(code)) ||
      ((lang === "js" || lang === "javascript") && /\bnew (OpenAI|Anthropic)\(/.test(code));
    if (!isRequest) {
      if (!SHELLS.has(lang) && /^\s*curl\s/m.test(code))
        page.problems.push(`line ${line}: a curl in a \`${lang || "plain"}\` block (use \`sh\`)`);
      continue;
    }
    const notRun = /^<!--\s*not run:\s*(.+?)\s*-->$/.exec(lines[start - 1] ?? "");
    if (notRun) {
      page.skipped.push({ line, reason: notRun[1] });
      continue;
    }
    if (SHELLS.has(lang)) {
      if (/localhost:8003|127\.0\.0\.1:8003/.test(code)) page.problems.push(`line ${line}: names port 8003; use $BASE`);
      if (/\s-(o|w|D)\s|--output\s|--write-out\s|--dump-header\s/.test(code)) {
        page.problems.push(`line ${line}: curl's -o/-w/-D are taken by the runner (it records each status)`);
      }
      try {
        page.runnable.push({ kind: "sh", line, code, curls: expectationsOf(code) });
      } catch (error) {
        page.problems.push(`line ${line}: ${(error as Error).message}`);
      }
    } else {
      page.runnable.push({ kind: lang === "python" ? "python" : "js", line, code, curls: [] });
    }
  }
  return page;
}

/**
 * One bash script that runs a page's blocks in order, in one session (so variables carry from
 * block to block), starting from `stateIn` (variables another page exported) and writing the
 * variables this page exported to `stateOut`. `curl` is wrapped to record each call's status and
 * body under `dir`; its output is unchanged.
 */
export function pageScript(blocks: DocBlock[], opts: { dir: string; stateIn?: string; stateOut: string; python: string | null }): string {
  const parts = [
    "set -e",
    `__DOCS_DIR='${opts.dir}'`,
    ': > "$__DOCS_DIR/calls"',
    "curl() {",
    "  local i rc=0 status=000",
    '  i=$(( $(wc -l < "$__DOCS_DIR/calls") + 1 ))',
    '  status=$(command curl -sS -o "$__DOCS_DIR/$i.body" -w "%{http_code}" "$@") || rc=$?',
    '  printf "%s %s %s\\n" "$__DOCS_BLOCK" "$status" "$rc" >> "$__DOCS_DIR/calls"',
    '  cat "$__DOCS_DIR/$i.body"',
    "  return $rc",
    "}",
    opts.stateIn ? `source '${opts.stateIn}'` : "",
    "__DOCS_EXPORTED_BEFORE=$(compgen -e)",
  ];
  blocks.forEach((block, index) => {
    parts.push(`__DOCS_BLOCK=${index}`, `echo ${index} > "$__DOCS_DIR/progress"`);
    if (block.kind === "sh") parts.push(block.code);
    else if (block.kind === "python") {
      parts.push(
        opts.python
          ? `'${opts.python}' - <<'__DOCS_PYTHON__'\n${block.code}\n__DOCS_PYTHON__`
          : `echo "(python block at line ${block.line} skipped: no python3 with venv here)"`,
      );
    } else parts.push(`node --input-type=module - <<'__DOCS_JS__'\n${block.code}\n__DOCS_JS__`);
  });
  parts.push(
    `echo done > "$__DOCS_DIR/progress"`,
    `for __v in $(compgen -e); do grep -qxF "$__v" <<< "$__DOCS_EXPORTED_BEFORE" || declare -p "$__v"; done > '${opts.stateOut}'`,
  );
  return `${parts.filter((p) => p !== "").join("\n")}\n`;
}

/**
 * True when `actual` has every field `expected` shows: arrays item by item (the same length, or
 * at least as long when the shown list ends with …), strings equal or matching their `…`.
 */
export function containsShown(actual: unknown, expected: unknown): boolean {
  if (expected === ELIDED) return true;
  if (typeof expected === "string" && expected.includes("\u2026")) {
    if (typeof actual !== "string") return false;
    const [head, ...rest] = expected.split("\u2026");
    const tail = rest.at(-1) ?? "";
    return actual.startsWith(head) && actual.endsWith(tail) && actual.length >= head.length + tail.length;
  }
  if (Array.isArray(expected)) {
    const open = expected.at(-1) === ELIDED;
    const shown = open ? expected.slice(0, -1) : expected;
    if (!Array.isArray(actual) || (open ? actual.length < shown.length : actual.length !== shown.length)) return false;
    return shown.every((e, i) => containsShown(actual[i], e));
  }
  if (expected !== null && typeof expected === "object") {
    if (actual === null || typeof actual !== "object" || Array.isArray(actual)) return false;
    return Object.entries(expected).every(([k, v]) => containsShown((actual as Record<string, unknown>)[k], v));
  }
  return Object.is(actual, expected);
}
