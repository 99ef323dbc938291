// The gateway's second door: a named WorkerEntrypoint that another Worker reaches through a
// service binding, with typed methods instead of hand-built HTTP. Each method builds the request
// the HTTP client would send (client/src/protocol.ts, the one mapping) and dispatches it into the
// same Hono app in-process, so authentication, key status, rate limits, admission, holds,
// idempotency, metering and error mapping are the HTTP routes' own: one implementation, two doors.
// Refusals come back as `{ ok: false, status, detail }` values; no method throws across RPC.

import { WorkerEntrypoint } from "cloudflare:workers";
import {
  type CallsPage,
  type CompleteJobRequest,
  type CreateJobRequest,
  type GatewayAnswers,
  type GatewayBinding,
  type GatewayOperation,
  type GatewayResult,
  type LlmCallRequest,
  type MoneyOptions,
  requestOf,
  resultOf,
  type UsageQuery,
} from "#client/protocol";
import { app } from "../app-instance";
import { log } from "../log";

/** The origin of the in-process requests; nothing routes on it, it only makes them well-formed URLs. */
const RPC_ORIGIN = "https://gateway-rpc.internal";

export class GatewayRpc extends WorkerEntrypoint<Env> implements GatewayBinding {
  createJob(apiKey: string, body: CreateJobRequest, options?: MoneyOptions) {
    return this.#dispatch(apiKey, { method: "createJob", body, options });
  }

  call(apiKey: string, jobId: string, body: LlmCallRequest) {
    return this.#dispatch(apiKey, { method: "call", jobId, body });
  }

  /** The answer's body: the same SSE bytes as POST /api/jobs/{id}/llm-call-stream. */
  stream(apiKey: string, jobId: string, body: LlmCallRequest) {
    return this.#dispatch(apiKey, { method: "stream", jobId, body });
  }

  complete(apiKey: string, jobId: string, body: CompleteJobRequest, options?: MoneyOptions) {
    return this.#dispatch(apiKey, { method: "complete", jobId, body, options });
  }

  getJob(apiKey: string, jobId: string, query?: CallsPage) {
    return this.#dispatch(apiKey, { method: "getJob", jobId, query });
  }

  balance(apiKey: string, teamId: string) {
    return this.#dispatch(apiKey, { method: "balance", teamId });
  }

  usage(apiKey: string, teamId: string, query?: UsageQuery) {
    return this.#dispatch(apiKey, { method: "usage", teamId, query });
  }

  async #dispatch<M extends GatewayOperation["method"]>(
    apiKey: unknown,
    operation: GatewayOperation & { method: M },
  ): Promise<GatewayResult<GatewayAnswers[M]>> {
    if (typeof apiKey !== "string" || apiKey === "") {
      return { ok: false, status: 401, detail: "Missing API key: pass the team's virtual key as the first argument" };
    }
    try {
      const request = requestOf(RPC_ORIGIN, apiKey, operation);
      return await resultOf(operation.method, await app.fetch(request, this.env, this.ctx));
    } catch (error) {
      // Arguments the request cannot be built from (e.g. a body that is not JSON-serialisable) or a
      // header the key cannot be (a control character): invalid input, never an exception across RPC.
      log("warn", "rpc request refused", { method: operation.method, error: error instanceof Error ? error.name : "unknown" });
      return { ok: false, status: 400, detail: `The arguments of ${operation.method} could not be sent: ${describe(error)}` };
    }
  }
}

function describe(error: unknown): string {
  // Never echo the arguments themselves: the key may be among them.
  return error instanceof TypeError ? "a key or value is not valid in a request" : "invalid arguments";
}
