/**
 * Whether a value parsed from JSON is an object with fields (not null, not an array). Request
 * bodies and policies arrive from untrusted JSON, so every reader checks this before it looks in.
 */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
