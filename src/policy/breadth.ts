import type {
  V1LabelSelector,
  V1NetworkPolicy,
  V1NetworkPolicyPeer,
  V1NetworkPolicyPort,
} from '@kubernetes/client-node';
import type { GuardConfig } from '../config/types.js';
import { admittedRanges } from './addressSet.js';
import { type Cidr, formatFamily, parseCidr, unionCoversAll } from './cidr.js';
import { AddressTotals, forbiddenRangeAdmitted, PortTotals } from './openedTotals.js';
import type { BreadthRuleId } from './ruleIds.js';
import { effectivelyAllReason, selectorEffect } from './selectorEffect.js';

/** A breadth problem before config decides its action. */
export interface RawFinding<Id extends string = BreadthRuleId> {
  ruleId: Id;
  path: string;
  reason: string;
  hint: string;
}

export type Direction = 'ingress' | 'egress';

/**
 * Kubernetes' defaulting of spec.policyTypes: explicit types win; otherwise Ingress always, and
 * Egress when egress rules are present. Rules of a direction not in effect are ignored by the
 * cluster, so they are ignored here too.
 */
export function effectivePolicyTypes(policy: V1NetworkPolicy): Set<Direction> {
  return new Set(directionsInEffect(policy));
}

/** effectivePolicyTypes as a plain list in the same order; the engine's per-request form. */
function directionsInEffect(policy: V1NetworkPolicy): Direction[] {
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

export function isEmptySelector(selector: V1LabelSelector | null | undefined): boolean {
  if (!selector) return true;
  const labels = selector.matchLabels ? Object.keys(selector.matchLabels).length : 0;
  const expressions = selector.matchExpressions?.length ?? 0;
  return labels === 0 && expressions === 0;
}

/**
 * Breadth findings for an access-granting policy. This runs per admission request over every
 * rule, peer and port, so paths (the only per-item strings) are built only for a finding.
 */
export function breadthFindings(policy: V1NetworkPolicy, config: GuardConfig): RawFinding[] {
  const findings: RawFinding[] = [];
  const target = selectorEffect(policy.spec?.podSelector, 'pod');
  if (target.selectsAll) {
    findings.push({
      ruleId: 'target-all-pods',
      path: 'spec.podSelector',
      reason: target.why === '' ? 'is empty, so the grant applies to every pod in the namespace' : `${effectivelyAllReason('pod', target.why)}, so the grant applies to every pod in the namespace`,
      hint: 'select only the pods that need the access with matchLabels, e.g. app: database',
    });
  }
  const totals: Totals = { addresses: new AddressTotals(), ports: new PortTotals() };
  for (const direction of directionsInEffect(policy)) {
    const rules = policy.spec?.[direction] ?? [];
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      peerFindings(findings, direction, i, rulePeers(rule, direction), config, totals.addresses);
      portFindings(findings, direction, i, rule.ports, config, totals.ports);
    }
  }
  const minPrefix = { 4: config.limits.minIPv4PrefixLength, 6: config.limits.minIPv6PrefixLength };
  for (const f of totals.addresses.findings(minPrefix)) findings.push(f);
  for (const f of totals.ports.findings(config.limits.maxPortRange)) findings.push(f);
  return findings;
}

interface Totals {
  addresses: AddressTotals;
  ports: PortTotals;
}

/** `spec.ingress[0].from`: where a rule's peers are. */
function peersPath(direction: Direction, ruleIndex: number): string {
  return `spec.${direction}[${ruleIndex}].${direction === 'ingress' ? 'from' : 'to'}`;
}

/** `spec.ingress[0].from[1]`: one peer. */
function peerPath(direction: Direction, ruleIndex: number, peerIndex: number): string {
  return `${peersPath(direction, ruleIndex)}[${peerIndex}]`;
}

/** `spec.ingress[0].ports`: where a rule's ports are. */
function portsPath(direction: Direction, ruleIndex: number): string {
  return `spec.${direction}[${ruleIndex}].ports`;
}

function peerFindings(
  out: RawFinding[],
  direction: Direction,
  ruleIndex: number,
  peers: V1NetworkPolicyPeer[] | null | undefined,
  config: GuardConfig,
  totals: AddressTotals,
): void {
  const party = direction === 'ingress' ? 'source' : 'destination';
  if (!peers || peers.length === 0) {
    out.push({
      ruleId: 'peer-any',
      path: peersPath(direction, ruleIndex),
      reason: `is ${peers ? 'empty' : 'missing'}, which Kubernetes reads as every ${party} (all pods, all namespaces, all addresses)`,
      hint: `list the allowed ${party}s with podSelector, namespaceSelector or a narrow ipBlock`,
    });
    return;
  }
  const blocks: Cidr[] = [];
  for (let j = 0; j < peers.length; j++) {
    const peer = peers[j]!;
    if (peer.ipBlock) {
      const parsed = parseCidr(String(peer.ipBlock.cidr));
      if (!parsed.ok) continue; // structural validation reports malformed CIDRs
      const cidr = parsed.cidr;
      blocks.push(cidr);
      const minPrefix = cidr.family === 4 ? config.limits.minIPv4PrefixLength : config.limits.minIPv6PrefixLength;
      // A block its own width rule reports below is reported once, by that rule: neither counted
      // in the totals nor checked for forbidden ranges (see openedTotals.ts).
      if (cidr.prefix >= minPrefix && cidr.prefix > 0) {
        const admitted = admittedRanges(cidr, parsedExcepts(peer.ipBlock.except));
        const forbidden = forbiddenRangeAdmitted(admitted, cidr.family, config.limits.forbiddenCIDRs);
        if (forbidden !== undefined) {
          out.push({
            ruleId: 'ipblock-forbidden',
            path: `${peerPath(direction, ruleIndex, j)}.ipBlock.cidr`,
            reason: `${peer.ipBlock.cidr} admits ${forbidden.text}, which limits.forbiddenCIDRs forbids`,
            hint: `add ${forbidden.text} to except, or narrow the cidr to the ${party} range`,
          });
        }
        totals.add(direction, ruleIndex, cidr.family, admitted);
      }
      if (cidr.prefix === 0) {
        out.push({
          ruleId: 'ipblock-all-addresses',
          path: `${peerPath(direction, ruleIndex, j)}.ipBlock.cidr`,
          reason: `${peer.ipBlock.cidr} allows every ${formatFamily(cidr.family)} address${peer.ipBlock.except?.length ? ' (except does not make it narrow)' : ''}`,
          hint: `narrow it to the ${party} range, at most /${minPrefix} wide`,
        });
      } else if (cidr.prefix < minPrefix) {
        out.push({
          ruleId: 'ipblock-too-wide',
          path: `${peerPath(direction, ruleIndex, j)}.ipBlock.cidr`,
          reason: `${peer.ipBlock.cidr} is a /${cidr.prefix}${cidr.mapped ? ' (IPv4-mapped)' : ''}, wider than the allowed ${formatFamily(cidr.family)} /${minPrefix}`,
          hint: `use a prefix of /${minPrefix} or longer that covers only the ${party}`,
        });
      }
      continue;
    }
    const namespaces = peer.namespaceSelector ? selectorEffect(peer.namespaceSelector, 'namespace') : undefined;
    if (namespaces?.selectsAll) {
      out.push({
        ruleId: 'namespace-selector-all',
        path: `${peerPath(direction, ruleIndex, j)}.namespaceSelector`,
        reason: namespaces.why === '' ? 'is empty, so it matches every namespace in the cluster' : effectivelyAllReason('namespace', namespaces.why),
        hint: 'select the namespace, e.g. matchLabels: {kubernetes.io/metadata.name: payments}',
      });
      continue;
    }
    const pods = !peer.namespaceSelector && peer.podSelector ? selectorEffect(peer.podSelector, 'pod') : undefined;
    if (pods?.selectsAll) {
      out.push({
        ruleId: 'pod-selector-all-peer',
        path: `${peerPath(direction, ruleIndex, j)}.podSelector`,
        reason: pods.why === '' ? 'is empty, so it matches every pod in the namespace' : `${effectivelyAllReason('pod', pods.why)} in the namespace`,
        hint: `select the ${party} pods with matchLabels, e.g. app: api`,
      });
    }
  }
  if (blocks.length === 0) return;
  for (const family of [4, 6] as const) {
    // A /0 of this family was reported above already; the union adds nothing to say.
    const wholeFamilyReported = blocks.some((c) => c.family === family && c.prefix === 0);
    if (!wholeFamilyReported && unionCoversAll(blocks, family)) {
      out.push({
        ruleId: 'ipblock-all-addresses',
        path: peersPath(direction, ruleIndex),
        reason: `the ipBlocks together cover every ${formatFamily(family)} address`,
        hint: `keep only the ${party} ranges that are needed`,
      });
    }
  }
}

function portFindings(
  out: RawFinding[],
  direction: Direction,
  ruleIndex: number,
  ports: V1NetworkPolicyPort[] | null | undefined,
  config: GuardConfig,
  totals: PortTotals,
): void {
  if (!ports || ports.length === 0) {
    out.push({
      ruleId: 'port-any',
      path: portsPath(direction, ruleIndex),
      reason: `is ${ports ? 'empty' : 'missing'}, which allows every port and protocol`,
      hint: 'list the ports needed, e.g. - {protocol: TCP, port: 5432}',
    });
    return;
  }
  for (let k = 0; k < ports.length; k++) {
    const port = ports[k]!;
    if (port.port === undefined || port.port === null || port.port === '') {
      out.push({
        ruleId: 'port-any',
        path: `${portsPath(direction, ruleIndex)}[${k}].port`,
        reason: `is missing, which allows every ${port.protocol ?? 'TCP'} port`,
        hint: 'set the port number (or a named port)',
      });
      continue;
    }
    const protocol = port.protocol ?? 'TCP';
    if (typeof port.port === 'string') {
      totals.addName(direction, ruleIndex, protocol, port.port);
      continue;
    }
    const last = typeof port.endPort === 'number' ? port.endPort : port.port;
    const width = last - port.port + 1;
    if (width > config.limits.maxPortRange) {
      out.push({
        ruleId: 'port-range-too-wide',
        path: `${portsPath(direction, ruleIndex)}[${k}].endPort`,
        reason: `${port.port}-${last} spans ${width} ports, more than the allowed ${config.limits.maxPortRange}`,
        hint: `list the ports needed or keep the range within ${config.limits.maxPortRange} ports`,
      });
      continue; // reported by its own rule, not counted again in the total
    }
    totals.addSpan(direction, ruleIndex, protocol, port.port, last);
  }
}

/** The excepts of an ipBlock that parse (structural validation reports the others). */
function parsedExcepts(except: readonly string[] | null | undefined): Cidr[] {
  if (!except || except.length === 0) return [];
  const out: Cidr[] = [];
  for (const text of except) {
    const parsed = parseCidr(String(text));
    if (parsed.ok) out.push(parsed.cidr);
  }
  return out;
}

/**
 * Peers of a rule. The engine works on wire-format JSON (`from`), but objects deserialized by
 * @kubernetes/client-node carry the model's `_from`; accept both so every caller gets one answer.
 */
export function rulePeers(rule: object, direction: Direction): V1NetworkPolicyPeer[] | null | undefined {
  const r = rule as { from?: V1NetworkPolicyPeer[]; _from?: V1NetworkPolicyPeer[]; to?: V1NetworkPolicyPeer[] };
  return direction === 'ingress' ? (r.from ?? r._from) : r.to;
}
