/**
 * Exact address-set arithmetic over inclusive ranges, for the rules that bound what a policy opens
 * as a whole rather than per ipBlock. Addresses are bigints (IPv6 needs 128 bits; cidr.ts parses
 * IPv4-mapped IPv6 as IPv4 already). Every union is a sort-and-merge, n·log n in the number of
 * ranges, never pairwise, and never samples.
 */
import { type Cidr, cidrRange, familyBits, type IpFamily, parseCidr } from './cidr.js';

/** Inclusive [first, last] address. */
export type AddressRange = readonly [bigint, bigint];

function byStart(a: AddressRange, b: AddressRange): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/**
 * The union of `ranges` as disjoint ranges sorted by start; overlapping and adjacent ranges are
 * joined. The input is not modified.
 */
export function mergeRanges(ranges: readonly AddressRange[]): AddressRange[] {
  const sorted = ranges.slice().sort(byStart);
  const merged: [bigint, bigint][] = [];
  for (const [start, end] of sorted) {
    const last = merged[merged.length - 1];
    if (last !== undefined && start <= last[1] + 1n) {
      if (end > last[1]) last[1] = end;
    } else {
      merged.push([start, end]);
    }
  }
  return merged;
}

/** Number of addresses in disjoint ranges (as mergeRanges returns them). */
export function rangesSize(disjoint: readonly AddressRange[]): bigint {
  let size = 0n;
  for (const [start, end] of disjoint) size += end - start + 1n;
  return size;
}

/**
 * The addresses an ipBlock admits: its cidr minus every except of the same family, as disjoint
 * sorted ranges. Excepts outside the cidr remove nothing (the shape check refuses them anyway).
 */
export function admittedRanges(cidr: Cidr, excepts: readonly Cidr[]): AddressRange[] {
  const [first, last] = cidrRange(cidr);
  if (excepts.length === 0) return [[first, last]];
  const holes = mergeRanges(excepts.filter((e) => e.family === cidr.family).map(cidrRange));
  const out: AddressRange[] = [];
  let cursor = first;
  for (const [holeStart, holeEnd] of holes) {
    if (holeEnd < cursor) continue;
    if (holeStart > last) break;
    if (holeStart > cursor) out.push([cursor, holeStart - 1n]);
    cursor = holeEnd + 1n;
    if (cursor > last) return out;
  }
  out.push([cursor, last]);
  return out;
}

/** Whether any of the disjoint sorted `ranges` shares an address with `range` (binary search). */
export function rangesOverlap(disjoint: readonly AddressRange[], range: AddressRange): boolean {
  let low = 0;
  let high = disjoint.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const [start, end] = disjoint[mid]!;
    if (end < range[0]) low = mid + 1;
    else if (start > range[1]) high = mid - 1;
    else return true;
  }
  return false;
}

/** Addresses in one block of prefix length `prefix`: 2^(bits − prefix). */
export function blockSize(family: IpFamily, prefix: number): bigint {
  return 1n << BigInt(familyBits(family) - prefix);
}

/** 16777216 → "16,777,216": totals in messages are exact, so they are printed in full. */
export function formatCount(count: bigint | number): string {
  const digits = count.toString();
  let out = '';
  for (let i = 0; i < digits.length; i++) {
    if (i > 0 && (digits.length - i) % 3 === 0) out += ',';
    out += digits[i];
  }
  return out;
}

/**
 * What one ipBlock admits, from its parsed cidr and its except texts. Excepts that do not parse
 * are skipped: the structural check reports them, and the engine never sees an unchecked policy
 * in admission.
 */
export function ipBlockAdmits(cidr: Cidr, except: readonly string[] | null | undefined): AddressRange[] {
  if (!except || except.length === 0) return admittedRanges(cidr, []);
  const holes: Cidr[] = [];
  for (const text of except) {
    const parsed = parseCidr(String(text));
    if (parsed.ok) holes.push(parsed.cidr);
  }
  return admittedRanges(cidr, holes);
}
