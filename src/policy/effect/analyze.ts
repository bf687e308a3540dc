/**
 * What admitting a NetworkPolicy changes, computed from a read-only ClusterView: per direction in
 * its effective policyTypes, the pods it targets, the peers it admits, the target pods it newly
 * isolates, and the connections it newly allows compared with the namespace's other policies.
 * Pure: the view is read through synchronous lookups, nothing else is touched.
 *
 * Per side only: an ingress grant is judged on the target pods' side (the namespace's ingress
 * policies); whether the peers' own egress policies let the traffic out is the other side's
 * business and is not folded in, as Kubernetes evaluates the two sides independently.
 *
 * Target pods are grouped by the set of existing policies that select them (and, for ingress, by
 * their container ports, against which named ports resolve): every pod of a group accepts the same
 * peers on the same ports before and after, so the work is per group, not per pod.
 */
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import type { ClusterView, ContainerPortMeta, PodMeta } from '../../cluster/view.js';
import { type AddressRange, mergeRanges, rangesSize } from '../addressSet.js';
import { directionsInEffect } from '../breadth.js';
import type { IpFamily } from '../cidr.js';
import type { Direction } from '../rules/types.js';
import { selectorMatches } from '../selector.js';
import { CompiledRule, compileRules, livePods } from './compiledRule.js';
import { addressDelta } from './addressDelta.js';
import { describePorts, isNoPorts, NO_PORTS, type PortAllow, portCount, rulePorts, subtractPorts, unionPorts } from './portAllow.js';

export interface PodRef {
  namespace: string;
  name: string;
}

/** Target pods that accept the same traffic today, and what they accept today and after. */
export interface TargetGroup {
  pods: PodRef[];
  /** Names of the namespace's other policies that select these pods for this direction today. */
  selectedBy: string[];
  /** "all ingress" when no policy selects them today, else what their policies admit. */
  acceptsBefore: string;
  acceptsAfter: string;
}

/** Connections the policy newly allows from one peer pod to a group of targets (ingress; reversed for egress). */
export interface PodDelta {
  targets: PodRef[];
  peer: PodRef;
  ports: PortAllow;
}

/** Addresses × ports newly allowed for a group of targets. */
export interface AddressDelta {
  targets: PodRef[];
  family: IpFamily;
  ranges: AddressRange[];
  ports: PortAllow;
}

export interface IpBlockCount {
  cidr: string;
  except: string[];
  addresses: bigint;
}

export interface DirectionEffect {
  direction: Direction;
  /** Live pods the policy's podSelector selects now. */
  targets: PodRef[];
  /** Each rule of the policy for this direction, as "peers on ports". */
  rules: string[];
  peers: {
    /** Some rule admits every peer (missing or empty from/to). */
    any: boolean;
    pods: PodRef[];
    namespaces: string[];
    ipBlocks: IpBlockCount[];
    /** Distinct addresses admitted by all rules together, per family. */
    addresses: Record<IpFamily, bigint>;
    /** Every port any rule admits (named ports unresolved). */
    ports: PortAllow;
  };
  groups: TargetGroup[];
  /** Targets no other policy of the namespace selects for this direction today. */
  newlyIsolated: PodRef[];
  delta: {
    pods: PodDelta[];
    addresses: AddressDelta[];
    /** Σ targets × peer pods × ports newly allowed. */
    podConnections: number;
    /** Σ targets × addresses × ports newly allowed. */
    addressConnections: bigint;
  };
}

export interface PolicyEffect {
  namespace: string;
  policyName: string;
  directions: DirectionEffect[];
}

export interface EffectInput {
  policy: V1NetworkPolicy;
  /** Namespace of the request (the policy's metadata.namespace may be empty on CREATE). */
  namespace: string;
  cluster: ClusterView;
}

const ALL_OF: Record<Direction, string> = { ingress: 'all ingress', egress: 'all egress' };

export function analyzeEffect(input: EffectInput): PolicyEffect {
  const { cluster, namespace } = input;
  // The policy as stored in its namespace; on CREATE metadata.namespace may be missing.
  const policy: V1NetworkPolicy = { ...input.policy, metadata: { ...input.policy.metadata, namespace } };
  const name = policy.metadata?.name ?? policy.metadata?.generateName ?? '<unnamed>';
  // The stored version of this policy (UPDATE) is replaced by it, so it is not one of the others.
  const others = cluster.policiesIn(namespace).filter((p) => p.metadata?.name !== policy.metadata?.name || policy.metadata?.name === undefined);
  const directions = directionsInEffect(policy).map((direction) => analyzeDirection(policy, others, direction, namespace, cluster));
  return { namespace, policyName: name, directions };
}

interface ExistingPolicy {
  name: string;
  policy: V1NetworkPolicy;
  rules: CompiledRule[];
}

function analyzeDirection(policy: V1NetworkPolicy, others: readonly V1NetworkPolicy[], direction: Direction, namespace: string, cluster: ClusterView): DirectionEffect {
  const own = compileRules(policy, direction, cluster);
  const existing: ExistingPolicy[] = [];
  for (const other of others) {
    if (!directionsInEffect(other).includes(direction)) continue;
    existing.push({ name: other.metadata?.name ?? '<unnamed>', policy: other, rules: [] });
  }
  const targets = livePods(cluster.podsMatching(namespace, policy.spec?.podSelector ?? {}));

  const peerPods = uniquePods(own.flatMap((rule) => rule.peerPods()));
  const groups = groupTargets(targets, existing, direction, cluster);

  const groupViews: TargetGroup[] = [];
  const newlyIsolated: PodRef[] = [];
  const podDeltas: PodDelta[] = [];
  const addressDeltas: AddressDelta[] = [];
  let podConnections = 0;
  let addressConnections = 0n;
  for (const group of groups) {
    const refs = group.pods.map(podRef);
    const before = group.selectedBy.flatMap((e) => e.rules);
    const targetPorts = direction === 'ingress' ? group.containerPorts : undefined;
    const isolated = group.selectedBy.length > 0;
    if (!isolated) newlyIsolated.push(...refs);
    groupViews.push({
      pods: refs,
      selectedBy: group.selectedBy.map((e) => e.name),
      acceptsBefore: isolated ? describeAccepts(before, targetPorts, direction) : ALL_OF[direction],
      acceptsAfter: isolated ? describeAccepts([...before, ...own], targetPorts, direction) : `only ${describeAccepts(own, targetPorts, direction)}`,
    });
    // A pod that accepts everything today gains nothing from the grant (it only loses).
    if (!isolated) continue;
    for (const peer of peerPods) {
      const destination = direction === 'ingress' ? targetPorts : peer.containerPorts;
      const added = subtractPorts(admittedPorts(own, peer, destination), admittedPorts(before, peer, destination));
      if (isNoPorts(added)) continue;
      podDeltas.push({ targets: refs, peer: podRef(peer), ports: added });
      podConnections += refs.length * portCount(added);
    }
    for (const piece of addressDelta(own, before, targetPorts)) {
      addressDeltas.push({ targets: refs, ...piece });
      addressConnections += BigInt(refs.length) * rangesSize(piece.ranges) * BigInt(portCount(piece.ports));
    }
  }

  let ports: PortAllow = NO_PORTS;
  for (const rule of own) ports = unionPorts(ports, rulePorts(rule.ports, undefined));
  const namespaces = new Set<string>();
  for (const rule of own) for (const ns of rule.peerNamespaces()) namespaces.add(ns);
  return {
    direction,
    targets: targets.map(podRef),
    rules: own.map((rule) => `${rule.describePeers()} on ${describePorts(rulePorts(rule.ports, undefined))}`),
    peers: {
      any: own.some((rule) => rule.anyPeer),
      pods: peerPods.map(podRef),
      namespaces: [...namespaces].sort(),
      ipBlocks: own.flatMap((rule) => rule.ipBlocks.map((b) => ({ cidr: b.cidr, except: [...b.except], addresses: rangesSize(b.ranges) }))),
      addresses: {
        4: rangesSize(mergeRanges(own.flatMap((rule) => rule.addresses[4]))),
        6: rangesSize(mergeRanges(own.flatMap((rule) => rule.addresses[6]))),
      },
      ports,
    },
    groups: groupViews,
    newlyIsolated,
    delta: { pods: podDeltas, addresses: addressDeltas, podConnections, addressConnections },
  };
}

interface Group {
  pods: PodMeta[];
  selectedBy: ExistingPolicy[];
  containerPorts: readonly ContainerPortMeta[] | undefined;
}

/** Targets grouped by which existing policies select them (and their container ports for ingress). */
function groupTargets(targets: readonly PodMeta[], existing: ExistingPolicy[], direction: Direction, cluster: ClusterView): Group[] {
  const byKey = new Map<string, Group>();
  for (const pod of targets) {
    // Targets are usually few and policies many: matching each target's labels is the cheap way round.
    const indices: number[] = [];
    for (let i = 0; i < existing.length; i++) if (selectorMatches(existing[i]!.policy.spec?.podSelector ?? {}, pod.labels)) indices.push(i);
    const portsKey = direction === 'ingress' && pod.containerPorts !== undefined ? JSON.stringify(pod.containerPorts) : '-';
    const groupKey = `${indices.join(',')}|${portsKey}`;
    let group = byKey.get(groupKey);
    if (group === undefined) {
      const selectedBy = indices.map((i) => existing[i]!);
      for (const e of selectedBy) if (e.rules.length === 0) e.rules = compileRules(e.policy, direction, cluster);
      group = { pods: [], selectedBy, containerPorts: direction === 'ingress' ? pod.containerPorts : undefined };
      byKey.set(groupKey, group);
    }
    group.pods.push(pod);
  }
  return [...byKey.values()];
}

/** The ports `rules` admit from (ingress) or to (egress) `peer`, resolved against `destination`. */
function admittedPorts(rules: readonly CompiledRule[], peer: PodMeta, destination: readonly ContainerPortMeta[] | undefined): PortAllow {
  let out: PortAllow = NO_PORTS;
  for (const rule of rules) if (rule.admitsPod(peer)) out = unionPorts(out, rulePorts(rule.ports, destination));
  return out;
}

const MAX_DESCRIBED_RULES = 4;

/** "198.51.100.0/24 on TCP/5432; pods app=web in namespace shop on any port". */
function describeAccepts(rules: readonly CompiledRule[], targetPorts: readonly ContainerPortMeta[] | undefined, direction: Direction): string {
  if (rules.length === 0) return direction === 'ingress' ? 'no ingress' : 'no egress';
  const parts = rules.slice(0, MAX_DESCRIBED_RULES).map((rule) => `${rule.describePeers()} on ${describePorts(rulePorts(rule.ports, targetPorts))}`);
  if (rules.length > MAX_DESCRIBED_RULES) parts.push(`${rules.length - MAX_DESCRIBED_RULES} more rule(s)`);
  return parts.join('; ');
}

function podKey(pod: PodMeta): string {
  return `${pod.namespace}/${pod.name}`;
}

function podRef(pod: PodMeta): PodRef {
  return { namespace: pod.namespace, name: pod.name };
}

function uniquePods(pods: readonly PodMeta[]): PodMeta[] {
  const seen = new Map<string, PodMeta>();
  for (const pod of pods) if (!seen.has(podKey(pod))) seen.set(podKey(pod), pod);
  return [...seen.values()];
}
