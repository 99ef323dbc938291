// Starts the Portkey AI gateway's own Node server (@portkey-ai/gateway, build/start-server.js,
// what its `npx @portkey-ai/gateway` bin runs), bound to 127.0.0.1 only.
//
//   node bench/peers/portkey-server.mjs --port=<port>
//
// The published server listens on every interface (@hono/node-server's serve() without a
// hostname); the bench keeps all traffic on loopback, so this wrapper pins an unspecified
// listen host to 127.0.0.1 before loading the server unchanged. `--headless` skips its web UI.
//
// One workaround: on Node, Portkey 1.15.x answers a streamed chat completion with 500
// ("Something went wrong"; log: "TypeError: immutable" in ResponseService.updateHeaders)
// because it appends its x-portkey-* headers to the upstream fetch Response, whose headers are
// immutable in Node's fetch (Portkey-AI/gateway issues #1389 and #1550, still open). So an
// upstream answer of type text/event-stream is handed over as `new Response(body, response)`
// (same body stream, mutable headers): one object per stream, nothing else changes. Plain JSON
// answers are left exactly as Node's fetch returns them.

import { createRequire } from "node:module";
import net from "node:net";
import { pathToFileURL } from "node:url";

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === "number" && (args[1] === undefined || typeof args[1] === "function")) args.splice(1, 0, "127.0.0.1");
  else if (args[0] && typeof args[0] === "object" && args[0].host === undefined && args[0].path === undefined)
    args[0] = { ...args[0], host: "127.0.0.1" };
  return listen.apply(this, args);
};

const nodeFetch = globalThis.fetch;
globalThis.fetch = async (...args) => {
  const res = await nodeFetch(...args);
  return res.headers.get("content-type")?.startsWith("text/event-stream") ? new Response(res.body, res) : res;
};

const port = process.argv.find((a) => a.startsWith("--port="));
if (!port) throw new Error("usage: portkey-server.mjs --port=<port>");
process.argv = [process.argv[0], "start-server.js", port, "--headless"];
console.clear = () => {}; // it clears the terminal on start; keep the log readable
const require = createRequire(import.meta.url);
const pkgJson = require.resolve("@portkey-ai/gateway/package.json");
await import(pathToFileURL(pkgJson.replace(/package\.json$/, "build/start-server.js")).href);
