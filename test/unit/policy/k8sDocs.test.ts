/**
 * The NetworkPolicy examples from the Kubernetes documentation, as YAML fixtures, through the
 * whole engine: structural check first (they are all valid), then the verdict an ordinary user
 * would get creating them without netpol-guard annotations.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { checkNetworkPolicyShape } from '../../../src/policy/shape.js';
import { fixturePath } from '../../fixtures/paths.js';
import { evaluate, idsAndPaths, NOW } from './support.js';

function loadPolicy(...segments: string[]): V1NetworkPolicy {
  const docs = parseAllDocuments(readFileSync(fixturePath(...segments), 'utf8'));
  assert.ok(Array.isArray(docs));
  const values = docs.map((d) => {
    assert.deepEqual(d.errors, []);
    return d.toJS() as unknown;
  });
  assert.equal(values.length, 1, `${segments.join('/')} holds one document`);
  const shape = checkNetworkPolicyShape(values[0]);
  if (!shape.ok) assert.fail(`${segments.join('/')} is not a valid NetworkPolicy: ${shape.errors.join('; ')}`);
  return shape.policy;
}

const LIFECYCLE = ['expiry-missing @ metadata.annotations', 'ticket-missing @ metadata.annotations["netpol-guard.io/ticket"]'];

const EXPECTED: { file: string; allowed: boolean; disposition: string; findings: string[] }[] = [
  { file: 'test-network-policy.yaml', allowed: false, disposition: 'evaluated', findings: LIFECYCLE },
  { file: 'default-deny-ingress.yaml', allowed: true, disposition: 'no-access-granted', findings: [] },
  { file: 'default-deny-egress.yaml', allowed: true, disposition: 'no-access-granted', findings: [] },
  { file: 'default-deny-all.yaml', allowed: true, disposition: 'no-access-granted', findings: [] },
  {
    file: 'allow-all-ingress.yaml',
    allowed: false,
    disposition: 'evaluated',
    findings: ['peer-any @ spec.ingress[0].from', 'port-any @ spec.ingress[0].ports', 'target-all-pods @ spec.podSelector', ...LIFECYCLE],
  },
  {
    file: 'allow-all-egress.yaml',
    allowed: false,
    disposition: 'evaluated',
    findings: ['peer-any @ spec.egress[0].to', 'port-any @ spec.egress[0].ports', 'target-all-pods @ spec.podSelector', ...LIFECYCLE],
  },
  {
    file: 'multi-port-egress.yaml',
    allowed: false,
    disposition: 'evaluated',
    findings: ['port-range-too-wide @ spec.egress[0].ports[0].endPort', ...LIFECYCLE],
  },
];

describe('Kubernetes documentation examples', () => {
  for (const expected of EXPECTED) {
    it(`${expected.file}: ${expected.allowed ? 'allowed' : 'denied'}`, () => {
      const p = loadPolicy('k8s-docs', expected.file);
      const evaluation = evaluate(p, { namespace: p.metadata?.namespace ?? 'default' });
      assert.equal(evaluation.allowed, expected.allowed);
      assert.equal(evaluation.disposition, expected.disposition);
      assert.deepEqual(idsAndPaths(evaluation.findings), [...expected.findings].sort());
    });
  }

  it('test-network-policy passes every breadth rule (172.17.0.0/16 is exactly the limit)', () => {
    const evaluation = evaluate(loadPolicy('k8s-docs', 'test-network-policy.yaml'), { namespace: 'default' });
    const breadth = evaluation.findings.filter((f) => !f.ruleId.startsWith('expiry-') && !f.ruleId.startsWith('ticket-'));
    assert.deepEqual(breadth, []);
  });

  it('multi-port-egress spans 769 ports', () => {
    const evaluation = evaluate(loadPolicy('k8s-docs', 'multi-port-egress.yaml'), { namespace: 'default' });
    const range = evaluation.findings.find((f) => f.ruleId === 'port-range-too-wide');
    assert.ok(range);
    assert.match(range.reason, /^32000-32768 spans 769 ports/);
  });

  it('test-network-policy becomes allowed once it carries a ttl and a ticket', () => {
    const p = loadPolicy('k8s-docs', 'test-network-policy.yaml');
    p.metadata = { ...p.metadata, annotations: { 'netpol-guard.io/ttl': '4h', 'netpol-guard.io/ticket': 'CHG-88' } };
    const evaluation = evaluate(p, { namespace: 'default' });
    assert.equal(evaluation.allowed, true);
    assert.equal(evaluation.expiresAt, '2026-11-23T22:00:00Z');
  });
});

describe('temporary grant fixtures', () => {
  it('a narrow grant with ttl and ticket is allowed', () => {
    const p = loadPolicy('grants', 'temporary-db-access.yaml');
    const evaluation = evaluate(p, { namespace: 'payments' });
    assert.deepEqual(evaluation.findings, []);
    assert.equal(evaluation.allowed, true);
    assert.equal(evaluation.disposition, 'evaluated');
    assert.equal(evaluation.ticket, 'INC-4711');
    assert.equal(evaluation.expiresAt, new Date(NOW.getTime() + 2 * 3_600_000).toISOString().replace('.000Z', 'Z'));
  });

  it('an expires-at grant is allowed before its expiry and denied after it', () => {
    const p = loadPolicy('grants', 'expires-at-grant.yaml');
    assert.equal(evaluate(p, { namespace: 'batch', now: new Date('2026-11-23T18:00:00Z') }).allowed, true);
    const late = evaluate(p, { namespace: 'batch', now: new Date('2026-11-23T20:00:00Z') });
    assert.deepEqual(idsAndPaths(late.findings), ['expiry-in-past @ metadata.annotations["netpol-guard.io/expires-at"]']);
    const early = evaluate(p, { namespace: 'batch', now: new Date('2026-11-22T19:59:59Z') });
    assert.deepEqual(idsAndPaths(early.findings), ['expiry-too-far @ metadata.annotations["netpol-guard.io/expires-at"]']);
  });
});
