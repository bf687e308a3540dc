/**
 * One NetworkPolicy rule (an ingress `from` or egress `to` entry with its ports) in the form the
 * effect analysis asks questions of: does it admit this pod, which addresses does it admit, which
 * ports toward a destination. Kubernetes semantics, read from the API reference:
 * - a missing or empty peer list admits every source/destination (every pod of every namespace and
 *   every address);
 * - a peer with only podSelector admits those pods of the policy's own namespace; with only
 *   namespaceSelector every pod of the matching namespaces; with both, the matching pods of the
 *   matching namespaces (one peer: AND; two peers: OR);
 * - an ipBlock admits its cidr minus its excepts. Pods are judged by their labels only: whether an
 *   ipBlock also matches a pod's IP is left to the network plugin by the API, so it is not counted.
 */
import type { V1LabelSelector, V1NetworkPolicy, V1NetworkPolicyPeer, V1NetworkPolicyPort } from '@kubernetes/client-node';
import type { ClusterView, ContainerPortMeta, PodMeta } from '../../cluster/view.js';
import { formatSelector } from '../../operator/selectors.js';
import { type AddressRange, ipBlockAdmits, mergeRanges } from '../addressSet.js';
import { directionsInEffect, rulePeers } from '../breadth.js';
import { type IpFamily, parseCidr } from '../cidr.js';
import type { Direction } from '../rules/types.js';
import { selectorMatches } from '../selector.js';
import { type PortAllow, rulePorts } from './portAllow.js';
import { unboundedMeter, type WorkMeter } from './workMeter.js';

interface PodPeer {
  /** Undefined: the policy's own namespace. */
  readonly namespaceSelector: V1LabelSelector | undefined;
  /** Undefined: every pod of the selected namespaces. */
  readonly podSelector: V1LabelSelector | undefined;
}

export interface IpBlockPeer {
  readonly cidr: string;
  readonly except: readonly string[];
  readonly family: IpFamily;
  readonly ranges: readonly AddressRange[];
}

const EVERY_V4: readonly AddressRange[] = [[0n, (1n << 32n) - 1n]];
const EVERY_V6: readonly AddressRange[] = [[0n, (1n << 128n) - 1n]];

export class CompiledRule {
  readonly policyName: string;
  readonly policyNamespace: string;
  readonly index: number;
  /** The peer list is missing or empty: every pod and every address. */
  readonly anyPeer: boolean;
  readonly podPeers: readonly PodPeer[];
  readonly ipBlocks: readonly IpBlockPeer[];
  /** Merged addresses this rule admits, per family. */
  readonly addresses: Readonly<Record<IpFamily, readonly AddressRange[]>>;
  readonly ports: readonly V1NetworkPolicyPort[] | undefined;
  private readonly view: ClusterView;
  private readonly meter: WorkMeter;
  /** Namespace name → whether peer k's namespace side admits it (labels do not change during one analysis). */
  private readonly namespaceMemo: Map<string, boolean>[];
  private portsTowardUnknown: PortAllow | undefined;
  private peerPodsMemo: PodMeta[] | undefined;

  constructor(policy: V1NetworkPolicy, direction: Direction, index: number, view: ClusterView, meter: WorkMeter = unboundedMeter()) {
    const rule = policy.spec?.[direction]?.[index] ?? {};
    this.policyName = policy.metadata?.name ?? policy.metadata?.generateName ?? '<unnamed>';
    this.policyNamespace = policy.metadata?.namespace ?? 'default';
    this.index = index;
    this.view = view;
    this.meter = meter;
    this.ports = rule.ports ?? undefined;
    const peers = rulePeers(rule, direction) ?? [];
    this.anyPeer = peers.length === 0;
    const podPeers: PodPeer[] = [];
    const ipBlocks: IpBlockPeer[] = [];
    for (const raw of peers) {
      const peer: V1NetworkPolicyPeer = raw ?? {};
      if (peer.ipBlock) {
        const parsed = parseCidr(String(peer.ipBlock.cidr));
        if (!parsed.ok) continue; // the shape check refuses it; nothing is admitted by it here
        const except = (peer.ipBlock.except ?? []).map(String);
        ipBlocks.push({ cidr: String(peer.ipBlock.cidr), except, family: parsed.cidr.family, ranges: ipBlockAdmits(parsed.cidr, except) });
      } else if (peer.podSelector || peer.namespaceSelector) {
        podPeers.push({ namespaceSelector: peer.namespaceSelector ?? undefined, podSelector: peer.podSelector ?? undefined });
      }
      // A peer with no field at all is refused by the API server; it admits nothing here.
    }
    this.podPeers = podPeers;
    this.ipBlocks = ipBlocks;
    this.addresses = this.anyPeer
      ? { 4: EVERY_V4, 6: EVERY_V6 }
      : {
          4: mergeRanges(ipBlocks.filter((b) => b.family === 4).flatMap((b) => b.ranges)),
          6: mergeRanges(ipBlocks.filter((b) => b.family === 6).flatMap((b) => b.ranges)),
        };
    this.namespaceMemo = podPeers.map(() => new Map());
  }

  /** The ports this rule admits toward a destination with these container ports (undefined: unknown). */
  portsToward(destination: readonly ContainerPortMeta[] | undefined): PortAllow {
    if (destination !== undefined) return rulePorts(this.ports, destination);
    if (this.portsTowardUnknown === undefined) this.portsTowardUnknown = rulePorts(this.ports, undefined);
    return this.portsTowardUnknown;
  }

  /** Whether this rule admits `pod` as a peer. */
  admitsPod(pod: PodMeta): boolean {
    if (this.anyPeer) return true;
    for (let k = 0; k < this.podPeers.length; k++) {
      const peer = this.podPeers[k]!;
      if (!this.namespaceAdmits(k, peer, pod.namespace)) continue;
      if (peer.podSelector === undefined || selectorMatches(peer.podSelector, pod.labels)) return true;
    }
    return false;
  }

  private namespaceAdmits(k: number, peer: PodPeer, namespace: string): boolean {
    if (peer.namespaceSelector === undefined) return namespace === this.policyNamespace;
    const memo = this.namespaceMemo[k]!;
    let admitted = memo.get(namespace);
    if (admitted === undefined) {
      const labels = this.view.namespaceLabels(namespace);
      admitted = labels !== undefined && selectorMatches(peer.namespaceSelector, labels);
      memo.set(namespace, admitted);
    }
    return admitted;
  }

  /** Namespaces whose pods this rule admits (all or some of them). */
  peerNamespaces(): string[] {
    const names = this.view.namespaceNames();
    if (this.anyPeer) {
      this.meter.charge(names.length, 'peer namespaces');
      return [...names];
    }
    const out = new Set<string>();
    for (let k = 0; k < this.podPeers.length; k++) {
      const peer = this.podPeers[k]!;
      if (peer.namespaceSelector === undefined) out.add(this.policyNamespace);
      else {
        this.meter.charge(names.length, 'peer namespaces');
        for (const ns of names) if (this.namespaceAdmits(k, peer, ns)) out.add(ns);
      }
    }
    return [...out];
  }

  /** Live pods this rule admits as peers, through the view's selector lookup (once per analysis). */
  peerPods(): PodMeta[] {
    if (this.peerPodsMemo === undefined) this.peerPodsMemo = this.lookUpPeerPods();
    return this.peerPodsMemo;
  }

  private lookUpPeerPods(): PodMeta[] {
    const names = this.view.namespaceNames();
    const out: PodMeta[] = [];
    const lookUp = (ns: string, selector: V1LabelSelector): void => {
      const found = this.view.podsMatching(ns, selector);
      this.meter.charge(1 + found.length, 'peer pods');
      for (const pod of livePods(found)) out.push(pod);
    };
    if (this.anyPeer) {
      this.meter.charge(names.length, 'peer pods');
      for (const ns of names) lookUp(ns, {});
      return out;
    }
    for (let k = 0; k < this.podPeers.length; k++) {
      const peer = this.podPeers[k]!;
      if (peer.namespaceSelector !== undefined) this.meter.charge(names.length, 'peer pods');
      const namespaces = peer.namespaceSelector === undefined ? [this.policyNamespace] : names.filter((ns) => this.namespaceAdmits(k, peer, ns));
      for (const ns of namespaces) lookUp(ns, peer.podSelector ?? {});
    }
    return out;
  }

  /** "198.51.100.0/24", "pods app=web in namespace shop", "any peer", joined with " or ". */
  describePeers(): string {
    if (this.anyPeer) return 'any peer';
    const parts: string[] = [];
    for (const peer of this.podPeers) {
      const pods = peer.podSelector === undefined || formatSelector(peer.podSelector) === '' ? 'all pods' : `pods ${formatSelector(peer.podSelector)}`;
      if (peer.namespaceSelector === undefined) parts.push(`${pods} in namespace ${this.policyNamespace}`);
      else if (formatSelector(peer.namespaceSelector) === '') parts.push(`${pods} in every namespace`);
      else parts.push(`${pods} in namespaces ${formatSelector(peer.namespaceSelector)}`);
    }
    for (const block of this.ipBlocks) parts.push(block.except.length === 0 ? block.cidr : `${block.cidr} except ${block.except.join(', ')}`);
    return parts.length === 0 ? 'no peer' : parts.join(' or ');
  }
}

/** Pending and Running pods (and those of unknown phase) take part; Succeeded and Failed do not. */
export function isLive(pod: PodMeta): boolean {
  return pod.phase !== 'Succeeded' && pod.phase !== 'Failed';
}

export function livePods(pods: readonly PodMeta[]): PodMeta[] {
  return pods.filter(isLive);
}

/** The rules of `policy` for `direction`, or none when the direction is not in its effective policyTypes. */
export function compileRules(policy: V1NetworkPolicy, direction: Direction, view: ClusterView, meter: WorkMeter = unboundedMeter()): CompiledRule[] {
  if (!directionsInEffect(policy).includes(direction)) return [];
  const rules = policy.spec?.[direction] ?? [];
  // Each rule's peers (and their excepts) and ports are read once here. Another policy of the
  // namespace may be large (admitted before netpol-guard, or by a permanent principal), so count them.
  let elements = 0;
  for (const rule of rules) {
    elements += 1 + (rule?.ports?.length ?? 0);
    for (const peer of rulePeers(rule ?? {}, direction) ?? []) elements += 1 + (peer?.ipBlock?.except?.length ?? 0);
  }
  meter.charge(elements, 'compiling rules');
  return rules.map((_, i) => new CompiledRule(policy, direction, i, view, meter));
}
