/**
 * Builders for engine tests: a config from a partial file, policies from a spec, and an
 * evaluation with a fixed clock and an ordinary user unless told otherwise.
 */
import assert from 'node:assert/strict';
import type {
  V1NetworkPolicy,
  V1NetworkPolicyEgressRule,
  V1NetworkPolicyPeer,
  V1NetworkPolicyPort,
  V1NetworkPolicySpec,
} from '@kubernetes/client-node';
import { buildConfig } from '../../../src/config/load.js';
import type { ConfigFile, GuardConfig } from '../../../src/config/types.js';
import { type Evaluation, type EvaluationInput, evaluatePolicy, type RequestUser } from '../../../src/policy/evaluate.js';
import type { Finding } from '../../../src/policy/findings.js';

export const NOW = new Date('2026-11-23T18:00:00Z');
export const HOUR = 3_600_000;
export const ORDINARY_USER: RequestUser = { username: 'dev@example.com', groups: ['system:authenticated', 'team-payments'] };

export const TTL = 'netpol-guard.io/ttl';
export const EXPIRES_AT = 'netpol-guard.io/expires-at';
export const TICKET = 'netpol-guard.io/ticket';
export const GRANTED_AT = 'netpol-guard.io/granted-at';

/** Annotations that satisfy every lifecycle rule under the default config. */
export const GOOD_GRANT: Record<string, string> = { [TTL]: '2h', [TICKET]: 'INC-1234' };

export function config(file: ConfigFile = {}): GuardConfig {
  const result = buildConfig(file, 'test');
  if (!result.ok) assert.fail(`test config is invalid: ${result.errors.join('; ')}`);
  return result.config;
}

/**
 * The client library's model names the ingress peers `_from` (a TypeScript-side rename); on the
 * wire, and so in every object the engine sees, the field is `from`. Tests build wire objects.
 */
export interface WireIngressRule {
  from?: V1NetworkPolicyPeer[];
  ports?: V1NetworkPolicyPort[];
}
export type WireSpec = Omit<V1NetworkPolicySpec, 'ingress'> & { ingress?: WireIngressRule[] };

export function policy(spec: WireSpec, annotations?: Record<string, string>, name = 'grant'): V1NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace: 'payments', ...(annotations && { annotations }) },
    spec: spec as V1NetworkPolicySpec,
  };
}

/** A narrow app selector, so target-all-pods stays quiet unless a test wants it. */
export const DB_PODS = { matchLabels: { app: 'orders-db' } };
export const API_PODS: V1NetworkPolicyPeer = { podSelector: { matchLabels: { app: 'api' } } };
export const TCP_5432: V1NetworkPolicyPort = { protocol: 'TCP', port: 5432 };

export function egressPolicy(rules: V1NetworkPolicyEgressRule[], annotations: Record<string, string> = GOOD_GRANT): V1NetworkPolicy {
  return policy({ podSelector: DB_PODS, policyTypes: ['Egress'], egress: rules }, annotations);
}

export function ingressPolicy(rules: WireIngressRule[], annotations: Record<string, string> = GOOD_GRANT): V1NetworkPolicy {
  return policy({ podSelector: DB_PODS, policyTypes: ['Ingress'], ingress: rules }, annotations);
}

export function cidrPeer(cidr: string, except?: string[]): V1NetworkPolicyPeer {
  return { ipBlock: { cidr, ...(except && { except }) } };
}

export function evaluate(p: V1NetworkPolicy, overrides: Partial<EvaluationInput> = {}): Evaluation {
  return evaluatePolicy({
    operation: 'CREATE',
    policy: p,
    namespace: p.metadata?.namespace ?? 'default',
    user: ORDINARY_USER,
    config: config(),
    now: NOW,
    ...overrides,
  });
}

export function ids(findings: readonly Pick<Finding, 'ruleId'>[]): string[] {
  return findings.map((f) => f.ruleId).sort();
}

export function idsAndPaths(findings: readonly Pick<Finding, 'ruleId' | 'path'>[]): string[] {
  return findings.map((f) => `${f.ruleId} @ ${f.path}`).sort();
}
