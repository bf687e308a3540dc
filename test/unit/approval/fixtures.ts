/** GrantRequests for the controller-side approval tests (spec.policy is wire JSON: `from`). */
import type { V1NetworkPolicySpec } from '@kubernetes/client-node';
import type { GrantApproval, GrantRequest, GrantRequestStatus } from '../../../src/approval/grantRequest.js';

export const REQUEST_UID = '7c1e2d3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f';
export const CREATED = '2026-12-01T10:00:00Z';

export function at(minutes: number, seconds = 0): string {
  return new Date(Date.parse(CREATED) + minutes * 60_000 + seconds * 1_000).toISOString().replace('.000Z', 'Z');
}

export function approval(by: string, minutes: number): GrantApproval {
  return { by, at: at(minutes) };
}

export function grantRequest(status: GrantRequestStatus | undefined = { phase: 'Pending', requiredApprovals: 2 }, overrides: { uid?: string; name?: string; duration?: string } = {}): GrantRequest {
  return {
    apiVersion: 'netpol-guard.io/v1alpha1',
    kind: 'GrantRequest',
    metadata: {
      namespace: 'prod-payments',
      name: overrides.name ?? 'db-debug',
      uid: overrides.uid ?? REQUEST_UID,
      resourceVersion: '10',
      creationTimestamp: CREATED as unknown as Date,
    },
    spec: {
      policy: {
        podSelector: { matchLabels: { app: 'database' } },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ ipBlock: { cidr: '198.51.100.0/28' } }], ports: [{ port: 5432, protocol: 'TCP' }] }],
      } as unknown as V1NetworkPolicySpec,
      duration: '30m',
      ticket: 'INC-4242',
      reason: 'replica lag on the primary',
      requestedBy: 'alice',
      ...(overrides.duration !== undefined ? { duration: overrides.duration } : {}),
    },
    ...(status !== undefined ? { status } : {}),
  };
}
