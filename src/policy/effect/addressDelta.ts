/**
 * The (address, port) pairs a policy's ipBlock rules newly allow for one group of target pods:
 * ⋃ own rules (addresses × ports) minus ⋃ existing rules (addresses × ports), exact. The port axis
 * is cut at every span boundary of either side into elementary intervals; on each interval (and
 * for each unresolved port name) the address sets are plain range unions, and a set difference.
 */
import type { ContainerPortMeta } from '../../cluster/view.js';
import { type AddressRange, mergeRanges } from '../addressSet.js';
import type { IpFamily } from '../cidr.js';
import type { CompiledRule } from './compiledRule.js';
import { MAX_PORT, NO_PORTS, type PortAllow, PROTOCOLS, type Protocol, type ProtocolPorts, rulePorts } from './portAllow.js';
import type { PortSpan } from '../portSet.js';
import { unboundedMeter, type WorkMeter } from './workMeter.js';

export interface AddressPiece {
  family: IpFamily;
  ranges: AddressRange[];
  ports: PortAllow;
}

interface Side {
  addresses: Readonly<Record<IpFamily, readonly AddressRange[]>>;
  ports: PortAllow;
  /** ports[protocol].names as Sets: the name loop below asks every side about every name. */
  names: Record<Protocol, ReadonlySet<string>>;
}

export function addressDelta(
  own: readonly CompiledRule[],
  before: readonly CompiledRule[],
  destination: readonly ContainerPortMeta[] | undefined,
  meter: WorkMeter = unboundedMeter(),
): AddressPiece[] {
  let entries = 0;
  for (const rule of [...own, ...before]) entries += 1 + (rule.ports?.length ?? 0);
  meter.charge(entries, 'address delta');
  const side = (rules: readonly CompiledRule[]): Side[] =>
    rules
      .filter((r) => r.addresses[4].length > 0 || r.addresses[6].length > 0)
      .map((r) => {
        const ports = rulePorts(r.ports, destination);
        return { addresses: r.addresses, ports, names: { TCP: new Set(ports.TCP.names), UDP: new Set(ports.UDP.names), SCTP: new Set(ports.SCTP.names) } };
      });
  const mine = side(own);
  if (mine.length === 0) return [];
  const theirs = side(before);
  const out: AddressPiece[] = [];
  for (const family of [4, 6] as const) {
    for (const protocol of PROTOCOLS) {
      const spanOf = (p: ProtocolPorts): readonly PortSpan[] => (p.all ? [[1, MAX_PORT]] : p.spans);
      // One elementary interval or name costs a scan of every side's spans, a union of their ranges
      // and the piece it may add (a fixed few allocations, counted as INTERVAL_OVERHEAD steps).
      let perInterval = INTERVAL_OVERHEAD;
      for (const s of [...mine, ...theirs]) perInterval += 1 + spanOf(s.ports[protocol]).length + s.addresses[family].length;
      meter.charge(perInterval, 'address delta');
      const cuts = new Set<number>();
      for (const s of [...mine, ...theirs]) for (const [first, last] of spanOf(s.ports[protocol])) cuts.add(first).add(last + 1);
      const points = [...cuts].sort((a, b) => a - b);
      meter.charge(points.length * perInterval, 'address delta');
      let open: { first: number; last: number; ranges: AddressRange[] } | undefined;
      const flush = (): void => {
        if (open !== undefined) out.push({ family, ranges: open.ranges, ports: onlyPorts(protocol, [[open.first, open.last]], false, []) });
        open = undefined;
      };
      for (let i = 0; i + 1 < points.length; i++) {
        const first = points[i]!;
        const last = points[i + 1]! - 1;
        const covers = (s: Side): boolean => spanOf(s.ports[protocol]).some(([a, b]) => a <= first && last <= b);
        const added = subtractRanges(union(mine.filter(covers), family), union(theirs.filter(covers), family));
        if (added.length === 0) {
          flush();
        } else if (open !== undefined && open.last + 1 === first && sameRanges(open.ranges, added)) {
          open.last = last;
        } else {
          flush();
          open = { first, last, ranges: added };
        }
      }
      flush();
      // Unresolved names: each name either side mentions, and "any other name" (covered only by
      // sides that admit every name but a few).
      const mentioned = [...new Set([...mine, ...theirs].flatMap((s) => s.ports[protocol].names))].sort();
      meter.charge((mentioned.length + 1) * perInterval, 'address delta');
      for (const name of mentioned) {
        const covers = (s: Side): boolean => {
          const p = s.ports[protocol];
          return p.all || (p.anyName ? !s.names[protocol].has(name) : s.names[protocol].has(name));
        };
        const added = subtractRanges(union(mine.filter(covers), family), union(theirs.filter(covers), family));
        if (added.length > 0) out.push({ family, ranges: added, ports: onlyPorts(protocol, [], false, [name]) });
      }
      const coversOthers = (s: Side): boolean => s.ports[protocol].anyName;
      const others = subtractRanges(union(mine.filter(coversOthers), family), union(theirs.filter(coversOthers), family));
      if (others.length > 0) out.push({ family, ranges: others, ports: onlyPorts(protocol, [], true, mentioned) });
    }
  }
  return out;
}

/** Steps for the allocations of one interval or name, whatever the sides (measured against the rest). */
const INTERVAL_OVERHEAD = 8;

function onlyPorts(protocol: Protocol, spans: PortSpan[], anyName: boolean, names: string[]): PortAllow {
  return { ...NO_PORTS, [protocol]: { all: false, spans, anyName, names } };
}

function union(sides: readonly Side[], family: IpFamily): AddressRange[] {
  return mergeRanges(sides.flatMap((s) => s.addresses[family]));
}

/** Disjoint sorted `a` minus disjoint sorted `b`. */
export function subtractRanges(a: readonly AddressRange[], b: readonly AddressRange[]): AddressRange[] {
  const out: AddressRange[] = [];
  let j = 0;
  for (const [start, end] of a) {
    let cursor = start;
    while (j < b.length && b[j]![1] < cursor) j++;
    for (let k = j; k < b.length && b[k]![0] <= end; k++) {
      const [holeStart, holeEnd] = b[k]!;
      if (holeStart > cursor) out.push([cursor, holeStart - 1n]);
      if (holeEnd + 1n > cursor) cursor = holeEnd + 1n;
      if (cursor > end) break;
    }
    if (cursor <= end) out.push([cursor, end]);
  }
  return out;
}

function sameRanges(a: readonly AddressRange[], b: readonly AddressRange[]): boolean {
  return a.length === b.length && a.every(([s, e], i) => s === b[i]![0] && e === b[i]![1]);
}
