// Streaming client: the time of each content-bearing SSE event, and its statistics.
import { parseServerTiming, request, takeSseEvents } from "./lib/http.mjs";
import { diff, mean, median, summarize } from "./lib/stats.mjs";

export async function streamOnce(url, headers, body) {
  let buffer = "";
  let firstByte = null;
  const contentTimes = [];
  const res = await request("POST", url, {
    headers,
    body,
    onChunk: (chunk, t) => {
      firstByte ??= t;
      buffer += chunk.toString("utf8");
      const [events, rest] = takeSseEvents(buffer);
      buffer = rest;
      for (const event of events) {
        const data = event
          .split("\n")
          .filter((line) => line.startsWith("data:"))
          .map((line) => line.slice(5).trim())
          .join("\n");
        if (!data || data === "[DONE]") continue;
        try {
          const content = JSON.parse(data).choices?.[0]?.delta?.content;
          if (typeof content === "string" && content.length > 0) contentTimes.push(t);
        } catch {
          // not a chunk
        }
      }
    },
  });
  return {
    status: res.status,
    text: res.status === 200 ? "" : res.text.slice(0, 300),
    headersMs: res.tHeaders - res.t0,
    firstByteMs: firstByte === null ? null : firstByte - res.t0,
    firstTokenMs: contentTimes.length ? contentTimes[0] - res.t0 : null,
    offsets: contentTimes.map((t) => t - contentTimes[0]),
    lastTokenMs: contentTimes.length ? contentTimes.at(-1) - res.t0 : null,
    totalMs: res.ms,
    serverTiming: parseServerTiming(res.headers["server-timing"]),
  };
}

/**
 * Per-chunk delay = how much later than the upstream's pacing each chunk arrives after the one
 * before it (gap − pacing), over every chunk after the first. A proxy that holds, batches or
 * slows chunks widens its upper tail; a constant transit time does not show here (it is in the
 * first-token time).
 */
export function streamStats(samples, delayMs) {
  const ok = samples.filter((s) => s.status === 200 && s.firstTokenMs !== null);
  const delays = [];
  for (const s of ok) for (let k = 1; k < s.offsets.length; k++) delays.push(s.offsets[k] - s.offsets[k - 1] - delayMs);
  const timing = {};
  for (const s of ok) for (const [name, ms] of s.serverTiming) (timing[name] ??= []).push(ms);
  return {
    streams: ok.length,
    failed: samples.length - ok.length,
    chunks_per_stream: median(ok.map((s) => s.offsets.length)),
    headers: summarize(ok.map((s) => s.headersMs)),
    first_token: summarize(ok.map((s) => s.firstTokenMs)),
    last_token: summarize(ok.map((s) => s.lastTokenMs)),
    chunk_delay: summarize(delays),
    ...(Object.keys(timing).length ? { server_timing_mean: Object.fromEntries(Object.entries(timing).map(([k, v]) => [k, mean(v)])) } : {}),
  };
}

/** What target a adds to target b, stream by stream (ms; positive = a is later). */
export function streamAdded(stats, a, b) {
  return {
    headers_p50: diff(stats[a]?.headers.p50, stats[b]?.headers.p50),
    first_token_p50: diff(stats[a]?.first_token.p50, stats[b]?.first_token.p50),
    first_token_p95: diff(stats[a]?.first_token.p95, stats[b]?.first_token.p95),
    last_token_p50: diff(stats[a]?.last_token.p50, stats[b]?.last_token.p50),
    chunk_delay_p50: diff(stats[a]?.chunk_delay.p50, stats[b]?.chunk_delay.p50),
    chunk_delay_p99: diff(stats[a]?.chunk_delay.p99, stats[b]?.chunk_delay.p99),
  };
}
