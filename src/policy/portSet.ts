/**
 * Exact port-set arithmetic for the rule that bounds how many ports a policy opens as a whole:
 * the union of single ports and port..endPort ranges, by sort-and-merge (n·log n in the number
 * of entries, independent of how wide each range is). Named ports cannot be resolved without the
 * pods, so each distinct name counts as one port.
 */

/** Inclusive [first, last] port. */
export type PortSpan = readonly [number, number];

/** The union of `spans` as disjoint spans sorted by start; adjacent spans are joined. */
export function mergePortSpans(spans: readonly PortSpan[]): PortSpan[] {
  const sorted = spans.slice().sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [first, last] of sorted) {
    const previous = merged[merged.length - 1];
    if (previous !== undefined && first <= previous[1] + 1) {
      if (last > previous[1]) previous[1] = last;
    } else {
      merged.push([first, last]);
    }
  }
  return merged;
}

/** Ports in disjoint spans (as mergePortSpans returns them). */
export function portSpansSize(disjoint: readonly PortSpan[]): number {
  let size = 0;
  for (const [first, last] of disjoint) size += last - first + 1;
  return size;
}

/**
 * The ports one protocol opens in one direction: numbered spans plus distinct port names.
 * Collect with add*, then read total().
 */
export class PortSet {
  private readonly spans: PortSpan[] = [];
  private readonly names = new Set<string>();
  /** How many port entries were added, for the message. */
  entries = 0;

  addSpan(first: number, last: number): void {
    this.spans.push([first, last]);
    this.entries += 1;
  }

  addName(name: string): void {
    this.names.add(name);
    this.entries += 1;
  }

  /** Distinct numbered ports plus distinct names. */
  total(): number {
    return portSpansSize(mergePortSpans(this.spans)) + this.names.size;
  }
}
