/** The audit annotations /validate hands the API server: verdict, the rules that fired, break-glass. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import type { AdmissionRequest } from '../../../src/admission/types.js';
import { validateHandler } from '../../../src/admission/validate.js';
import type { GuardConfig } from '../../../src/config/types.js';
import { API_PODS, DB_PODS, GOOD_GRANT, NOW, TCP_5432, config, egressPolicy, policy } from '../policy/support.js';

function request(object: V1NetworkPolicy, overrides: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return {
    uid: 'u-1',
    kind: { group: 'networking.k8s.io', version: 'v1', kind: 'NetworkPolicy' },
    resource: { group: 'networking.k8s.io', version: 'v1', resource: 'networkpolicies' },
    namespace: 'payments',
    operation: 'CREATE',
    userInfo: { username: 'dev@example.com', groups: ['team-payments'] },
    object,
    ...overrides,
  };
}

describe('validateHandler audit annotations', () => {
  const cfg: GuardConfig = config({ breakGlassGroups: ['sre-breakglass'] });

  it('lists each rule that fired once, in the order the findings came', () => {
    // Two wide egress rules: port-any and peer-any fire for each, then target-all-pods first.
    const wide = policy({ podSelector: {}, policyTypes: ['Egress'], egress: [{}, { to: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }] }, GOOD_GRANT);
    const decision = validateHandler(request(wide), cfg, NOW);
    assert.equal(decision.allowed, false);
    const order: string[] = [];
    for (const f of decision.findings) if (!order.includes(f.ruleId)) order.push(f.ruleId);
    assert.deepEqual(order, ['target-all-pods', 'peer-any', 'port-any', 'ipblock-too-wide']);
    assert.deepEqual(decision.auditAnnotations, { verdict: 'denied', rules: 'target-all-pods,peer-any,port-any,ipblock-too-wide' });
  });

  it('has only the verdict when nothing fired, and the grant details on the decision', () => {
    const narrow = egressPolicy([{ to: [API_PODS], ports: [TCP_5432] }]);
    const decision = validateHandler(request(narrow), cfg, NOW);
    assert.deepEqual(decision.auditAnnotations, { verdict: 'allowed' });
    assert.equal(decision.ticket, 'INC-1234');
    assert.equal(decision.expiresAt, '2026-11-23T20:00:00Z');
    assert.ok(!('message' in decision));
  });

  it('marks break-glass admissions', () => {
    const wide = policy({ podSelector: DB_PODS, policyTypes: ['Egress'], egress: [{}] }, GOOD_GRANT);
    const decision = validateHandler(request(wide, { userInfo: { username: 'oncall', groups: ['sre-breakglass'] } }), cfg, NOW);
    assert.equal(decision.allowed, true);
    assert.deepEqual(decision.auditAnnotations, { verdict: 'allowed', rules: 'peer-any,port-any', 'break-glass': 'true' });
  });

  it('treats a null oldObject on UPDATE as no stored object', () => {
    const narrow = egressPolicy([{ to: [API_PODS], ports: [TCP_5432] }]);
    const withNull = validateHandler(request(narrow, { operation: 'UPDATE', oldObject: null }), cfg, NOW);
    const without = validateHandler(request(narrow, { operation: 'UPDATE' }), cfg, NOW);
    assert.deepEqual(withNull, without);
  });
});
