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
import { type CombinedEffect, combinedEffect, type GrantIdentity } from './combined.js';
import { unboundedMeter, WorkBudgetExceeded, WorkMeter } from './workMeter.js';

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
  /**
   * This policy together with the other live grants of the namespace that share its requester or
   * its ticket (present only when `grant` was given and there are such grants): what the blast
   * radius limits apply to, so a wide grant cut into several small ones is judged as a whole.
   */
  combined?: CombinedEffect;
}

export interface EffectInput {
  policy: V1NetworkPolicy;
  /** Namespace of the request (the policy's metadata.namespace may be empty on CREATE). */
  namespace: string;
  cluster: ClusterView;
  /** Counts the analysis's work; unbounded when absent (see analyzeEffectWithin for the capped form). */
  meter?: WorkMeter;
  /** Who asked for the policy and under which ticket, to combine it with their other live grants. */
  grant?: GrantIdentity;
}

/** The analysis under a work budget: its result, or that it was too large to finish. */
export type BoundedEffect =
  | { finished: true; effect: PolicyEffect; spent: number }
  | { finished: false; budget: number; stage: string; policies: number };

/**
 * analyzeEffect within `budget` steps (see WorkMeter). Deterministic: the same input is over the
 * budget on every replica, and below it the result is exactly analyzeEffect's.
 */
export function analyzeEffectWithin(input: Omit<EffectInput, 'meter'>, budget: number): BoundedEffect {
  const meter = new WorkMeter(budget);
  try {
    const effect = analyzeEffect({ ...input, meter });
    return { finished: true, effect, spent: meter.spent };
  } catch (error) {
    if (!(error instanceof WorkBudgetExceeded)) throw error;
    return { finished: false, budget, stage: error.stage, policies: input.cluster.policiesIn(input.namespace).length };
  }
}

const ALL_OF: Record<Direction, string> = { ingress: 'all ingress', egress: 'all egress' };

export function analyzeEffect(input: EffectInput): PolicyEffect {
  const { cluster, namespace } = input;
  const meter = input.meter ?? unboundedMeter();
  // The policy as stored in its namespace; on CREATE metadata.namespace may be missing.
  const policy: V1NetworkPolicy = { ...input.policy, metadata: { ...input.policy.metadata, namespace } };
  const name = policy.metadata?.name ?? policy.metadata?.generateName ?? '<unnamed>';
  // The stored version of this policy (UPDATE) is replaced by it, so it is not one of the others.
  const stored = cluster.policiesIn(namespace);
  meter.charge(stored.length, 'policies of the namespace');
  const others = stored.filter((p) => p.metadata?.name !== policy.metadata?.name || policy.metadata?.name === undefined);
  const directions = directionsInEffect(policy).map((direction) => analyzeDirection(policy, others, direction, namespace, cluster, meter));
  const effect: PolicyEffect = { namespace, policyName: name, directions };
  if (input.grant !== undefined) {
    const combined = combinedEffect(effect, others, input.grant, cluster, meter);
    if (combined !== undefined) effect.combined = combined;
  }
  return effect;
}

interface ExistingPolicy {
  name: string;
  policy: V1NetworkPolicy;
  rules: CompiledRule[];
}

function analyzeDirection(
  policy: V1NetworkPolicy,
  others: readonly V1NetworkPolicy[],
  direction: Direction,
  namespace: string,
  cluster: ClusterView,
  meter: WorkMeter,
): DirectionEffect {
  const own = compileRules(policy, direction, cluster, meter);
  const ownSet = new Set(own);
  const existing: ExistingPolicy[] = [];
  for (const other of others) {
    if (!directionsInEffect(other).includes(direction)) continue;
    existing.push({ name: other.metadata?.name ?? '<unnamed>', policy: other, rules: [] });
  }
  const selected = cluster.podsMatching(namespace, policy.spec?.podSelector ?? {});
  meter.charge(1 + selected.length, 'target pods');
  const targets = livePods(selected);
  const ownPeers = own.flatMap((rule) => rule.peerPods());
  meter.charge(ownPeers.length, 'peer pods');
  const peerPods = uniquePods(ownPeers);
  const groups = groupTargets(targets, existing, direction, namespace, cluster, meter);
  // Every rule that can matter: the policy's own, and those of the policies selecting a target.
  const relevant: CompiledRule[] = [...own];
  const relevantSet = new Set(own);
  for (const group of groups) {
    meter.charge(1 + group.selectedBy.length, 'relevant rules');
    for (const e of group.selectedBy) {
      meter.charge(e.rules.length, 'relevant rules');
      for (const rule of e.rules) {
        if (relevantSet.has(rule)) continue;
        relevantSet.add(rule);
        relevant.push(rule);
      }
    }
  }
  const peerClasses = classifyPeers(peerPods, relevant, direction, meter);

  const groupViews: TargetGroup[] = [];
  const newlyIsolated: PodRef[] = [];
  const podDeltas: PodDelta[] = [];
  const addressDeltas: AddressDelta[] = [];
  let podConnections = 0;
  let addressConnections = 0n;
  for (const group of groups) {
    const refs = group.pods.map(podRef);
    const before = group.selectedBy.flatMap((e) => e.rules);
    meter.charge(1 + refs.length + before.length, 'target groups');
    const targetPorts = direction === 'ingress' ? group.containerPorts : undefined;
    const isolated = group.selectedBy.length > 0;
    if (!isolated) newlyIsolated.push(...refs);
    groupViews.push({
      pods: refs,
      selectedBy: group.selectedBy.map((e) => e.name),
      acceptsBefore: isolated ? describeAccepts(before, targetPorts, direction, meter) : ALL_OF[direction],
      acceptsAfter: isolated ? describeAccepts([...before, ...own], targetPorts, direction, meter) : `only ${describeAccepts(own, targetPorts, direction, meter)}`,
    });
    // A pod that accepts everything today gains nothing from the grant (it only loses).
    if (!isolated) continue;
    const beforeSet = new Set(before);
    for (const peerClass of peerClasses) {
      const destination = direction === 'ingress' ? targetPorts : peerClass.containerPorts;
      meter.charge(4 + peerClass.portEntries * (1 + (destination?.length ?? 0)), 'target groups × peer classes');
      let mine: PortAllow = NO_PORTS;
      let theirs: PortAllow = NO_PORTS;
      for (const rule of peerClass.admittedBy) {
        if (ownSet.has(rule)) mine = unionPorts(mine, rule.portsToward(destination));
        if (beforeSet.has(rule)) theirs = unionPorts(theirs, rule.portsToward(destination));
      }
      const added = subtractPorts(mine, theirs);
      if (isNoPorts(added)) continue;
      meter.charge(peerClass.pods.length, 'target groups × peer classes');
      podDeltas.push({ targets: refs, peers: peerClass.pods.map(podRef), ports: added });
      podConnections += refs.length * peerClass.pods.length * portCount(added);
    }
    for (const piece of addressDelta(own, before, targetPorts, meter)) {
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
function groupTargets(targets: readonly PodMeta[], existing: ExistingPolicy[], direction: Direction, namespace: string, cluster: ClusterView, meter: WorkMeter): Group[] {
  const selectedBy = new Map<string, number[]>(targets.map((pod) => [podKey(pod), []]));
  if (targets.length <= FEW_TARGETS) {
    meter.charge(targets.length * existing.length, 'policies selecting the targets');
    // A few targets: matching their labels directly is cheaper than one lookup per policy.
    for (const pod of targets) {
      const indices = selectedBy.get(podKey(pod))!;
      existing.forEach((e, i) => {
        if (selectorMatches(e.policy.spec?.podSelector ?? {}, pod.labels)) indices.push(i);
      });
    }
  } else {
    existing.forEach((e, i) => {
      const pods = cluster.podsMatching(namespace, e.policy.spec?.podSelector ?? {});
      meter.charge(1 + pods.length, 'policies selecting the targets');
      for (const pod of pods) selectedBy.get(podKey(pod))?.push(i);
    });
  }
  const byKey = new Map<string, Group>();
  for (const pod of targets) {
    const indices = selectedBy.get(podKey(pod))!;
    meter.charge(1 + indices.length + (pod.containerPorts?.length ?? 0), 'grouping targets');
    const portsKey = direction === 'ingress' && pod.containerPorts !== undefined ? JSON.stringify(pod.containerPorts) : '-';
    const groupKey = `${indices.join(',')}|${portsKey}`;
    let group = byKey.get(groupKey);
    if (group === undefined) {
      const policies = indices.map((i) => existing[i]!);
      for (const e of policies) if (e.rules.length === 0) e.rules = compileRules(e.policy, direction, cluster, meter);
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
  /** Σ over admittedBy of 1 + its port entries: the work of resolving and merging their ports once. */
  portEntries: number;
}

/**
 * Peer pods grouped by which relevant rules admit them (and, for egress, their container ports,
 * against which named ports resolve): pods of one class are admitted alike before and after.
 * Built from each rule's own peer lookup, so the cost is the pods the rules select.
 */
function classifyPeers(peers: readonly PodMeta[], rules: readonly CompiledRule[], direction: Direction, meter: WorkMeter): PeerClass[] {
  meter.charge(peers.length, 'classifying peers');
  const admitting = new Map<string, number[]>(peers.map((pod) => [podKey(pod), []]));
  rules.forEach((rule, i) => {
    if (rule.anyPeer) {
      meter.charge(peers.length, 'classifying peers');
      for (const list of admitting.values()) list.push(i);
      return;
    }
    const seen = new Set<string>();
    const admitted = rule.peerPods();
    meter.charge(admitted.length, 'classifying peers');
    for (const pod of admitted) {
      const key = podKey(pod);
      if (seen.has(key)) continue;
      seen.add(key);
      admitting.get(key)?.push(i);
    }
  });
  const classes = new Map<string, PeerClass>();
  for (const pod of peers) {
    const indices = admitting.get(podKey(pod))!;
    meter.charge(1 + indices.length + (pod.containerPorts?.length ?? 0), 'classifying peers');
    const portsKey = direction === 'egress' && pod.containerPorts !== undefined ? JSON.stringify(pod.containerPorts) : '-';
    const key = `${indices.join(',')}|${portsKey}`;
    let peerClass = classes.get(key);
    if (peerClass === undefined) {
      const admittedBy = indices.map((i) => rules[i]!);
      let portEntries = 0;
      for (const rule of admittedBy) portEntries += 1 + (rule.ports?.length ?? 0);
      peerClass = { pods: [], admittedBy, containerPorts: direction === 'egress' ? pod.containerPorts : undefined, portEntries };
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
function describeAccepts(rules: readonly CompiledRule[], targetPorts: readonly ContainerPortMeta[] | undefined, direction: Direction, meter: WorkMeter): string {
  if (rules.length === 0) return direction === 'ingress' ? 'no ingress' : 'no egress';
  const described = rules.slice(0, MAX_DESCRIBED_RULES);
  // Once per target group: a described rule may have many ports (and peers), each resolved and written out.
  for (const rule of described) {
    meter.charge(1 + rule.podPeers.length + rule.ipBlocks.length + (rule.ports?.length ?? 0) * (1 + (targetPorts?.length ?? 0)), 'describing what targets accept');
  }
  const parts = described.map((rule) => `${rule.describePeers()} on ${describePorts(rulePorts(rule.ports, targetPorts))}`);
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
