export { type BindingOptions, GatewayClient, type GatewayClientOptions, type HttpOptions, type JobRun } from "./client.js";
export { GatewayError, GatewayStreamError } from "./errors.js";
export type { CallsPage, GatewayBinding, GatewayFailure, GatewayResult, MoneyOptions, UsageQuery } from "./protocol.js";
export type * from "./schemas.gen.js";
export { type ChatCompletionChunk, chunksOf } from "./sse.js";
