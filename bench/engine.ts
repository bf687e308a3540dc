/**
 * Engine scaling: time to evaluate one policy as the number of peers, ipBlocks and ports grows.
 * The engine must stay linear or n·log n (CIDR unions are sort-and-merge), so the interesting
 * number is time-per-element across sizes, not the absolute time.
 */
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { buildConfig } from '../src/config/load.js';
import { evaluatePolicy } from '../src/policy/evaluate.js';
import { forgetParsedCidrs } from '../src/policy/cidr.js';

export type EngineShape = 'ipBlocks' | 'peers' | 'ports';

export interface EngineResult {
  shape: EngineShape;
  size: number;
  /** Median milliseconds for one evaluation. */
  medianMs: number;
  /** medianMs / size, in microseconds: flat across sizes means linear. */
  usPerElement: number;
}

const NOW = new Date('2026-11-23T10:00:00Z');

/**
 * A grant whose one egress rule has `size` elements of the given kind, all narrow and together
 * within the totals (distinct /32s inside one /16; port ranges inside 99 ports), so it passes and
 * every element still goes through the totals' unions.
 */
export function policyWith(shape: EngineShape, size: number): V1NetworkPolicy {
  const peers: unknown[] = [];
  const ports: unknown[] = [{ protocol: 'TCP', port: 443 }];
  if (shape === 'ipBlocks') {
    for (let i = 0; i < size; i++) peers.push({ ipBlock: { cidr: `10.0.${(i >> 8) & 255}.${i & 255}/32` } });
  } else if (shape === 'peers') {
    for (let i = 0; i < size; i++) {
      peers.push({ namespaceSelector: { matchLabels: { team: `t${i}` } }, podSelector: { matchLabels: { app: `a${i}` } } });
    }
  } else {
    peers.push({ podSelector: { matchLabels: { app: 'api' } } });
    ports.length = 0;
    for (let i = 0; i < size; i++) ports.push({ protocol: 'TCP', port: 1 + (i % 90), endPort: 1 + (i % 90) + 9 });
  }
  const wire: unknown = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: `bench-${shape}-${size}`,
      namespace: 'bench',
      annotations: { 'netpol-guard.io/ttl': '2h', 'netpol-guard.io/ticket': 'INC-1' },
    },
    spec: { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Egress'], egress: [{ to: peers, ports }] },
  };
  return wire as V1NetworkPolicy;
}

export function measureEngine(shape: EngineShape, size: number, budgetMs: number): EngineResult {
  // The default element cap (limits.maxPolicyElements) would refuse these sizes unevaluated: the
  // engine's scaling is what is measured here, the cap's cost is in the hostile section.
  const built = buildConfig({ limits: { maxPolicyElements: 1_000_000 } }, 'bench config');
  if (!built.ok) throw new Error(built.errors.join('; '));
  const config = built.config;
  const policy = policyWith(shape, size);
  // Each evaluation starts with an empty CIDR memo: scaling is about a policy seen for the first
  // time (a repeat is cheaper, but only while its CIDRs fit in the memo, which would turn this
  // into a measurement of the memo's size).
  const run = () => {
    forgetParsedCidrs();
    return evaluatePolicy({ operation: 'CREATE', policy, namespace: 'bench', user: { username: 'bench', groups: [] }, config, now: NOW });
  };
  // The verdict is part of the measurement's validity: a benchmark of a failing path measures nothing.
  const verdict = run();
  if (!verdict.allowed) throw new Error(`bench policy ${shape}/${size} was denied: ${verdict.message ?? ''}`);
  for (let i = 0; i < 5; i++) run(); // warm-up (JIT)
  const samples: number[] = [];
  const deadline = performance.now() + budgetMs;
  while (samples.length < 5 || (performance.now() < deadline && samples.length < 2_000)) {
    const t0 = performance.now();
    run();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  const medianMs = samples[Math.floor(samples.length / 2)]!;
  return { shape, size, medianMs, usPerElement: (medianMs * 1_000) / size };
}
