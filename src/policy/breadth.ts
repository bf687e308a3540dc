/**
 * How Kubernetes reads a NetworkPolicy's structure: which directions are in effect, whether it
 * grants anything, where a rule's peers are. The rules themselves live in src/policy/rules/.
 */
import type { V1NetworkPolicy, V1NetworkPolicyPeer } from '@kubernetes/client-node';
import type { Direction } from './rules/types.js';

export type { Direction } from './rules/types.js';
export { isEmptySelector } from './selector.js';

/**
 * Kubernetes' defaulting of spec.policyTypes: explicit types win; otherwise Ingress always, and
 * Egress when egress rules are present. Rules of a direction not in effect are ignored by the
 * cluster, so they are ignored here too.
 */
export function effectivePolicyTypes(policy: V1NetworkPolicy): Set<Direction> {
  return new Set(directionsInEffect(policy));
}

/** effectivePolicyTypes as a plain list in the same order; the engine's per-request form. */
export function directionsInEffect(policy: V1NetworkPolicy): Direction[] {
  const explicit = policy.spec?.policyTypes;
  if (Array.isArray(explicit) && explicit.length > 0) {
    const out: Direction[] = [];
    for (const t of explicit) {
      const direction = t === 'Ingress' ? 'ingress' : t === 'Egress' ? 'egress' : undefined;
      if (direction !== undefined && !out.includes(direction)) out.push(direction);
    }
    return out;
  }
  return Array.isArray(policy.spec?.egress) && policy.spec.egress.length > 0 ? ['ingress', 'egress'] : ['ingress'];
}

/** A policy grants access when a direction in effect has at least one rule (else it only isolates). */
export function grantsAccess(policy: V1NetworkPolicy): boolean {
  for (const direction of directionsInEffect(policy)) {
    const rules = policy.spec?.[direction];
    if (Array.isArray(rules) && rules.length > 0) return true;
  }
  return false;
}

/**
 * Peers of a rule. The engine works on wire-format JSON (`from`), but objects deserialized by
 * @kubernetes/client-node carry the model's `_from`; accept both so every caller gets one answer.
 */
export function rulePeers(rule: object, direction: Direction): V1NetworkPolicyPeer[] | undefined {
  const r = rule as { from?: V1NetworkPolicyPeer[]; _from?: V1NetworkPolicyPeer[]; to?: V1NetworkPolicyPeer[] };
  return direction === 'ingress' ? (r.from ?? r._from) : r.to;
}
