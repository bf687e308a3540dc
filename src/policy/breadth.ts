import type {
  V1LabelSelector,
  V1NetworkPolicy,
  V1NetworkPolicyPeer,
  V1NetworkPolicyPort,
} from '@kubernetes/client-node';
import type { GuardConfig } from '../config/types.js';
import { type Cidr, formatFamily, type IpFamily, parseCidr, unionCoversAll } from './cidr.js';
import type { BreadthRuleId } from './ruleIds.js';

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
  const explicit = policy.spec?.policyTypes;
  if (Array.isArray(explicit) && explicit.length > 0) {
    const out = new Set<Direction>();
    for (const t of explicit) {
      if (t === 'Ingress') out.add('ingress');
      if (t === 'Egress') out.add('egress');
    }
    return out;
  }
  const out = new Set<Direction>(['ingress']);
  if (Array.isArray(policy.spec?.egress) && policy.spec.egress.length > 0) out.add('egress');
  return out;
}

/** A policy grants access when a direction in effect has at least one rule (else it only isolates). */
export function grantsAccess(policy: V1NetworkPolicy): boolean {
  for (const direction of effectivePolicyTypes(policy)) {
    const rules = policy.spec?.[direction];
    if (Array.isArray(rules) && rules.length > 0) return true;
  }
  return false;
}

export function isEmptySelector(selector: V1LabelSelector | undefined): boolean {
  if (!selector) return true;
  const labels = selector.matchLabels ? Object.keys(selector.matchLabels).length : 0;
  const expressions = selector.matchExpressions?.length ?? 0;
  return labels === 0 && expressions === 0;
}

/** Breadth findings for an access-granting policy. */
export function breadthFindings(policy: V1NetworkPolicy, config: GuardConfig): RawFinding[] {
  const findings: RawFinding[] = [];
  if (isEmptySelector(policy.spec?.podSelector)) {
    findings.push({
      ruleId: 'target-all-pods',
      path: 'spec.podSelector',
      reason: 'is empty, so the grant applies to every pod in the namespace',
      hint: 'select only the pods that need the access with matchLabels, e.g. app: database',
    });
  }
  for (const direction of effectivePolicyTypes(policy)) {
    const rules = policy.spec?.[direction] ?? [];
    rules.forEach((rule, i) => {
      const base = `spec.${direction}[${i}]`;
      const peersKey = direction === 'ingress' ? 'from' : 'to';
      const peers = rulePeers(rule, direction);
      peerFindings(findings, `${base}.${peersKey}`, peers, direction, config);
      portFindings(findings, `${base}.ports`, rule.ports, config);
    });
  }
  return findings;
}

function peerFindings(
  out: RawFinding[],
  path: string,
  peers: V1NetworkPolicyPeer[] | undefined,
  direction: Direction,
  config: GuardConfig,
): void {
  const party = direction === 'ingress' ? 'source' : 'destination';
  if (!peers || peers.length === 0) {
    out.push({
      ruleId: 'peer-any',
      path,
      reason: `is ${peers ? 'empty' : 'missing'}, which Kubernetes reads as every ${party} (all pods, all namespaces, all addresses)`,
      hint: `list the allowed ${party}s with podSelector, namespaceSelector or a narrow ipBlock`,
    });
    return;
  }
  const blocks: Cidr[] = [];
  const wholeFamilyReported = new Set<IpFamily>();
  peers.forEach((peer, j) => {
    const peerPath = `${path}[${j}]`;
    if (peer.ipBlock) {
      const cidrPath = `${peerPath}.ipBlock.cidr`;
      const parsed = parseCidr(String(peer.ipBlock.cidr));
      if (!parsed.ok) return; // structural validation reports malformed CIDRs
      const cidr = parsed.cidr;
      blocks.push(cidr);
      const family = formatFamily(cidr.family);
      const minPrefix = cidr.family === 4 ? config.limits.minIPv4PrefixLength : config.limits.minIPv6PrefixLength;
      if (cidr.prefix === 0) {
        wholeFamilyReported.add(cidr.family);
        out.push({
          ruleId: 'ipblock-all-addresses',
          path: cidrPath,
          reason: `${peer.ipBlock.cidr} allows every ${family} address${peer.ipBlock.except?.length ? ' (except does not make it narrow)' : ''}`,
          hint: `narrow it to the ${party} range, at most /${minPrefix} wide`,
        });
      } else if (cidr.prefix < minPrefix) {
        out.push({
          ruleId: 'ipblock-too-wide',
          path: cidrPath,
          reason: `${peer.ipBlock.cidr} is a /${cidr.prefix}${cidr.mapped ? ' (IPv4-mapped)' : ''}, wider than the allowed ${family} /${minPrefix}`,
          hint: `use a prefix of /${minPrefix} or longer that covers only the ${party}`,
        });
      }
      return;
    }
    if (peer.namespaceSelector && isEmptySelector(peer.namespaceSelector)) {
      out.push({
        ruleId: 'namespace-selector-all',
        path: `${peerPath}.namespaceSelector`,
        reason: 'is empty, so it matches every namespace in the cluster',
        hint: 'select the namespace, e.g. matchLabels: {kubernetes.io/metadata.name: payments}',
      });
      return;
    }
    if (!peer.namespaceSelector && peer.podSelector && isEmptySelector(peer.podSelector)) {
      out.push({
        ruleId: 'pod-selector-all-peer',
        path: `${peerPath}.podSelector`,
        reason: 'is empty, so it matches every pod in the namespace',
        hint: `select the ${party} pods with matchLabels, e.g. app: api`,
      });
    }
  });
  for (const family of [4, 6] as const) {
    if (!wholeFamilyReported.has(family) && unionCoversAll(blocks, family)) {
      out.push({
        ruleId: 'ipblock-all-addresses',
        path,
        reason: `the ipBlocks together cover every ${formatFamily(family)} address`,
        hint: `keep only the ${party} ranges that are needed`,
      });
    }
  }
}

function portFindings(out: RawFinding[], path: string, ports: V1NetworkPolicyPort[] | undefined, config: GuardConfig): void {
  if (!ports || ports.length === 0) {
    out.push({
      ruleId: 'port-any',
      path,
      reason: `is ${ports ? 'empty' : 'missing'}, which allows every port and protocol`,
      hint: 'list the ports needed, e.g. - {protocol: TCP, port: 5432}',
    });
    return;
  }
  ports.forEach((port, k) => {
    const portPath = `${path}[${k}]`;
    if (port.port === undefined || port.port === null || port.port === '') {
      out.push({
        ruleId: 'port-any',
        path: `${portPath}.port`,
        reason: `is missing, which allows every ${port.protocol ?? 'TCP'} port`,
        hint: 'set the port number (or a named port)',
      });
      return;
    }
    if (typeof port.port === 'number' && typeof port.endPort === 'number') {
      const width = port.endPort - port.port + 1;
      if (width > config.limits.maxPortRange) {
        out.push({
          ruleId: 'port-range-too-wide',
          path: `${portPath}.endPort`,
          reason: `${port.port}-${port.endPort} spans ${width} ports, more than the allowed ${config.limits.maxPortRange}`,
          hint: `list the ports needed or keep the range within ${config.limits.maxPortRange} ports`,
        });
      }
    }
  });
}

/**
 * Peers of a rule. The engine works on wire-format JSON (`from`), but objects deserialized by
 * @kubernetes/client-node carry the model's `_from`; accept both so every caller gets one answer.
 */
export function rulePeers(rule: object, direction: Direction): V1NetworkPolicyPeer[] | undefined {
  const r = rule as { from?: V1NetworkPolicyPeer[]; _from?: V1NetworkPolicyPeer[]; to?: V1NetworkPolicyPeer[] };
  return direction === 'ingress' ? (r.from ?? r._from) : r.to;
}
