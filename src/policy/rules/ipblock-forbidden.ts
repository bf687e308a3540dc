import { blockSize, ipBlockAdmits } from '../addressSet.js';
import type { Cidr } from '../cidr.js';
import { type ForbiddenRange, forbiddenRangeAdmitted } from '../openedTotals.js';
import { party, peerPath } from './paths.js';
import { defineRule } from './types.js';

export const ipblockForbidden = defineRule({
  id: 'ipblock-forbidden',
  family: 'breadth',
  summary: 'ipBlock admits a forbidden address',
  firesWhen:
    'an ipBlock admits an address of `limits.forbiddenCIDRs` (169.254.169.254/32, fd00:ec2::254/128) that its `except` does not remove',
  explanation:
    'The ipBlock admits an address of limits.forbiddenCIDRs that its except list does not remove. By default these are the cloud instance-metadata endpoints 169.254.169.254/32 and fd00:ec2::254/128, where pod credentials are stolen from; platform teams add their control-plane or on-prem ranges. Blocks that ipblock-too-wide or ipblock-all-addresses report are reported by those rules alone.',
  fix: "Add the forbidden range to the ipBlock's except list, or narrow the cidr so it does not contain it.",
  grant: ['cidr'],
  needs: 'policy',
  defaultAction: 'deny',
  check: {
    ipBlock(ctx, direction, ruleIndex, peer, peerIndex, cidr) {
      const limits = ctx.config.limits;
      const minPrefix = cidr.family === 4 ? limits.minIPv4PrefixLength : limits.minIPv6PrefixLength;
      // A block its own width rule reports is reported once, by that rule (see openedTotals.ts).
      if (cidr.prefix === 0 || cidr.prefix < minPrefix) return;
      const forbidden = limits.forbiddenCIDRs;
      // The excepts are read only for a cidr that reaches a forbidden range at all: almost none does.
      if (!reachesAny(cidr, forbidden)) return;
      const hit = forbiddenRangeAdmitted(ipBlockAdmits(cidr, peer.ipBlock!.except), cidr.family, forbidden);
      if (hit === undefined) return;
      ctx.report(
        `${peerPath(direction, ruleIndex, peerIndex)}.ipBlock.cidr`,
        `${peer.ipBlock!.cidr} admits ${hit.text}, which limits.forbiddenCIDRs forbids`,
        `add ${hit.text} to except, or narrow the cidr to the ${party(direction)} range`,
      );
    },
  },
});

/** Whether the whole cidr (excepts ignored) shares an address with any forbidden range; allocates nothing. */
function reachesAny(cidr: Cidr, forbidden: readonly ForbiddenRange[]): boolean {
  let last: bigint | undefined;
  for (const f of forbidden) {
    if (f.family !== cidr.family) continue;
    last ??= cidr.network + blockSize(cidr.family, cidr.prefix) - 1n;
    if (f.range[0] <= last && cidr.network <= f.range[1]) return true;
  }
  return false;
}
