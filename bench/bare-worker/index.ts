// Bench fixture: forwards POST /chat/completions to the upstream and streams the answer back.
// Nothing else — no auth, no parsing, no logging — so the gateway's cost is what it adds to this.

interface BareEnv {
  UPSTREAM_URL: string;
  UPSTREAM_KEY?: string;
}

export default {
  async fetch(request: Request, env: BareEnv): Promise<Response> {
    if (request.method !== "POST" || new URL(request.url).pathname !== "/chat/completions") {
      return new Response("not found", { status: 404 });
    }
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (env.UPSTREAM_KEY) headers.authorization = `Bearer ${env.UPSTREAM_KEY}`;
    const upstream = await fetch(`${env.UPSTREAM_URL}/chat/completions`, {
      method: "POST",
      headers,
      body: await request.arrayBuffer(),
      signal: request.signal,
    });
    return new Response(upstream.body, { status: upstream.status, headers: upstream.headers });
  },
};
