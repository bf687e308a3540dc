import type { RuleId } from '../policy/ruleIds.js';

/**
 * Human descriptions of every rule, for SARIF's reportingDescriptor (code-scanning UIs show them
 * next to each result). The rule logic lives in src/policy; this is documentation only.
 */
export interface RuleDescription {
  short: string;
  full: string;
  help: string;
}

export const RULE_CATALOG: Record<RuleId | 'invalid-manifest', RuleDescription> = {
  'ipblock-all-addresses': {
    short: 'ipBlock allows every address',
    full: 'An ipBlock of 0.0.0.0/0 or ::/0 (or ::ffff:0.0.0.0/96), or several ipBlocks of one rule that together cover a whole address family, opens the pods to the entire internet and every internal network. An except list does not make it narrow.',
    help: 'Replace the block with the specific ranges the workload talks to, each at most as wide as the configured minimum prefix length.',
  },
  'ipblock-too-wide': {
    short: 'ipBlock is wider than allowed',
    full: 'The ipBlock prefix is shorter than the configured minimum (by default /16 for IPv4, /48 for IPv6), so it covers far more addresses than one service needs.',
    help: 'Use a longer prefix that covers only the peer, e.g. 10.20.0.0/16 instead of 10.0.0.0/8.',
  },
  'ipblock-total-too-wide': {
    short: 'ipBlocks together admit too many addresses',
    full: 'The ipBlocks of one direction, each within the minimum prefix length, together admit more addresses of one family than one block of that prefix (by default one /16 of IPv4, one /48 of IPv6): the same opening as one wide block, written in pieces. Counted exactly: each cidr minus its excepts, unioned across every peer of every rule; IPv4-mapped IPv6 counts as IPv4. Blocks that ipblock-too-wide or ipblock-all-addresses report are not counted again.',
    help: 'List only the ranges the workload talks to, together at most one block of the minimum prefix length.',
  },
  'ipblock-forbidden': {
    short: 'ipBlock admits a forbidden address',
    full: 'The ipBlock admits an address of limits.forbiddenCIDRs that its except list does not remove. By default these are the cloud instance-metadata endpoints 169.254.169.254/32 and fd00:ec2::254/128, where pod credentials are stolen from; platform teams add their control-plane or on-prem ranges.',
    help: 'Add the forbidden range to the ipBlock\'s except list, or narrow the cidr so it does not contain it.',
  },
  'namespace-selector-all': {
    short: 'namespaceSelector matches every namespace',
    full: 'An empty namespaceSelector ({}) in a peer selects every namespace in the cluster, including ones created later. So does one whose requirements only exclude (DoesNotExist, NotIn) or only ask for kubernetes.io/metadata.name, which every namespace carries: it matches every namespace without one label.',
    help: 'Select the peer namespace by label, e.g. matchLabels: {kubernetes.io/metadata.name: payments}.',
  },
  'pod-selector-all-peer': {
    short: 'peer podSelector matches every pod in the namespace',
    full: 'An empty podSelector ({}) as a peer, without a namespaceSelector, selects every pod in the policy namespace. So does one whose requirements only exclude (DoesNotExist, NotIn): it matches every pod without one label.',
    help: 'Select the peer pods by label, e.g. matchLabels: {app: api}.',
  },
  'target-all-pods': {
    short: 'spec.podSelector targets every pod',
    full: 'An empty spec.podSelector applies the access this policy grants to every pod in the namespace, not only the workload that needs it. So does one whose requirements only exclude (DoesNotExist, NotIn).',
    help: 'Select the pods that need the access with matchLabels, e.g. app: database.',
  },
  'peer-any': {
    short: 'rule allows every peer',
    full: 'A rule without from/to (or with an empty list) matches every source or destination: all pods in all namespaces and all IP addresses.',
    help: 'List the allowed peers with podSelector, namespaceSelector or a narrow ipBlock.',
  },
  'port-any': {
    short: 'rule allows every port',
    full: 'A rule without ports (or a port entry with only a protocol) allows every port of that protocol.',
    help: 'List the ports the workload uses, e.g. {protocol: TCP, port: 5432}.',
  },
  'port-range-too-wide': {
    short: 'port range is wider than allowed',
    full: 'A port..endPort range spans more ports than the configured maximum (by default 100).',
    help: 'List the ports needed, or keep the range within the configured maximum.',
  },
  'ports-total-too-wide': {
    short: 'ports together open too many ports',
    full: 'The single ports and port ranges of one direction and protocol, each within the limit, together open more ports than the configured maximum (by default 100): the same opening as one wide range, written in pieces. Each distinct named port counts as one port.',
    help: 'List only the ports the workload uses, together at most the configured maximum per protocol.',
  },
  'expiry-missing': {
    short: 'grant has no expiry',
    full: 'A policy that grants access must carry a ttl or expires-at annotation so the sweeper removes it when the work is done.',
    help: 'Add the annotation netpol-guard.io/ttl: "2h" (within the configured maximum TTL).',
  },
  'expiry-invalid': {
    short: 'expiry annotation cannot be read',
    full: 'The ttl annotation is not a duration like 90m, 2h or 1h30m, or the expires-at annotation is not an RFC 3339 UTC timestamp.',
    help: 'Write the ttl as <number><unit> groups (s, m, h, d) or expires-at like 2026-11-23T18:00:00Z.',
  },
  'expiry-in-past': {
    short: 'expiry is not in the future',
    full: 'The grant would expire at or before the time it is admitted.',
    help: 'Set a ttl for the time still needed, e.g. "1h".',
  },
  'expiry-too-far': {
    short: 'expiry is beyond the maximum TTL',
    full: 'The grant would live longer than the configured maximum TTL (by default 24h).',
    help: 'Request at most the maximum TTL and extend the grant later if the work takes longer.',
  },
  'lifetime-exceeded': {
    short: 'extension exceeds the maximum lifetime',
    full: 'An update moves the expiry further than the configured maximum lifetime (by default 72h) from when the grant was first made.',
    help: 'Let the grant expire and request a new one under a new ticket.',
  },
  'ticket-missing': {
    short: 'grant names no ticket',
    full: 'Every grant must name the change or incident that justifies it in the ticket annotation.',
    help: 'Add the annotation netpol-guard.io/ticket: "INC-1234".',
  },
  'ticket-invalid': {
    short: 'ticket does not match the ticket pattern',
    full: 'The ticket annotation does not match the configured ticket pattern (by default a Jira-style key).',
    help: 'Use the ticket key, e.g. INC-1234.',
  },
  'invalid-manifest': {
    short: 'document is not a valid NetworkPolicy',
    full: 'The document is not valid YAML, or does not match the networking.k8s.io/v1 NetworkPolicy schema (unknown fields, wrong types, malformed CIDRs), so the API server would reject it.',
    help: 'Fix the reported field; netpol-guard evaluates only what the API server would store.',
  },
};
