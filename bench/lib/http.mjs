// A minimal keep-alive HTTP/1.1 client on node:http that timestamps headers and every body
// chunk (performance.now(), sub-millisecond). Loopback only.
import http from "node:http";

const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });

/**
 * One request. Resolves { status, headers, text, t0, tHeaders, tEnd, ms } (ms = t0 → last byte).
 * onChunk(buffer, t) sees each body chunk as it arrives.
 */
export function request(method, url, { headers = {}, body, onChunk, timeoutMs = 60_000 } = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    if (u.hostname !== "127.0.0.1") {
      reject(new Error(`bench requests go to 127.0.0.1 only, not ${u.hostname}`));
      return;
    }
    const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    const allHeaders = { ...headers };
    if (payload !== undefined) {
      allHeaders["content-type"] ??= "application/json";
      allHeaders["content-length"] = Buffer.byteLength(payload);
    }
    const t0 = performance.now();
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, agent, headers: allHeaders }, (res) => {
      const tHeaders = performance.now();
      const chunks = [];
      res.on("data", (chunk) => {
        const t = performance.now();
        chunks.push(chunk);
        onChunk?.(chunk, t);
      });
      res.on("end", () => {
        const tEnd = performance.now();
        resolve({
          status: res.statusCode,
          headers: res.headers,
          text: Buffer.concat(chunks).toString("utf8"),
          t0,
          tHeaders,
          tEnd,
          ms: tEnd - t0,
        });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout after ${timeoutMs} ms: ${method} ${u.pathname}`)));
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

export class HttpError extends Error {
  constructor(what, res) {
    super(`${what}: HTTP ${res.status} ${res.text.slice(0, 300)}`);
    this.status = res.status;
  }
}

/** request() that insists on a 2xx and parses JSON. */
export async function json(method, url, options = {}, what = `${method} ${new URL(url).pathname}`) {
  const res = await request(method, url, options);
  if (res.status < 200 || res.status > 299) throw new HttpError(what, res);
  return { ...res, json: res.text ? JSON.parse(res.text) : null };
}

/** Parses a Server-Timing header into [[name, ms], ...] (names may repeat). */
export function parseServerTiming(value) {
  if (!value) return [];
  return String(value)
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const [name, ...params] = part.split(";");
      const dur = params.map((p) => p.trim()).find((p) => p.startsWith("dur="));
      return [name.trim(), dur ? Number(dur.slice(4)) : 0];
    });
}

/** Runs fn(i) for i in [0, total) with at most `concurrency` in flight. */
export async function pool(total, concurrency, fn) {
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(total, concurrency) }, worker));
}

/** Runs fn() in `concurrency` loops until durationMs has passed; resolves with the elapsed ms. */
export async function forDuration(durationMs, concurrency, fn) {
  const started = performance.now();
  const deadline = started + durationMs;
  const worker = async () => {
    while (performance.now() < deadline) await fn();
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return performance.now() - started;
}

/** Splits a growing SSE buffer into complete events; returns [events, rest]. */
export function takeSseEvents(buffer) {
  const events = [];
  let rest = buffer.replace(/\r\n/g, "\n");
  let idx;
  while ((idx = rest.indexOf("\n\n")) !== -1) {
    events.push(rest.slice(0, idx));
    rest = rest.slice(idx + 2);
  }
  return [events, rest];
}
