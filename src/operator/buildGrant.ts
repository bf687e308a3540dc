import type { V1NetworkPolicy, V1NetworkPolicyPeer, V1NetworkPolicyPort } from '@kubernetes/client-node';
import { type AnnotationKeys, TEMPORARY_LABEL_VALUE } from '../lifecycle/annotations.js';
import { normalizeTicket } from '../lifecycle/ticket.js';
import type { GrantDirection } from './grantFlags.js';

/** What one grant opens, with the namespace and target pods already resolved. */
export interface GrantSpec {
  direction: GrantDirection;
  namespace: string;
  /** Explicit name; otherwise one is derived from the ticket and `nameSuffix`. */
  name: string | undefined;
  podSelector: Record<string, string> | undefined;
  cidrs: readonly string[];
  peerPods: Record<string, string> | undefined;
  peerNamespaces: Record<string, string> | undefined;
  ports: readonly V1NetworkPolicyPort[];
  ttl: string | undefined;
  ticket: string | undefined;
}

const SUFFIX = /^[a-z0-9]{1,10}$/;
const MAX_NAME = 63;

/**
 * The NetworkPolicy for a grant, in wire format (`from`, not client-node's `_from`). Pure.
 * One direction, one rule; each CIDR is its own peer, and pod and namespace selectors together
 * form one peer (pods matching in namespaces matching: the narrow reading, an AND). Absent parts
 * stay absent so the rules engine reports them rather than this builder guessing.
 */
export function buildGrantPolicy(spec: GrantSpec, keys: AnnotationKeys, nameSuffix: string): V1NetworkPolicy {
  const ticket = spec.ticket === undefined ? undefined : normalizeTicket(spec.ticket);
  const annotations: Record<string, string> = {};
  if (spec.ttl !== undefined) annotations[keys.ttl] = spec.ttl;
  if (ticket !== undefined && ticket !== '') annotations[keys.ticket] = ticket;

  const peers: V1NetworkPolicyPeer[] = spec.cidrs.map((cidr) => ({ ipBlock: { cidr } }));
  if (spec.peerPods !== undefined || spec.peerNamespaces !== undefined) {
    peers.push({
      ...(spec.peerNamespaces !== undefined && { namespaceSelector: { matchLabels: { ...spec.peerNamespaces } } }),
      ...(spec.peerPods !== undefined && { podSelector: { matchLabels: { ...spec.peerPods } } }),
    });
  }
  const rule: Record<string, unknown> = {};
  if (peers.length > 0) rule[spec.direction === 'ingress' ? 'from' : 'to'] = peers;
  if (spec.ports.length > 0) rule.ports = spec.ports.map((p) => ({ ...p }));

  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: spec.name ?? defaultGrantName(ticket, nameSuffix),
      namespace: spec.namespace,
      // Set here, not only by the mutator, so `list` and `revoke` find the grant even in a
      // cluster where the mutating webhook is not installed.
      labels: { [keys.temporaryLabel]: TEMPORARY_LABEL_VALUE },
      annotations,
    },
    spec: {
      podSelector: spec.podSelector === undefined ? {} : { matchLabels: { ...spec.podSelector } },
      policyTypes: [spec.direction === 'ingress' ? 'Ingress' : 'Egress'],
      [spec.direction]: [rule],
    },
  };
}

/**
 * `grant-<ticket>-<suffix>`: a valid DNS-1123 label (so also a valid object name) that a person
 * can match to the incident at a glance; the suffix keeps two grants under one ticket apart.
 */
export function defaultGrantName(ticket: string | undefined, suffix: string): string {
  if (!SUFFIX.test(suffix)) throw new Error(`name suffix "${suffix}" must be 1-10 lower-case letters or digits`);
  const slug = (ticket ?? '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  const room = MAX_NAME - 'grant-'.length - 1 - suffix.length;
  const cut = slug.slice(0, room).replace(/-+$/, '');
  return cut === '' ? `grant-${suffix}` : `grant-${cut}-${suffix}`;
}

/**
 * Labels that controllers put on each pod instance (a ReplicaSet's template hash, a StatefulSet
 * pod's own name, ...). Selecting on them would pin the grant to one replica or one rollout, so
 * `--to-pod` leaves them out and says so.
 */
const PER_INSTANCE_LABELS = new Set([
  'pod-template-hash',
  'controller-revision-hash',
  'pod-template-generation',
  'statefulset.kubernetes.io/pod-name',
  'apps.kubernetes.io/pod-index',
  'controller-uid',
  'batch.kubernetes.io/controller-uid',
]);

export function podSelectorFromLabels(labels: Record<string, string>): { selector: Record<string, string>; dropped: string[] } {
  const selector: Record<string, string> = {};
  const dropped: string[] = [];
  for (const key of Object.keys(labels).sort()) {
    if (PER_INSTANCE_LABELS.has(key)) dropped.push(key);
    else selector[key] = labels[key]!;
  }
  return { selector, dropped };
}
