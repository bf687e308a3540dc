import type { V1LabelSelector, V1NetworkPolicy, V1NetworkPolicyPeer } from '@kubernetes/client-node';
import { type Direction, effectivePolicyTypes, isEmptySelector, rulePeers } from '../policy/breadth.js';
import { formatPort } from './ports.js';
import { formatSelector, NAMESPACE_NAME_LABEL } from './selectors.js';

/**
 * One line saying what a policy opens, for people scanning a list at 2am:
 * `ingress to app=database from 198.51.100.0/24, pods app=api in ns payments on 5432/TCP`.
 * Accepts wire (`from`) and client-node (`_from`) objects alike.
 */
export function summarizeAccess(policy: V1NetworkPolicy): string {
  const parts: string[] = [];
  const target = describeTargets(policy.spec?.podSelector);
  for (const direction of directionsOf(policy)) {
    const rules = policy.spec?.[direction] ?? [];
    if (rules.length === 0) {
      parts.push(`${direction} denied for ${target}`);
      continue;
    }
    for (const rule of rules) {
      const peers = describePeers(rulePeers(rule, direction));
      const ports = rule.ports && rule.ports.length > 0 ? rule.ports.map(formatPort).join(', ') : 'all ports';
      parts.push(
        direction === 'ingress' ? `ingress to ${target} from ${peers} on ${ports}` : `egress from ${target} to ${peers} on ${ports}`,
      );
    }
  }
  return parts.length === 0 ? 'nothing' : parts.join('; ');
}

/** The directions in effect, ingress first. */
export function directionsOf(policy: V1NetworkPolicy): Direction[] {
  const types = effectivePolicyTypes(policy);
  return (['ingress', 'egress'] as const).filter((d) => types.has(d));
}

function describeTargets(selector: V1LabelSelector | undefined): string {
  return isEmptySelector(selector) ? 'all pods' : formatSelector(selector);
}

function describePeers(peers: V1NetworkPolicyPeer[] | null | undefined): string {
  if (!peers || peers.length === 0) return 'anywhere';
  return peers.map(describePeer).join(', ');
}

function describePeer(peer: V1NetworkPolicyPeer): string {
  if (peer.ipBlock) {
    const except = peer.ipBlock.except ?? [];
    return except.length > 0 ? `${peer.ipBlock.cidr} except ${except.join(',')}` : peer.ipBlock.cidr;
  }
  const pods = peer.podSelector === undefined || peer.podSelector === null ? undefined : isEmptySelector(peer.podSelector) ? 'all pods' : `pods ${formatSelector(peer.podSelector)}`;
  if (peer.namespaceSelector === undefined || peer.namespaceSelector === null) return pods ?? 'nothing';
  const ns = describeNamespaces(peer.namespaceSelector);
  return `${pods ?? 'all pods'} in ${ns}`;
}

function describeNamespaces(selector: V1LabelSelector): string {
  if (isEmptySelector(selector)) return 'all namespaces';
  const labels = selector.matchLabels ?? {};
  const keys = Object.keys(labels);
  if (keys.length === 1 && keys[0] === NAMESPACE_NAME_LABEL && (selector.matchExpressions ?? []).length === 0) {
    return `ns ${labels[NAMESPACE_NAME_LABEL]}`;
  }
  return `ns ${formatSelector(selector)}`;
}
