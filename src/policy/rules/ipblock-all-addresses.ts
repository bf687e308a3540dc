import { formatFamily, unionCoversAll } from '../cidr.js';
import { party, peerPath, peersPath } from './paths.js';
import { defineRule } from './types.js';

export const ipblockAllAddresses = defineRule({
  id: 'ipblock-all-addresses',
  family: 'breadth',
  summary: 'ipBlock allows every address',
  firesWhen:
    'an ipBlock, or the union of one rule\'s ipBlocks, covers all of IPv4 or IPv6 (`except` does not rescue it; IPv4-mapped IPv6 counts as IPv4)',
  explanation:
    'An ipBlock of 0.0.0.0/0 or ::/0 (or ::ffff:0.0.0.0/96), or several ipBlocks of one rule that together cover a whole address family, opens the pods to the entire internet and every internal network. An except list does not make it narrow.',
  fix: 'Replace the block with the specific ranges the workload talks to, each at most as wide as the configured minimum prefix length.',
  grant: ['cidr'],
  needs: 'policy',
  defaultAction: 'deny',
  check: {
    ipBlock(ctx, direction, ruleIndex, peer, peerIndex, cidr) {
      if (cidr.prefix !== 0) return;
      const limits = ctx.config.limits;
      const minPrefix = cidr.family === 4 ? limits.minIPv4PrefixLength : limits.minIPv6PrefixLength;
      ctx.report(
        `${peerPath(direction, ruleIndex, peerIndex)}.ipBlock.cidr`,
        `${peer.ipBlock!.cidr} allows every ${formatFamily(cidr.family)} address${peer.ipBlock!.except?.length ? ' (except does not make it narrow)' : ''}`,
        `narrow it to the ${party(direction)} range, at most /${minPrefix} wide`,
      );
    },
    // Split into pieces, no single block is a /0, yet together they may cover a whole family.
    peersEnd(ctx, direction, ruleIndex, cidrs) {
      if (cidrs.length === 0) return;
      for (const family of [4, 6] as const) {
        // A /0 of this family was reported by ipBlock already; the union adds nothing to say.
        const wholeFamilyReported = cidrs.some((c) => c.family === family && c.prefix === 0);
        if (!wholeFamilyReported && unionCoversAll(cidrs, family)) {
          ctx.report(
            peersPath(direction, ruleIndex),
            `the ipBlocks together cover every ${formatFamily(family)} address`,
            `keep only the ${party(direction)} ranges that are needed`,
          );
        }
      }
    },
  },
});
