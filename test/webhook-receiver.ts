import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

// A local webhook receiver for the tests, steered per path by the URL's query: `?fail=N` answers
// 500 to the first N deliveries (then 204), `?hang=1` keeps every delivery open until the test
// releases it (POST /_release?path=...). It records each delivery, with its headers and raw body
// and whether it has been answered: GET /_received?path=/hook/x lists them.

interface Received {
  headers: Record<string, string>;
  body: string;
  received_at_ms: number;
  answered: number | null;
}

export async function startWebhookReceiver(): Promise<{ url: string; close: () => Promise<void> }> {
  const received = new Map<string, Received[]>();
  const hanging = new Map<string, Array<() => void>>();

  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    });
  const reply = (res: ServerResponse, status: number, body?: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://receiver");
    const path = url.searchParams.get("path") ?? "";
    if (url.pathname === "/_received") return reply(res, 200, received.get(path) ?? []);
    if (url.pathname === "/_release") {
      for (const release of hanging.get(path) ?? []) release();
      hanging.delete(path);
      return reply(res, 200, { released: true });
    }
    const body = await readBody(req);
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
    const record: Received = { headers, body, received_at_ms: Date.now(), answered: null };
    const list = received.get(url.pathname) ?? [];
    list.push(record);
    received.set(url.pathname, list);
    const answer = (status: number) => {
      record.answered = status;
      reply(res, status, status === 204 ? undefined : { error: "receiver failing on purpose" });
    };
    if (url.searchParams.get("hang") === "1") {
      hanging.set(url.pathname, [...(hanging.get(url.pathname) ?? []), () => answer(204)]);
      req.on("close", () => {
        if (record.answered === null) record.answered = -1; // the sender gave up
      });
      return;
    }
    answer(list.length <= Number(url.searchParams.get("fail") ?? 0) ? 500 : 204);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("receiver did not bind");
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const releases of hanging.values()) for (const release of releases) release();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
