import type { JsonPatchOperation } from '../admission/types.js';

/** RFC 6901: `~` → `~0` first, then `/` → `~1` (the order matters for keys containing `~1`). */
export function escapePointerSegment(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * Operations that turn `current` (a metadata string map, possibly absent) into one that also holds
 * every entry of `wanted`. A missing map is created with one `add` of the whole map, because a
 * pointer into a missing parent is an error in RFC 6902. Keys are visited sorted so the same input
 * always gives the same patch.
 */
export function mapPatch(
  parentPointer: string,
  field: 'annotations' | 'labels',
  current: Record<string, unknown> | undefined,
  wanted: Record<string, string>,
): JsonPatchOperation[] {
  const keys = Object.keys(wanted).sort();
  const changed = keys.filter((k) => current?.[k] !== wanted[k]);
  if (changed.length === 0) return [];
  const pointer = `${parentPointer}/${field}`;
  if (current === undefined) {
    return [{ op: 'add', path: pointer, value: Object.fromEntries(keys.map((k) => [k, wanted[k]])) }];
  }
  return changed.map((k) => ({
    op: Object.prototype.hasOwnProperty.call(current, k) ? ('replace' as const) : ('add' as const),
    path: `${pointer}/${escapePointerSegment(k)}`,
    value: wanted[k],
  }));
}
