import { countPolicyElements } from '../size.js';
import { defineRule } from './types.js';

/**
 * A size limit, not a judgement of what the policy opens. The admission edge and `check` count
 * before any schema or rule work and deny without evaluating (src/admission/review.ts,
 * src/check/run.ts), so a hostile body costs the time to count to the limit; this check gives
 * every other caller of the engine (e.g. `grant`'s local check) the same answer. Its action is
 * always deny (the config refuses warn and off: an oversized policy is never evaluated).
 */
export const policyTooLarge = defineRule({
  id: 'policy-too-large',
  family: 'size',
  summary: 'policy is too large to evaluate',
  firesWhen:
    'the policy has more than `limits.maxPolicyElements` (2000) rules, peers, ipBlocks and except entries, ports and selector terms; denied before any other check, in every mode',
  explanation:
    'Every element of a policy costs the webhook work to check, and every NetworkPolicy write in the cluster waits for that work. A policy larger than the configured limit is refused without being evaluated, so no client can make the webhook spend more than a few milliseconds on one request. Real policies have tens of elements.',
  fix: 'Split the policy into several smaller ones (for example one per peer group), or raise limits.maxPolicyElements if your generated allowlists really need more.',
  // The flags that add elements: repeated thousands of times, they make a grant too large.
  grant: ['cidr', 'peerPods', 'peerNamespace', 'port'],
  needs: 'policy',
  defaultAction: 'deny',
  check: {
    policy(ctx, policy) {
      const max = ctx.config.limits.maxPolicyElements;
      if (countPolicyElements(policy, max) <= max) return;
      ctx.report('spec', policyTooLargeReason(max), policyTooLargeHint(max));
    },
  },
});

/** The finding's reason, shared by every place that refuses an oversized policy. */
export function policyTooLargeReason(max: number): string {
  return `has more than ${max} elements (rules, peers, ipBlocks and except entries, ports, selector terms), the limit limits.maxPolicyElements; it is refused without being evaluated`;
}

export function policyTooLargeHint(max: number): string {
  return `split it into smaller policies of at most ${max} elements each, or raise limits.maxPolicyElements`;
}
