/**
 * What a policy opens as a whole, per direction: the union of the addresses its ipBlocks admit
 * (per family) and of the ports it lists (per protocol). Fed one element at a time during the
 * single pass over the policy, read once at the end. A grant written in pieces (256 /16s, 656 port
 * ranges of 100) opens as much as the one wide element the per-element rules deny, and is judged
 * by the same limit here.
 *
 * Elements a per-element rule already reports (an ipBlock wider than the minimum prefix or /0, a
 * port range wider than maxPortRange, an entry without a port) are left out of the totals, so one
 * wide element gives one finding, by its own rule; everything else is counted.
 */
import { type AddressRange, blockSize, formatCount, mergeRanges, rangesOverlap, rangesSize } from './addressSet.js';
import { formatFamily, type IpFamily } from './cidr.js';
import type { Direction } from './rules/types.js';
import { PortSet } from './portSet.js';

/** A finding of a totals rule; the rule reporting it is its id. */
export interface TotalFinding {
  path: string;
  reason: string;
  hint: string;
}

interface FamilyTotal {
  ranges: AddressRange[];
  blocks: number;
  /** Ranges per rule index, to name the rule holding the most addresses. */
  byRule: Map<number, AddressRange[]>;
}

/** `spec.egress[3]`. */
function rulePath(direction: Direction, ruleIndex: number): string {
  return `spec.${direction}[${ruleIndex}]`;
}

export class AddressTotals {
  private readonly totals = new Map<string, FamilyTotal>();

  /** Adds the addresses one ipBlock admits (its cidr minus its excepts, see admittedRanges). */
  add(direction: Direction, ruleIndex: number, family: IpFamily, admitted: readonly AddressRange[]): void {
    const key = `${direction} ${family}`;
    let total = this.totals.get(key);
    if (total === undefined) {
      total = { ranges: [], blocks: 0, byRule: new Map() };
      this.totals.set(key, total);
    }
    total.blocks += 1;
    let ruleRanges = total.byRule.get(ruleIndex);
    if (ruleRanges === undefined) {
      ruleRanges = [];
      total.byRule.set(ruleIndex, ruleRanges);
    }
    for (const range of admitted) {
      total.ranges.push(range);
      ruleRanges.push(range);
    }
  }

  /** One ipblock-total-too-wide finding per direction and family whose union exceeds one block of the minimum prefix. */
  findings(minPrefix: Record<IpFamily, number>): TotalFinding[] {
    const out: TotalFinding[] = [];
    for (const direction of ['ingress', 'egress'] as const) {
      for (const family of [4, 6] as const) {
        const total = this.totals.get(`${direction} ${family}`);
        if (total === undefined) continue;
        const prefix = minPrefix[family];
        const size = rangesSize(mergeRanges(total.ranges));
        if (size <= blockSize(family, prefix)) continue;
        const [widestRule, widestSize] = largestRule(total.byRule, size);
        const party = direction === 'ingress' ? 'source' : 'destination';
        out.push({
          path: rulePath(direction, widestRule),
          reason:
            `the ${direction} ipBlocks together admit ${formatCount(size)} ${formatFamily(family)} addresses in ${formatCount(total.blocks)} blocks, ` +
            `more than one /${prefix}; this rule holds ${formatCount(widestSize)} of them`,
          hint: `list only the ${party} ranges that are needed, together at most one /${prefix}`,
        });
      }
    }
    return out;
  }
}

function largestRule(byRule: Map<number, AddressRange[]>, total: bigint): [number, bigint] {
  // One rule holds it all: no second union needed.
  if (byRule.size === 1) return [byRule.keys().next().value!, total];
  let best: [number, bigint] = [0, -1n];
  for (const [ruleIndex, ranges] of byRule) {
    const size = rangesSize(mergeRanges(ranges));
    if (size > best[1] || (size === best[1] && ruleIndex < best[0])) best = [ruleIndex, size];
  }
  return best;
}

export class PortTotals {
  private readonly sets = new Map<string, PortSet>();
  /** First rule index that listed ports of a direction and protocol, for the finding's path. */
  private readonly firstRule = new Map<string, number>();

  // The set of the previous port: consecutive ports nearly always share direction and protocol, and
  // building the map key string per port measured as a fifth of this rule's cost.
  private lastDirection: Direction | undefined;
  private lastProtocol: string | undefined;
  private lastSet: PortSet | undefined;

  private set(direction: Direction, ruleIndex: number, protocol: string): PortSet {
    if (this.lastSet !== undefined && direction === this.lastDirection && protocol === this.lastProtocol) return this.lastSet;
    const set = this.lookup(direction, ruleIndex, protocol);
    this.lastDirection = direction;
    this.lastProtocol = protocol;
    this.lastSet = set;
    return set;
  }

  private lookup(direction: Direction, ruleIndex: number, protocol: string): PortSet {
    const key = `${direction} ${protocol}`;
    let set = this.sets.get(key);
    if (set === undefined) {
      set = new PortSet();
      this.sets.set(key, set);
      this.firstRule.set(key, ruleIndex);
    }
    return set;
  }

  addSpan(direction: Direction, ruleIndex: number, protocol: string, first: number, last: number): void {
    this.set(direction, ruleIndex, protocol).addSpan(first, last);
  }

  addName(direction: Direction, ruleIndex: number, protocol: string, name: string): void {
    this.set(direction, ruleIndex, protocol).addName(name);
  }

  /** One ports-total-too-wide finding per direction and protocol whose union exceeds maxPortRange. */
  findings(maxPortRange: number): TotalFinding[] {
    const out: TotalFinding[] = [];
    for (const [key, set] of this.sets) {
      const total = set.total();
      if (total <= maxPortRange) continue;
      const [direction, protocol] = key.split(' ') as [Direction, string];
      out.push({
        path: `${rulePath(direction, this.firstRule.get(key)!)}.ports`,
        reason: `the ${direction} rules together open ${formatCount(total)} ${protocol} ports in ${formatCount(set.entries)} entries, more than the allowed ${maxPortRange}`,
        hint: `list only the ports needed, together at most ${maxPortRange} per protocol`,
      });
    }
    return out;
  }
}

/** A CIDR no ipBlock may admit (limits.forbiddenCIDRs), with its text for messages. */
export interface ForbiddenRange {
  text: string;
  family: IpFamily;
  range: AddressRange;
}

/** The first forbidden range that any of `admitted` (disjoint, sorted, of `family`) reaches, else undefined. */
export function forbiddenRangeAdmitted(
  admitted: readonly AddressRange[],
  family: IpFamily,
  forbidden: readonly ForbiddenRange[],
): ForbiddenRange | undefined {
  for (const f of forbidden) {
    if (f.family === family && rangesOverlap(admitted, f.range)) return f;
  }
  return undefined;
}
