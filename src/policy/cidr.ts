/**
 * CIDR arithmetic for ipBlock analysis. Addresses are bigints so IPv4 and IPv6 share one code
 * path; coverage is decided by sort-and-merge of intervals (n·log n), never pairwise.
 */
export type IpFamily = 4 | 6;

export interface Cidr {
  family: IpFamily;
  /** Network address with host bits cleared. */
  network: bigint;
  prefix: number;
  /** True when written as IPv6 but IPv4-mapped (::ffff:a.b.c.d/≥96); family is then 4. */
  mapped: boolean;
  /** True when the address as written had bits set beyond the prefix (10.0.0.1/8): `network` clears them. */
  hostBits: boolean;
}

export type CidrParse = { ok: true; cidr: Cidr } | { ok: false; error: string };

const FAMILY_BITS: Record<IpFamily, number> = { 4: 32, 6: 128 };

export function familyBits(family: IpFamily): number {
  return FAMILY_BITS[family];
}

/**
 * Successful parses by CIDR text. Admission parses every ipBlock twice per request (the shape
 * check, then the breadth rules), and the same policies arrive again on every apply, so almost
 * all parses are repeats. Only valid CIDRs are kept (so at most ~50 characters each) and a full
 * memo is emptied, which bounds the memory (about 1 MB when full) whatever the input. Entries are
 * frozen because every caller asking for the same text shares them.
 */
const MAX_REMEMBERED_CIDRS = 4096;
const rememberedCidrs = new Map<string, CidrParse>();

export function parseCidr(text: string): CidrParse {
  const remembered = rememberedCidrs.get(text);
  if (remembered !== undefined) return remembered;
  const parsed = parseCidrText(text);
  if (!parsed.ok) return parsed;
  Object.freeze(parsed.cidr);
  Object.freeze(parsed);
  // Full: start over rather than evict one by one. Deleting a Map's oldest entry again and again
  // leaves holes that every keys().next() must skip, which made a policy with more distinct CIDRs
  // than the memo holds three times slower to parse than with no memo at all.
  if (rememberedCidrs.size >= MAX_REMEMBERED_CIDRS) rememberedCidrs.clear();
  rememberedCidrs.set(text, parsed);
  return parsed;
}

/**
 * Empties the memo, so the next parses are first-time parses: for benchmarks measuring the cost
 * of a policy never seen before. Answers never depend on it.
 */
export function forgetParsedCidrs(): void {
  rememberedCidrs.clear();
}

function parseCidrText(text: string): CidrParse {
  const slash = text.indexOf('/');
  if (slash < 0 || slash !== text.lastIndexOf('/')) return { ok: false, error: `"${text}" is not in CIDR notation (address/prefix)` };
  const addressText = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(prefixText)) return { ok: false, error: `"${text}" has an invalid prefix length` };
  const prefix = Number(prefixText);

  if (addressText.includes(':')) {
    const value = parseIPv6(addressText);
    if (value === undefined) return { ok: false, error: `"${text}" has an invalid IPv6 address` };
    if (prefix > 128) return { ok: false, error: `"${text}" has a prefix longer than 128` };
    // ::ffff:0:0/96 is the IPv4-mapped range: treat it as the IPv4 range it denotes.
    if (prefix >= 96 && value >> 32n === 0xffffn) {
      const v4prefix = prefix - 96;
      const v4 = value & 0xffffffffn;
      const network = mask(v4, v4prefix, 32);
      return { ok: true, cidr: { family: 4, network, prefix: v4prefix, mapped: true, hostBits: network !== v4 } };
    }
    const network = mask(value, prefix, 128);
    return { ok: true, cidr: { family: 6, network, prefix, mapped: false, hostBits: network !== value } };
  }
  const value = parseIPv4(addressText);
  if (value === undefined) return { ok: false, error: `"${text}" has an invalid IPv4 address` };
  if (prefix > 32) return { ok: false, error: `"${text}" has a prefix longer than 32` };
  const network = mask(value, prefix, 32);
  return { ok: true, cidr: { family: 4, network, prefix, mapped: false, hostBits: network !== value } };
}

/**
 * Why the API server refuses this CIDR in a new object, though it parses: since Kubernetes 1.33
 * (strict IP/CIDR validation) an ipBlock may not be written IPv4-mapped or with bits set beyond
 * its prefix. Stored objects keep such values (updates that leave them unchanged are accepted),
 * so only checks that judge a creation (`check`, `grant`) use this.
 */
export function strictCidrProblem(text: string, cidr: Cidr): string | undefined {
  const canonical = `${formatAddress(cidr.family, cidr.network)}/${cidr.prefix}`;
  if (cidr.mapped) return `"${text}" is an IPv4-mapped IPv6 CIDR, which the API server refuses; write it as ${canonical}`;
  if (cidr.hostBits) return `"${text}" has bits set beyond its /${cidr.prefix} prefix, which the API server refuses; write ${canonical}`;
  return undefined;
}

function mask(value: bigint, prefix: number, bits: number): bigint {
  const hostBits = BigInt(bits - prefix);
  return (value >> hostBits) << hostBits;
}

export function parseIPv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  // Accumulated as a Number (exact up to 2^53, and IPv4 needs 32 bits): one BigInt at the end
  // instead of one per octet.
  let value = 0;
  for (const part of parts) {
    // Leading zeros are rejected, as Go's net.ParseIP (and so Kubernetes) does since Go 1.17.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = value * 256 + n;
  }
  return BigInt(value);
}

export function parseIPv6(text: string): bigint | undefined {
  if (text.length > 45 || text.includes('%')) return undefined;
  let head = text;
  let tailV4: bigint | undefined;
  // A dotted IPv4 tail (::ffff:10.0.0.1) stands for the last two groups.
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    tailV4 = parseIPv4(text.slice(lastColon + 1));
    if (tailV4 === undefined) return undefined;
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const doubleColon = head.split('::');
  if (doubleColon.length > 2) return undefined;
  const parseGroups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const groups = s.split(':');
    const out: number[] = [];
    for (const g of groups) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let groups: number[];
  if (doubleColon.length === 2) {
    const left = parseGroups(doubleColon[0]!);
    const right = parseGroups(doubleColon[1]!);
    if (!left || !right || left.length + right.length > 7) return undefined;
    groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  } else {
    const all = parseGroups(head);
    if (!all || all.length !== 8) return undefined;
    groups = all;
  }
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  if (tailV4 !== undefined) value = (value & ~0xffffffffn) | tailV4;
  return value;
}

/** Inclusive address range [start, end] of a CIDR. */
export function cidrRange(cidr: Cidr): [bigint, bigint] {
  const hostBits = BigInt(familyBits(cidr.family) - cidr.prefix);
  return [cidr.network, cidr.network + (1n << hostBits) - 1n];
}

/**
 * Does the union of these CIDRs (all of one family) cover that family's whole address space?
 * Sort by start, sweep once keeping the highest end reached; a gap anywhere means no.
 */
export function unionCoversAll(cidrs: readonly Cidr[], family: IpFamily): boolean {
  // The sweep fails at its first step unless some range starts at address 0; almost no rule
  // has one, so that is checked before any range is built or sorted.
  if (!cidrs.some((c) => c.family === family && c.network === 0n)) return false;
  const ranges = cidrs.filter((c) => c.family === family).map(cidrRange);
  ranges.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const last = (1n << BigInt(familyBits(family))) - 1n;
  let reached = -1n; // highest address covered so far
  for (const [start, end] of ranges) {
    if (start > reached + 1n) return false;
    if (end > reached) reached = end;
    if (reached >= last) return true;
  }
  return reached >= last;
}

/** An address in its canonical text: dotted IPv4, or IPv6 per RFC 5952 (lower case, longest zero run as ::). */
export function formatAddress(family: IpFamily, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((value >> shift) & 0xffffn));
  // The longest run of two or more zero groups (the first of equal runs) becomes "::".
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (part: number[]): string => part.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

export function formatFamily(family: IpFamily): string {
  return family === 4 ? 'IPv4' : 'IPv6';
}
