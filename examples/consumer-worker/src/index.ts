// A customer's Worker using the gateway through a service binding and the typed client. It runs
// the seed's workflow for a support ticket: one job, three calls (the follow-up streamed), completed.
//
//   POST /support-ticket   Authorization: Bearer <the team's virtual key>
//   { "team_id": "engineering", "question": "...", "fast_group"?: "...", "advanced_group"?: "..." }
//   GET  /jobs/{job_id}    Authorization: Bearer <the team's virtual key>
//
// The team's key comes with each request so one deployment can serve several teams; a Worker
// serving one team would keep it as a secret (`wrangler secret put GATEWAY_API_KEY`) instead.

import { type GatewayBinding, GatewayClient, GatewayError } from "@llm-job-gateway/client";

export interface Env {
  GATEWAY: GatewayBinding;
  FAST_GROUP: string;
  ADVANCED_GROUP: string;
}

interface TicketRequest {
  team_id: string;
  question: string;
  fast_group?: string;
  advanced_group?: string;
}

function keyOf(request: Request): string | null {
  const match = /^Bearer\s+(\S+)$/i.exec(request.headers.get("authorization") ?? "");
  return match ? match[1] : null;
}

async function supportTicket(gateway: GatewayClient, ticket: TicketRequest, env: Env) {
  const fast = ticket.fast_group ?? env.FAST_GROUP;
  const advanced = ticket.advanced_group ?? env.ADVANCED_GROUP;
  const ask = (content: string) => [{ role: "user" as const, content }];

  const run = await gateway.job(
    { team_id: ticket.team_id, job_type: "customer_support", metadata: { source: "consumer-worker" } },
    async (job) => {
      const first = await gateway.call(job.job_id, { model_group: fast, messages: ask(ticket.question), purpose: "initial_response" });
      let followUp = "";
      for await (const chunk of await gateway.stream(job.job_id, {
        model_group: fast,
        messages: ask(`Follow up on: ${first.response.content}`),
        purpose: "follow_up",
      })) {
        followUp += chunk.choices[0]?.delta.content ?? "";
      }
      const analysis = await gateway.call(job.job_id, {
        model_group: advanced,
        messages: ask(`Analyse: ${ticket.question}`),
        purpose: "analysis",
      });
      return { job_id: job.job_id, initial_response: first.response.content, follow_up: followUp, analysis: analysis.response.content };
    },
  );
  const balance = await gateway.balance(ticket.team_id);
  return { ...run.result, costs: run.completion.costs, credits_remaining: balance.credits_remaining };
}

export default {
  async fetch(request, env) {
    const apiKey = keyOf(request);
    if (!apiKey) return Response.json({ detail: "Send the team's key as 'Authorization: Bearer <key>'" }, { status: 401 });
    const gateway = new GatewayClient({ binding: env.GATEWAY, apiKey });
    const url = new URL(request.url);
    try {
      if (request.method === "POST" && url.pathname === "/support-ticket") {
        const ticket = (await request.json().catch(() => null)) as TicketRequest | null;
        if (!ticket?.team_id || !ticket.question) return Response.json({ detail: "Send JSON with team_id and question" }, { status: 422 });
        return Response.json(await supportTicket(gateway, ticket, env));
      }
      const job = /^\/jobs\/([^/]+)$/.exec(url.pathname);
      if (request.method === "GET" && job) return Response.json(await gateway.getJob(decodeURIComponent(job[1])));
      return Response.json({ detail: "Not found" }, { status: 404 });
    } catch (error) {
      // The gateway's refusal, passed on as it came (status and detail).
      if (error instanceof GatewayError) return Response.json({ detail: error.detail }, { status: error.status });
      throw error;
    }
  },
} satisfies ExportedHandler<Env>;
