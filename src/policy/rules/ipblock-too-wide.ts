import { formatFamily } from '../cidr.js';
import { party, peerPath } from './paths.js';
import { defineRule } from './types.js';

export const ipblockTooWide = defineRule({
  id: 'ipblock-too-wide',
  family: 'breadth',
  summary: 'ipBlock is wider than allowed',
  firesWhen: 'a cidr prefix is shorter than `limits.minIPv4PrefixLength` (16) / `minIPv6PrefixLength` (48)',
  explanation:
    'The ipBlock prefix is shorter than the configured minimum (by default /16 for IPv4, /48 for IPv6), so it covers far more addresses than one service needs.',
  fix: 'Use a longer prefix that covers only the peer, e.g. 10.20.0.0/16 instead of 10.0.0.0/8.',
  grant: ['cidr'],
  needs: 'policy',
  defaultAction: 'deny',
  check: {
    ipBlock(ctx, direction, ruleIndex, peer, peerIndex, cidr) {
      const limits = ctx.config.limits;
      const minPrefix = cidr.family === 4 ? limits.minIPv4PrefixLength : limits.minIPv6PrefixLength;
      // A /0 is ipblock-all-addresses' finding, not this one's.
      if (cidr.prefix === 0 || cidr.prefix >= minPrefix) return;
      ctx.report(
        `${peerPath(direction, ruleIndex, peerIndex)}.ipBlock.cidr`,
        `${peer.ipBlock!.cidr} is a /${cidr.prefix}${cidr.mapped ? ' (IPv4-mapped)' : ''}, wider than the allowed ${formatFamily(cidr.family)} /${minPrefix}`,
        `use a prefix of /${minPrefix} or longer that covers only the ${party(direction)}`,
      );
    },
  },
});
