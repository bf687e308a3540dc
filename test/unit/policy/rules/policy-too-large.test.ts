import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeAdmissionReview, DEFAULT_ENVELOPE_LIMITS } from '../../../../src/admission/review.js';
import { denyOversized } from '../../../../src/admission/oversized.js';
import { encodeAdmissionResponse } from '../../../../src/admission/review.js';
import { checkSources } from '../../../../src/check/run.js';
import { buildConfig } from '../../../../src/config/load.js';
import { countPolicyElements } from '../../../../src/policy/size.js';
import { admissionReview, networkPolicy } from '../../server/support.js';
import { cidrPeer, config, evaluate, GOOD_GRANT, ids, ingressPolicy, NOW, TCP_5432 } from '../support.js';

/** An ingress grant with `n` ipBlock peers in one rule (each peer counts twice: peer and ipBlock). */
function grantWithPeers(n: number): ReturnType<typeof ingressPolicy> {
  const peers = Array.from({ length: n }, (_, i) => cidrPeer(`10.${(i >> 8) & 255}.${i & 255}.0/24`));
  return ingressPolicy([{ from: peers, ports: [TCP_5432] }], GOOD_GRANT);
}
const elementsOf = (n: number) => countPolicyElements(grantWithPeers(n));

describe('policy-too-large in the engine', () => {
  const small = config({ limits: { maxPolicyElements: elementsOf(10) } });

  it('fires above limits.maxPolicyElements and not at it', () => {
    assert.deepEqual(ids(evaluate(grantWithPeers(10), { config: small }).findings), []);
    const over = evaluate(grantWithPeers(11), { config: small });
    assert.equal(over.allowed, false);
    assert.deepEqual(ids(over.findings), ['policy-too-large']);
    assert.equal(over.findings[0]!.path, 'spec');
    assert.equal(elementsOf(11) - elementsOf(10), 2);
    assert.match(over.message ?? '', new RegExp(`\\[policy-too-large\\] spec has more than ${elementsOf(10)} elements`));
  });

  it('follows the mode inside the engine (the edge and check deny before the engine, in every mode: see below)', () => {
    const warn = config({ mode: 'warn', limits: { maxPolicyElements: elementsOf(10) } });
    const over = evaluate(grantWithPeers(11), { config: warn });
    assert.deepEqual(ids(over.findings), ['policy-too-large']);
    assert.equal(over.findings[0]!.action, 'warn');
  });

  it('refuses a config that would warn about or ignore it, naming the way out', () => {
    for (const action of ['warn', 'off'] as const) {
      const result = buildConfig({ rules: { 'policy-too-large': action } }, 'cfg.yaml');
      assert.ok(!result.ok);
      assert.match(result.errors.join(), /cfg\.yaml: \/rules\/policy-too-large: must be deny, got .*raise limits\.maxPolicyElements instead/);
    }
    assert.ok(buildConfig({ rules: { 'policy-too-large': 'deny' } }).ok);
    for (const bad of [0, -1, 1.5, '2000']) {
      const result = buildConfig({ limits: { maxPolicyElements: bad as number } }, 'cfg.yaml');
      assert.ok(!result.ok && /\/limits\/maxPolicyElements/.test(result.errors.join()), String(bad));
    }
  });
});

describe('policy-too-large at the admission edge (decodeAdmissionReview)', () => {
  const limits = { maxPolicyElements: 100 };
  const hugeSpec = (n: number) => ({
    podSelector: { matchLabels: { app: 'db' } },
    ingress: [{ from: Array.from({ length: n }, () => ({ ipBlock: { cidr: '10.0.0.0/24' } })) }],
  });

  it('marks an oversized object before the policy schema runs (schema-invalid content is never reported)', () => {
    // Garbage the schema would reject everywhere (bad cidrs, unknown fields): still only "too large".
    const garbage = { ...networkPolicy(), spec: { podSelector: {}, bogus: true, ingress: [{ from: Array.from({ length: 5_000 }, () => ({ ipBlock: { cidr: 'not-a-cidr', extra: 1 } })) }] } };
    const decoded = decodeAdmissionReview(admissionReview({ object: garbage }), DEFAULT_ENVELOPE_LIMITS, limits);
    assert.ok(decoded.ok, JSON.stringify(decoded).slice(0, 300));
    assert.deepEqual(decoded.oversized, { field: 'object', maxPolicyElements: 100 });
  });

  it('checks the stored oldObject of an UPDATE too (a direct client chooses it)', () => {
    const decoded = decodeAdmissionReview(
      admissionReview({ operation: 'UPDATE', object: networkPolicy(), oldObject: { ...networkPolicy(), spec: hugeSpec(1_000) } }),
      DEFAULT_ENVELOPE_LIMITS,
      limits,
    );
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.oversized, { field: 'oldObject', maxPolicyElements: 100 });
  });

  it('leaves policies within the limit, other kinds and deletes alone, and checks nothing without the limits', () => {
    const within = decodeAdmissionReview(admissionReview({ object: { ...networkPolicy(), spec: hugeSpec(40) } }), DEFAULT_ENVELOPE_LIMITS, limits);
    assert.ok(within.ok && within.oversized === undefined);
    const huge = { ...networkPolicy(), spec: hugeSpec(1_000) };
    const configMap = decodeAdmissionReview(
      admissionReview({ kind: { group: '', version: 'v1', kind: 'ConfigMap' }, resource: { group: '', version: 'v1', resource: 'configmaps' }, object: huge }),
      DEFAULT_ENVELOPE_LIMITS,
      limits,
    );
    assert.ok(configMap.ok && configMap.bypass === 'not-networkpolicy' && configMap.oversized === undefined);
    const unchecked = decodeAdmissionReview(admissionReview({ object: huge }));
    assert.ok(unchecked.ok && unchecked.oversized === undefined);
  });

  it('answers with a denial (allowed: false, 403), the rule id and the limit, not a 400', () => {
    const decoded = decodeAdmissionReview(admissionReview({ object: { ...networkPolicy(), spec: hugeSpec(1_000) } }), DEFAULT_ENVELOPE_LIMITS, limits);
    assert.ok(decoded.ok && decoded.oversized);
    const decision = denyOversized(decoded.request, decoded.oversized);
    assert.equal(decision.allowed, false);
    assert.equal(decision.disposition, 'policy-too-large');
    assert.deepEqual(ids(decision.findings), ['policy-too-large']);
    const review = encodeAdmissionResponse(decoded.request.uid, decision, { includePatch: true });
    assert.equal(review.response?.allowed, false);
    assert.equal(review.response?.status?.code, 403);
    assert.match(review.response?.status?.message ?? '', /^netpol-guard denied NetworkPolicy shop\/allow-frontend: 1 problem\(s\)\n\[policy-too-large\] spec has more than 100 elements/);
    assert.equal(review.response?.patch, undefined);
  });
});

describe('policy-too-large in check', () => {
  it('denies an oversized document before the schema and the engine, at the spec line, in every mode', () => {
    const peers = Array.from({ length: 3_000 }, () => '        - ipBlock: {cidr: "not-a-cidr"}').join('\n');
    const text = `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: big, namespace: shop}\nspec:\n  podSelector: {}\n  ingress:\n    - from:\n${peers}\n`;
    for (const mode of ['enforce', 'warn'] as const) {
      const [result] = checkSources([{ name: 'big.yaml', text }], { config: config({ mode }), now: NOW, user: { username: 'ci', groups: [] } }).results;
      assert.equal(result?.verdict, 'denied', mode);
      assert.deepEqual(result?.errors, [], 'the schema never ran: the bad cidrs are not reported');
      assert.deepEqual(ids(result?.findings ?? []), ['policy-too-large']);
      assert.equal(result?.findings[0]?.line, 4, 'located at spec');
    }
  });
});
