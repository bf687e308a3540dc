/** One RFC 6902 operation. Paths are JSON Pointers (RFC 6901): `/` → `~1`, `~` → `~0`. */
export type JsonPatchOperation =
  | { op: 'add' | 'replace' | 'test'; path: string; value: unknown }
  | { op: 'remove'; path: string };

/**
 * Escaped segments by key. The keys are the few configured annotation and label names, escaped
 * again for every admission request; the bound only guards against a caller with endless keys.
 */
const MAX_REMEMBERED_SEGMENTS = 256;
const escapedSegments = new Map<string, string>();

/** RFC 6901: `~` → `~0` first, then `/` → `~1` (the order matters for keys containing `~1`). */
export function escapePointerSegment(segment: string): string {
  const remembered = escapedSegments.get(segment);
  if (remembered !== undefined) return remembered;
  const escaped = segment.replace(/~/g, '~0').replace(/\//g, '~1');
  if (escapedSegments.size >= MAX_REMEMBERED_SEGMENTS) escapedSegments.clear();
  escapedSegments.set(segment, escaped);
  return escaped;
}

/**
 * Operations that turn `current` (a metadata string map, possibly absent) into one that also holds
 * every entry of `wanted` and none of `unwanted`. A missing map is created with one `add` of the
 * whole map, because a pointer into a missing parent is an error in RFC 6902. Keys are visited
 * sorted (removals after the rest, in the order given) so the same input always gives the same patch.
 */
export function mapPatch(
  parentPointer: string,
  field: 'annotations' | 'labels',
  current: Record<string, unknown> | undefined,
  wanted: Record<string, string>,
  unwanted: readonly string[] = [],
): JsonPatchOperation[] {
  const keys = sortedKeys(wanted);
  const pointer = `${parentPointer}/${field}`;
  if (current === undefined) {
    if (keys.length === 0) return [];
    return [{ op: 'add', path: pointer, value: Object.fromEntries(keys.map((k) => [k, wanted[k]])) }];
  }
  const operations: JsonPatchOperation[] = [];
  for (const k of keys) {
    if (current[k] === wanted[k]) continue;
    operations.push({
      op: Object.prototype.hasOwnProperty.call(current, k) ? 'replace' : 'add',
      path: `${pointer}/${escapePointerSegment(k)}`,
      value: wanted[k],
    });
  }
  for (const k of unwanted) {
    if (Object.prototype.hasOwnProperty.call(wanted, k) || !Object.prototype.hasOwnProperty.call(current, k)) continue;
    operations.push({ op: 'remove', path: `${pointer}/${escapePointerSegment(k)}` });
  }
  return operations;
}

/** Keys in sort order. Callers usually build maps in that order already, and checking is cheaper than sorting. */
function sortedKeys(map: Record<string, string>): string[] {
  const keys = Object.keys(map);
  for (let i = 1; i < keys.length; i++) {
    if (keys[i - 1]! > keys[i]!) return keys.sort();
  }
  return keys;
}
