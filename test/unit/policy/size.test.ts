import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { countPolicyElements, policyElementsExceed } from '../../../src/policy/size.js';

const selector = (labels: number, expressions: number, values: number) => ({
  matchLabels: Object.fromEntries(Array.from({ length: labels }, (_, i) => [`k${i}`, 'v'])),
  matchExpressions: Array.from({ length: expressions }, (_, i) => ({ key: `e${i}`, operator: 'In', values: Array.from({ length: values }, (_, j) => `v${j}`) })),
});

describe('countPolicyElements', () => {
  it('counts rules, peers, ipBlocks with their except entries, ports, selector terms and policyTypes', () => {
    const policy = {
      metadata: { labels: { a: 'b', c: 'd' }, managedFields: [{ fieldsV1: { 'f:spec': {} } }] },
      spec: {
        podSelector: selector(1, 1, 2), // 1 + 1 + 2 = 4
        policyTypes: ['Ingress', 'Egress'], // 2
        ingress: [
          // rule 1 + peers 2 + ipBlock 1 + except 2 + podSelector 1 label + namespaceSelector 1 expression with 1 value + ports 3
          { from: [{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.1.0/24', '10.0.2.0/24'] } }, { podSelector: selector(1, 0, 0), namespaceSelector: selector(0, 1, 1) }], ports: [{ port: 1 }, { port: 2 }, { port: 3 }] },
        ],
        egress: [{}, { to: [] }], // 2 rules
      },
    };
    assert.equal(countPolicyElements(policy), 4 + 2 + (1 + 2 + 1 + 2 + 1 + 2 + 3) + 2);
  });

  it('counts nothing outside spec, and nothing of a value that is not a policy', () => {
    for (const value of [undefined, null, 'spec', [], { spec: null }, { spec: [1, 2, 3] }, { metadata: { annotations: { a: 'x'.repeat(1000) } } }]) {
      assert.equal(countPolicyElements(value), 0, JSON.stringify(value));
    }
  });

  it('catches a hostile policy however it spreads its elements (pieces in every place)', () => {
    const n = 1_000;
    const places: Array<[string, unknown]> = [
      ['many rules', { spec: { ingress: Array.from({ length: n }, () => ({})) } }],
      ['many peers', { spec: { egress: [{ to: Array.from({ length: n }, () => ({ podSelector: {} })) }] } }],
      ['many ipBlocks over many rules', { spec: { ingress: Array.from({ length: n / 2 }, () => ({ from: [{ ipBlock: { cidr: '10.0.0.0/16' } }] })) } }],
      ['many except entries', { spec: { ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: Array.from({ length: n }, () => '10.1.0.0/16') } }] }] } }],
      ['many ports', { spec: { ingress: [{ ports: Array.from({ length: n }, (_, i) => ({ port: i + 1 })) }] } }],
      ['many expression values', { spec: { podSelector: selector(0, 1, n) } }],
      ['many expressions in peers', { spec: { ingress: [{ from: [{ namespaceSelector: selector(0, n, 0) }] }] } }],
      ['many labels in peer selectors', { spec: { ingress: [{ from: Array.from({ length: 10 }, () => ({ podSelector: selector(n / 10, 0, 0) })) }] } }],
      ['many policyTypes', { spec: { policyTypes: Array.from({ length: n }, () => 'Ingress') } }],
    ];
    for (const [what, policy] of places) {
      assert.ok(countPolicyElements(policy) >= n, `${what}: ${countPolicyElements(policy)}`);
      assert.equal(policyElementsExceed(policy, n - 1), true, what);
      assert.equal(policyElementsExceed(policy, 5 * n), false, what);
    }
  });

  it('stops counting soon after the limit (the count of a huge policy costs the limit, not its size)', () => {
    const huge = { spec: { ingress: [{ from: Array.from({ length: 100_000 }, () => ({ ipBlock: { cidr: '10.0.0.0/16' } })) }] } };
    assert.equal(countPolicyElements(huge), 1 + 100_000 + 100_000);
    // Peers are added as one array length, so the early count is rule + peers, still above the limit.
    const early = countPolicyElements(huge, 2_000);
    assert.ok(early > 2_000 && early <= 1 + 100_000, String(early));
  });

  it('an early stop agrees with the full count about whether the limit is passed (property)', () => {
    const peer = fc.oneof(
      fc.record({ ipBlock: fc.record({ cidr: fc.constant('10.0.0.0/16'), except: fc.array(fc.constant('10.0.1.0/24'), { maxLength: 5 }) }) }),
      fc.record({ podSelector: fc.record({ matchLabels: fc.dictionary(fc.string({ minLength: 1, maxLength: 3 }), fc.constant('v'), { maxKeys: 4 }) }) }),
      fc.record({ namespaceSelector: fc.record({ matchExpressions: fc.array(fc.record({ key: fc.constant('k'), operator: fc.constant('In'), values: fc.array(fc.constant('x'), { maxLength: 4 }) }), { maxLength: 3 }) }) }),
    );
    const rule = fc.record({ from: fc.array(peer, { maxLength: 6 }), ports: fc.array(fc.record({ port: fc.integer({ min: 1, max: 65535 }) }), { maxLength: 4 }) });
    const policy = fc.record({ spec: fc.record({ podSelector: fc.constant({}), ingress: fc.array(rule, { maxLength: 6 }) }) });
    fc.assert(
      fc.property(policy, fc.integer({ min: 0, max: 150 }), (p, max) => {
        const full = countPolicyElements(p);
        return policyElementsExceed(p, max) === full > max && countPolicyElements(p, max) <= full;
      }),
    );
  });
});
