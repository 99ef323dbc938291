import type { TestProject } from "vitest/node";
// @ts-expect-error: plain JS module without types
import { startMockLiteLLM } from "../mock-litellm/server.mjs";
import { TEST_SECRETS } from "../vitest.config";
import { startWebhookReceiver } from "./webhook-receiver";

declare module "vitest" {
  export interface ProvidedContext {
    mockLiteLLMUrl: string;
    webhookReceiverUrl: string;
  }
}

/** One mock LiteLLM for the whole run; tests steer it through model names, so they never collide. */
export default async function setup(project: TestProject) {
  const mock = await startMockLiteLLM({ port: 0, masterKey: TEST_SECRETS.LITELLM_API_KEY, quiet: true });
  project.provide("mockLiteLLMUrl", mock.url);
  const receiver = await startWebhookReceiver();
  project.provide("webhookReceiverUrl", receiver.url);
  return async () => {
    await mock.close();
    await receiver.close();
  };
}
