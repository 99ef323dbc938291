// One JSON object per line, so Workers Logs can query fields. Callers never pass secrets:
// keys, prompts and upstream bodies stay out of logs.
export function log(level: "info" | "warn" | "error", msg: string, fields: Record<string, unknown> = {}): void {
  const line = JSON.stringify({ level, msg, ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}
