import { GatewayError } from "./errors.js";
import {
  type CallsPage,
  type GatewayAnswers,
  type GatewayBinding,
  type GatewayOperation,
  type GatewayResult,
  type MoneyOptions,
  requestOf,
  resultOf,
  type UsageQuery,
} from "./protocol.js";
import type {
  Balance,
  CompleteJobRequest,
  CreateJobRequest,
  Job,
  JobCompletion,
  JobCreated,
  LlmCallAnswer,
  LlmCallRequest,
  Usage,
} from "./schemas.gen.js";
import { type ChatCompletionChunk, chunksOf } from "./sse.js";

/** Over HTTP: the gateway's URL (e.g. `https://gateway.example.com`). */
export interface HttpOptions {
  baseUrl: string;
  apiKey: string;
  /** A fetch to use instead of the global one (tests, proxies). */
  fetch?: typeof fetch;
}

/** Over a service binding to the gateway's `GatewayRpc` entrypoint (from another Worker). */
export interface BindingOptions {
  binding: GatewayBinding;
  apiKey: string;
}

export type GatewayClientOptions = HttpOptions | BindingOptions;

/** What `job()` answers: the callback's result and the completed job's costs. */
export interface JobRun<T> {
  result: T;
  completion: JobCompletion;
}

const MAX_ERROR_MESSAGE = 1000;

/**
 * A typed client for a team's side of the gateway. The same methods over HTTP (`{ baseUrl, apiKey }`)
 * or over a service binding (`{ binding: env.GATEWAY, apiKey }`); a refusal throws `GatewayError`.
 */
export class GatewayClient {
  readonly #apiKey: string;
  readonly #send: (operation: GatewayOperation) => Promise<GatewayResult<unknown>>;

  constructor(options: GatewayClientOptions) {
    if (!options.apiKey) throw new TypeError("GatewayClient needs the team's apiKey");
    this.#apiKey = options.apiKey;
    if ("binding" in options) {
      const { binding } = options;
      // A binding that throws (the gateway unreachable or restarting) is a failing dependency: 503.
      this.#send = (operation) =>
        viaBinding(binding, options.apiKey, operation).catch((error: unknown) => ({
          ok: false as const,
          status: 503,
          detail: `The gateway's service binding failed: ${error instanceof Error ? error.message : String(error)}`,
        }));
    } else {
      const { baseUrl } = options;
      const send = options.fetch ?? ((request: Request) => fetch(request));
      this.#send = async (operation) => resultOf(operation.method, await send(requestOf(baseUrl, this.#apiKey, operation)));
    }
  }

  /** Opens a job (reserves its minimum charge). */
  createJob(body: CreateJobRequest, options?: MoneyOptions): Promise<JobCreated> {
    return this.#run({ method: "createJob", body, options });
  }

  /** One LLM call in the job; answers once the call is recorded. */
  call(jobId: string, body: LlmCallRequest): Promise<LlmCallAnswer> {
    return this.#run({ method: "call", jobId, body });
  }

  /**
   * A streamed LLM call in the job: the parsed chunks, as they arrive. A refusal before the stream
   * starts throws here; an error event in the stream throws `GatewayStreamError` from the loop.
   */
  async stream(jobId: string, body: LlmCallRequest): Promise<AsyncIterable<ChatCompletionChunk>> {
    return chunksOf(await this.#run({ method: "stream", jobId, body }));
  }

  /** Completes the job: `completed` charges it; `failed` and `cancelled` release it. */
  complete(jobId: string, body: CompleteJobRequest, options?: MoneyOptions): Promise<JobCompletion> {
    return this.#run({ method: "complete", jobId, body, options });
  }

  getJob(jobId: string, query?: CallsPage): Promise<Job> {
    return this.#run({ method: "getJob", jobId, query });
  }

  balance(teamId: string): Promise<Balance> {
    return this.#run({ method: "balance", teamId });
  }

  usage(teamId: string, query?: UsageQuery): Promise<Usage> {
    return this.#run({ method: "usage", teamId, query });
  }

  /**
   * Opens a job, runs `work` in it and completes it: `completed` (charged) when `work` returns,
   * `failed` (released) when it throws, and then rethrows what `work` threw.
   */
  async job<T>(body: CreateJobRequest, work: (job: JobCreated) => Promise<T>): Promise<JobRun<T>> {
    const job = await this.createJob(body);
    let result: T;
    try {
      result = await work(job);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      try {
        await this.complete(job.job_id, { status: "failed", error_message: message.slice(0, MAX_ERROR_MESSAGE) });
      } catch {
        // The job expires (uncharged) if it cannot be closed now; the caller needs the work's own error.
      }
      throw error;
    }
    const completion = await this.complete(job.job_id, { status: "completed" });
    return { result, completion };
  }

  async #run<M extends GatewayOperation["method"]>(operation: GatewayOperation & { method: M }): Promise<GatewayAnswers[M]> {
    const result = await this.#send(operation);
    if (!result.ok) throw new GatewayError(result);
    return result.value as GatewayAnswers[M];
  }
}

function viaBinding(binding: GatewayBinding, apiKey: string, operation: GatewayOperation): Promise<GatewayResult<unknown>> {
  switch (operation.method) {
    case "createJob":
      return binding.createJob(apiKey, operation.body, operation.options);
    case "call":
      return binding.call(apiKey, operation.jobId, operation.body);
    case "stream":
      return binding.stream(apiKey, operation.jobId, operation.body);
    case "complete":
      return binding.complete(apiKey, operation.jobId, operation.body, operation.options);
    case "getJob":
      return binding.getJob(apiKey, operation.jobId, operation.query);
    case "balance":
      return binding.balance(apiKey, operation.teamId);
    case "usage":
      return binding.usage(apiKey, operation.teamId, operation.query);
  }
}
