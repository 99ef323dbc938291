// What the gateway removes from upstream text before a team sees it or it is stored: secrets
// and URLs (sanitizeUpstreamMessage) and which model or provider served (hideModelNames).
// Teams ask for model groups, never models.

/** Upstream messages go back to clients and into call records: strip anything key-like, bound the length. */
export function sanitizeUpstreamMessage(message: string): string {
  return message
    .replace(/\b(sk|pk|rk)[-_][A-Za-z0-9_\-.]{6,}/g, "$1-***")
    .replace(/Bearer\s+\S+/gi, "Bearer ***")
    .replace(/https?:\/\/\S+/g, "<url>")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 300);
}

/**
 * Model families, so an upstream message cannot name the provider model behind a group either.
 * Names that are also English words (phi, command, grok, gemma, sonar, whisper) count only with a
 * version after them ("phi-3", "command-r", "grok-2"), so "philosophy" or "commands" stay readable.
 */
const MODEL_NAME_PATTERN =
  /\b(?:(?:gpt|chatgpt|o[1-9]|text-embedding|dall-e|claude|gemini|llama|mistral|mixtral|codestral|deepseek|qwen)[\w.:/@+=-]*|(?:phi-?\d|gemma-?\d|grok-?\d|command-(?:r|a|light|nightly)\b|sonar-|whisper-)[\w.:/@+=-]*)/gi;

/** Provider names as LiteLLM puts them in messages ("OpenAIException - ..."), which would name the provider. */
const PROVIDER_PATTERN =
  /\b(?:OpenAI|AzureOpenAI|Azure|Anthropic|Bedrock|Vertex(?:AI)?|Gemini|Google|Mistral|Cohere|Groq|Together(?:AI)?|Fireworks(?:AI)?|Ollama|Perplexity|DeepSeek|xAI|HuggingFace|Replicate|Databricks|WatsonX|Sagemaker)(?=Exception\b)/g;

/** Teams ask for groups, never models: upstream messages must not tell them which model served. */
export function hideModelNames(message: string, models: string[]): string {
  const names = new Set<string>();
  for (const model of models) {
    if (!model) continue;
    names.add(model);
    names.add(model.split("+")[0]);
    names.add(model.split("/").pop()!.split("+")[0]);
  }
  let hidden = message;
  for (const name of [...names].filter(Boolean).sort((a, b) => b.length - a.length)) hidden = hidden.split(name).join("<model>");
  return hidden.replace(MODEL_NAME_PATTERN, "<model>").replace(PROVIDER_PATTERN, "Provider");
}
