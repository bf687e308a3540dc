import { isJsonObject } from '../schema/json.js';

/**
 * How big a NetworkPolicy is in the units that cost work: every element the schema check and the
 * rules visit one by one. Counted on the untrusted value, before the schema runs, so an oversized
 * body is refused for the price of counting to the limit, not of checking and judging every
 * element (about 3 µs each; 100,000 of them cost a quarter second of CPU).
 *
 * Counted, in spec only: each ingress/egress rule; each peer; each ipBlock and each of its except
 * entries; each port; and in every label selector (spec.podSelector and each peer's podSelector and
 * namespaceSelector) each matchLabels entry, each matchExpressions entry and each of its values;
 * and each policyTypes entry. Metadata is left out: the admission edge caps label maps, and
 * managedFields, which mirrors the spec, is never walked.
 */
export function countPolicyElements(policy: unknown, stopAbove: number = Number.POSITIVE_INFINITY): number {
  const spec = isJsonObject(policy) ? policy.spec : undefined;
  if (!isJsonObject(spec)) return 0;
  let count = selectorTerms(spec.podSelector) + lengthOf(spec.policyTypes);
  for (const [direction, peersKey] of PEER_LISTS) {
    const rules = spec[direction];
    if (!Array.isArray(rules)) continue;
    count += rules.length;
    if (count > stopAbove) return count;
    for (let i = 0; i < rules.length; i++) {
      const rule: unknown = rules[i];
      if (!isJsonObject(rule)) continue;
      count += lengthOf(rule.ports);
      const peers = rule[peersKey];
      if (!Array.isArray(peers)) continue;
      count += peers.length;
      if (count > stopAbove) return count;
      for (let j = 0; j < peers.length; j++) {
        const peer: unknown = peers[j];
        if (!isJsonObject(peer)) continue;
        const ipBlock = peer.ipBlock;
        if (ipBlock !== undefined && ipBlock !== null) count += 1 + (isJsonObject(ipBlock) ? lengthOf(ipBlock.except) : 0);
        count += selectorTerms(peer.podSelector) + selectorTerms(peer.namespaceSelector);
        if (count > stopAbove) return count;
      }
    }
  }
  return count;
}

/** Whether `policy` has more than `max` elements (see countPolicyElements); stops counting past it. */
export function policyElementsExceed(policy: unknown, max: number): boolean {
  return countPolicyElements(policy, max) > max;
}

/** Which object of an admission request is over the limit, and the limit. */
export interface OversizedPolicy {
  field: 'object' | 'oldObject';
  maxPolicyElements: number;
}

/**
 * The new object is checked first. The stored oldObject is checked too: a client that posts to
 * the webhook directly chooses it, and it goes through the same schema check. A stored policy over
 * a lowered limit can still be deleted (deletes never reach the webhook) and recreated smaller.
 */
export function oversizedPolicy(object: unknown, oldObject: unknown, max: number): OversizedPolicy | undefined {
  if (policyElementsExceed(object, max)) return { field: 'object', maxPolicyElements: max };
  if (oldObject !== undefined && oldObject !== null && policyElementsExceed(oldObject, max)) return { field: 'oldObject', maxPolicyElements: max };
  return undefined;
}

const PEER_LISTS = [
  ['ingress', 'from'],
  ['egress', 'to'],
] as const;

function lengthOf(value: unknown): number {
  return Array.isArray(value) ? value.length : 0;
}

function selectorTerms(selector: unknown): number {
  if (!isJsonObject(selector)) return 0;
  let terms = 0;
  const labels = selector.matchLabels;
  // for…in counts without allocating a key array (a label map is capped at the edge anyway).
  if (isJsonObject(labels)) for (const _ in labels) terms += 1;
  const expressions = selector.matchExpressions;
  if (Array.isArray(expressions)) {
    terms += expressions.length;
    for (let i = 0; i < expressions.length; i++) {
      const expression: unknown = expressions[i];
      if (isJsonObject(expression)) terms += lengthOf(expression.values);
    }
  }
  return terms;
}
