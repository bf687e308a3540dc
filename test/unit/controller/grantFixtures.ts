/** A grant-shaped NetworkPolicy and config shared by the GrantRecord and CRD tests. */
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { annotationKeys } from '../../../src/lifecycle/annotations.js';

export const UID = '3f2c9a4e-8b1d-4c6e-9f0a-1b2c3d4e5f60';
export const CONFIG = { keys: annotationKeys() };
export const T0 = new Date('2026-12-01T04:00:00Z');

export function grantPolicy(options: { annotations?: Record<string, string>; cidr?: string; port?: number; uid?: string } = {}): V1NetworkPolicy {
  return {
    metadata: {
      namespace: 'payments',
      name: 'db-debug',
      uid: options.uid ?? UID,
      annotations: {
        'netpol-guard.io/expires-at': '2026-12-01T06:00:00Z',
        'netpol-guard.io/granted-at': '2026-12-01T03:59:58Z',
        'netpol-guard.io/requested-by': 'alice@example.com',
        'netpol-guard.io/ticket': 'INC-1234',
        'netpol-guard.io/ticket-url': 'https://tracker.example/browse/INC-1234',
        ...options.annotations,
      },
    },
    spec: {
      podSelector: { matchLabels: { app: 'database' } },
      policyTypes: ['Ingress'],
      ingress: [{ _from: [{ ipBlock: { cidr: options.cidr ?? '198.51.100.0/24' } }], ports: [{ port: options.port ?? 5432, protocol: 'TCP' }] }],
    },
  };
}

