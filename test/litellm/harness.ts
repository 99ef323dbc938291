// Shared by the tests of `npm run test:litellm` (vitest.litellm.config.ts): where the servers
// started by scripts/test-litellm.mjs are, and small HTTP/SSE helpers. Plain fetch only, so
// this file also loads (and its suites skip) if the workerd project of `npm test` collects it.
import { describe, inject } from "vitest";

export interface LiteLLMRun {
  /** The gateway under wrangler dev (npm start), e.g. http://127.0.0.1:41234 */
  gatewayUrl: string;
  adminKey: string;
  /** The real LiteLLM proxy, and its master key (the gateway's LITELLM_API_KEY). */
  litellmUrl: string;
  litellmKey: string;
  litellmVersion: string;
  /** The mock OpenAI-compatible upstream behind LiteLLM (mock-litellm, mode "upstream"). */
  upstreamUrl: string;
  /** Path of the mock module the contract test starts in proxy mode ("" = mock-litellm/server.mjs). */
  mockModule?: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    litellmRun: LiteLLMRun;
  }
}

/** `npm test`'s workerd project matches test/**\/*.test.ts too; there these suites skip. */
export const inWorkerd = (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent === "Cloudflare-Workers";

export const describeLiteLLM = describe.skipIf(inWorkerd);

/** The servers of this run; fails clearly when the tests were not started by scripts/test-litellm.mjs. */
export function litellmRun(): LiteLLMRun {
  const run = inject("litellmRun") as Partial<LiteLLMRun> | undefined;
  const missing = ["gatewayUrl", "adminKey", "litellmUrl", "litellmKey", "upstreamUrl"].filter((k) => !run?.[k as keyof LiteLLMRun]);
  if (!run || missing.length > 0) {
    throw new Error(
      `These tests need the servers that "npm run test:litellm" (scripts/test-litellm.mjs) starts; ` +
        `missing: ${missing.join(", ")} (LITELLM_TEST_* environment variables).`,
    );
  }
  return run as LiteLLMRun;
}

/** The repo's mock (plain JS, no types): its server and its deterministic answer model. */
export async function loadMock(modulePath?: string): Promise<any> {
  const href = modulePath ? new URL(`file://${modulePath}`).href : new URL("../../mock-litellm/server.mjs", import.meta.url).href;
  return import(/* @vite-ignore */ href);
}

export interface HttpResult {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

export async function http(
  method: string,
  url: string,
  { headers = {}, body }: { headers?: Record<string, string>; body?: unknown } = {},
): Promise<HttpResult> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(45_000),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** An SSE body split into events (`\n\n`-terminated frames), as a client reads it. */
export interface Sse {
  raw: string;
  /** Each event's text, without its closing blank line. */
  frames: string[];
  /** Text after the last `\n\n` (must be empty for a well-framed stream). */
  rest: string;
  /** The payloads of `data: ` lines, in order (including "[DONE]"). */
  data: string[];
  /** Parsed JSON payloads (everything but [DONE]); non-JSON payloads are kept as strings. */
  objects: any[];
  endsWithDone: boolean;
}

export function parseSse(raw: string): Sse {
  const parts = raw.split("\n\n");
  const rest = parts.pop() ?? "";
  const frames = parts.filter((f) => f.length > 0);
  const data: string[] = [];
  for (const frame of frames) {
    for (const line of frame.split("\n")) if (line.startsWith("data: ")) data.push(line.slice("data: ".length));
  }
  const objects = data
    .filter((d) => d !== "[DONE]")
    .map((d) => {
      try {
        return JSON.parse(d);
      } catch {
        return d;
      }
    });
  return { raw, frames, rest, data, objects, endsWithDone: data.at(-1) === "[DONE]" && raw.endsWith("data: [DONE]\n\n") };
}

/** Joined `delta.content` of chat.completion.chunk objects. */
export function streamedContent(objects: any[]): string {
  return objects.map((o) => (typeof o?.choices?.[0]?.delta?.content === "string" ? o.choices[0].delta.content : "")).join("");
}

/** The chunks carrying a non-null `usage` (the usage chunk, detected the way §4.2 says: by usage, not by choices). */
export function usageChunks(objects: any[]): any[] {
  return objects.filter((o) => o && typeof o === "object" && o.usage !== null && o.usage !== undefined);
}

/** `bytes` random bytes as hex (Web Crypto: no node: import, so the file loads anywhere). */
export function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
}

export function randomSuffix(): string {
  return randomHex(4);
}
