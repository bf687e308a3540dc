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

/** Connections the policy newly allows from each of `peers` to each of `targets` (ingress; reversed for egress). */
export interface PodDelta {
  targets: PodRef[];
  peers: PodRef[];
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
  const groups = groupTargets(targets, existing, direction, namespace, cluster);
  // Every rule that can matter: the policy's own, and those of the policies selecting a target.
  const relevant: CompiledRule[] = [...own];
  for (const group of groups) for (const e of group.selectedBy) for (const rule of e.rules) if (!relevant.includes(rule)) relevant.push(rule);
  const peerClasses = classifyPeers(peerPods, relevant, direction);

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
    const beforeSet = new Set(before);
    for (const peerClass of peerClasses) {
      const destination = direction === 'ingress' ? targetPorts : peerClass.containerPorts;
      let mine: PortAllow = NO_PORTS;
      let theirs: PortAllow = NO_PORTS;
      for (const rule of peerClass.admittedBy) {
        if (own.includes(rule)) mine = unionPorts(mine, rule.portsToward(destination));
        if (beforeSet.has(rule)) theirs = unionPorts(theirs, rule.portsToward(destination));
      }
      const added = subtractPorts(mine, theirs);
      if (isNoPorts(added)) continue;
      podDeltas.push({ targets: refs, peers: peerClass.pods.map(podRef), ports: added });
      podConnections += refs.length * peerClass.pods.length * portCount(added);
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

/**
 * Targets grouped by which existing policies select them (and their container ports for ingress).
 * Each policy's selection is one lookup through the view (indexed in the webhook), so the cost is
 * the pods those policies select, not targets × policies.
 */
function groupTargets(targets: readonly PodMeta[], existing: ExistingPolicy[], direction: Direction, namespace: string, cluster: ClusterView): Group[] {
  const selectedBy = new Map<string, number[]>(targets.map((pod) => [podKey(pod), []]));
  if (targets.length <= FEW_TARGETS) {
    // A few targets: matching their labels directly is cheaper than one lookup per policy.
    for (const pod of targets) {
      const indices = selectedBy.get(podKey(pod))!;
      existing.forEach((e, i) => {
        if (selectorMatches(e.policy.spec?.podSelector ?? {}, pod.labels)) indices.push(i);
      });
    }
  } else {
    existing.forEach((e, i) => {
      for (const pod of cluster.podsMatching(namespace, e.policy.spec?.podSelector ?? {})) selectedBy.get(podKey(pod))?.push(i);
    });
  }
  const byKey = new Map<string, Group>();
  for (const pod of targets) {
    const indices = selectedBy.get(podKey(pod))!;
    const portsKey = direction === 'ingress' && pod.containerPorts !== undefined ? JSON.stringify(pod.containerPorts) : '-';
    const groupKey = `${indices.join(',')}|${portsKey}`;
    let group = byKey.get(groupKey);
    if (group === undefined) {
      const policies = indices.map((i) => existing[i]!);
      for (const e of policies) if (e.rules.length === 0) e.rules = compileRules(e.policy, direction, cluster);
      group = { pods: [], selectedBy: policies, containerPorts: direction === 'ingress' ? pod.containerPorts : undefined };
      byKey.set(groupKey, group);
    }
    group.pods.push(pod);
  }
  return [...byKey.values()];
}

interface PeerClass {
  pods: PodMeta[];
  /** The relevant rules that admit every pod of the class (and no other relevant rule does). */
  admittedBy: CompiledRule[];
  containerPorts: readonly ContainerPortMeta[] | undefined;
}

/**
 * Peer pods grouped by which relevant rules admit them (and, for egress, their container ports,
 * against which named ports resolve): pods of one class are admitted alike before and after.
 * Built from each rule's own peer lookup, so the cost is the pods the rules select.
 */
function classifyPeers(peers: readonly PodMeta[], rules: readonly CompiledRule[], direction: Direction): PeerClass[] {
  const admitting = new Map<string, number[]>(peers.map((pod) => [podKey(pod), []]));
  rules.forEach((rule, i) => {
    if (rule.anyPeer) {
      for (const list of admitting.values()) list.push(i);
      return;
    }
    const seen = new Set<string>();
    for (const pod of rule.peerPods()) {
      const key = podKey(pod);
      if (seen.has(key)) continue;
      seen.add(key);
      admitting.get(key)?.push(i);
    }
  });
  const classes = new Map<string, PeerClass>();
  for (const pod of peers) {
    const indices = admitting.get(podKey(pod))!;
    const portsKey = direction === 'egress' && pod.containerPorts !== undefined ? JSON.stringify(pod.containerPorts) : '-';
    const key = `${indices.join(',')}|${portsKey}`;
    let peerClass = classes.get(key);
    if (peerClass === undefined) {
      peerClass = { pods: [], admittedBy: indices.map((i) => rules[i]!), containerPorts: direction === 'egress' ? pod.containerPorts : undefined };
      classes.set(key, peerClass);
    }
    peerClass.pods.push(pod);
  }
  return [...classes.values()];
}

const MAX_DESCRIBED_RULES = 4;
/** Up to this many targets, groupTargets matches labels directly (measured in bench/effect). */
const FEW_TARGETS = 64;

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
