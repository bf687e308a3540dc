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
    'The ipBlock admits an address of limits.forbiddenCIDRs that its except list does not remove. By default these are the cloud instance-metadata endpoints 169.254.169.254/32 and fd00:ec2::254/128, where pod credentials are stolen from; platform teams add their control-plane or on-prem ranges. A block that ipblock-too-wide or ipblock-all-addresses denies is reported by that rule alone; where those rules only warn or are off, the block is still checked here, so relaxing them never opens a forbidden range.',
  fix: "Add the forbidden range to the ipBlock's except list, or narrow the cidr so it does not contain it.",
  grant: ['cidr'],
  needs: 'policy',
  defaultAction: 'deny',
  check: {
    ipBlock(ctx, direction, ruleIndex, peer, peerIndex, cidr) {
      const limits = ctx.config.limits;
      const minPrefix = cidr.family === 4 ? limits.minIPv4PrefixLength : limits.minIPv6PrefixLength;
      // A block its own width rule denies is reported once, by that rule. Where that rule only warns
      // or is off (a platform letting egress to 0.0.0.0/0 through with a warning), the forbidden
      // range is still checked: relaxing a width rule must never open the metadata endpoint.
      const widthRule = cidr.prefix === 0 ? 'ipblock-all-addresses' : cidr.prefix < minPrefix ? 'ipblock-too-wide' : undefined;
      if (widthRule !== undefined && ctx.config.rules[widthRule] === 'deny') return;
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
