import { sha256Hex } from "../../security/keys";

// What makes two requests the same operation: the method and its arguments, compared by a digest
// of their canonical JSON (so a retry built with its keys in another order still matches).

/** JSON with object keys in sorted order, so equal arguments read the same however they were built. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
}

/** What a repeat is compared by: the method and its arguments (SHA-256 of their canonical JSON). */
export async function argumentsDigest(method: string, args: unknown): Promise<string> {
  return sha256Hex(`${method}\n${canonicalJson(args)}`);
}
