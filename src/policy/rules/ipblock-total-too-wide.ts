import { ipBlockAdmits } from '../addressSet.js';
import { AddressTotals } from '../openedTotals.js';
import { defineRule } from './types.js';

export const ipblockTotalTooWide = defineRule({
  id: 'ipblock-total-too-wide',
  family: 'breadth',
  summary: 'ipBlocks together admit too many addresses',
  firesWhen:
    "per direction and family, the addresses all ipBlocks admit together (each `cidr` minus its `except`, unioned over every peer of every rule) exceed one block of `limits.minIPv4PrefixLength` (16) / `minIPv6PrefixLength` (48)",
  explanation:
    'The ipBlocks of one direction, each within the minimum prefix length, together admit more addresses of one family than one block of that prefix (by default one /16 of IPv4, one /48 of IPv6): the same opening as one wide block, written in pieces. Counted exactly: each cidr minus its excepts, unioned across every peer of every rule; IPv4-mapped IPv6 counts as IPv4. Blocks that ipblock-too-wide or ipblock-all-addresses report are not counted again.',
  fix: 'List only the ranges the workload talks to, together at most one block of the minimum prefix length.',
  grant: ['cidr'],
  needs: 'policy',
  defaultAction: 'deny',
  check: {
    start: () => new AddressTotals(),
    ipBlock(ctx, direction, ruleIndex, peer, _peerIndex, cidr, totals) {
      const limits = ctx.config.limits;
      const minPrefix = cidr.family === 4 ? limits.minIPv4PrefixLength : limits.minIPv6PrefixLength;
      // A block its own width rule reports is reported once, by that rule (see openedTotals.ts).
      if (cidr.prefix === 0 || cidr.prefix < minPrefix) return;
      totals.add(direction, ruleIndex, cidr.family, ipBlockAdmits(cidr, peer.ipBlock!.except));
    },
    finish(ctx, totals) {
      const limits = ctx.config.limits;
      for (const f of totals.findings({ 4: limits.minIPv4PrefixLength, 6: limits.minIPv6PrefixLength })) ctx.report(f.path, f.reason, f.hint);
    },
  },
});
