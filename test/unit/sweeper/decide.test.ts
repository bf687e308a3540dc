import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { defaultConfig, parseConfigText } from '../../../src/config/load.js';
import { readGrantAnnotations } from '../../../src/lifecycle/annotations.js';
import { sweepDecisionFor } from '../../../src/sweeper/decide.js';

const config = defaultConfig();
const NOW = new Date('2030-06-01T00:00:00Z');

function policy(labels: Record<string, unknown>, annotations: Record<string, unknown>, extra: Record<string, unknown> = {}): V1NetworkPolicy {
  return { metadata: { name: 'p', namespace: 'ns', uid: 'u', resourceVersion: '1', labels, annotations, ...extra } } as V1NetworkPolicy;
}
const LABEL = { 'netpol-guard.io/temporary': 'true' };

describe('sweepDecisionFor', () => {
  it('deletes a labelled grant whose expires-at has passed', () => {
    const d = sweepDecisionFor(policy(LABEL, { 'netpol-guard.io/expires-at': '2030-05-31T23:59:59Z' }), config, NOW);
    assert.equal(d.action, 'delete');
    assert.equal(d.expiresAt?.toISOString(), '2030-05-31T23:59:59.000Z');
    assert.match(d.reason, /expired at 2030-05-31T23:59:59Z/);
  });

  it('deletes exactly at expires-at (<= now)', () => {
    assert.equal(sweepDecisionFor(policy(LABEL, { 'netpol-guard.io/expires-at': '2030-06-01T00:00:00Z' }), config, NOW).action, 'delete');
  });

  it('keeps a grant that has not expired, reporting when it will', () => {
    const d = sweepDecisionFor(policy(LABEL, { 'netpol-guard.io/expires-at': '2030-06-01T00:00:01Z' }), config, NOW);
    assert.equal(d.action, 'keep');
    assert.equal(d.expiresAt?.toISOString(), '2030-06-01T00:00:01.000Z');
  });

  it('keeps an unlabelled or differently labelled policy whatever its annotations say', () => {
    for (const labels of [{}, { 'netpol-guard.io/temporary': 'false' }, { 'netpol-guard.io/temporary': 'True' }, { 'netpol-guard.io/temporary': 1 }]) {
      const d = sweepDecisionFor(policy(labels, { 'netpol-guard.io/expires-at': '2000-01-01T00:00:00Z' }), config, NOW);
      assert.equal(d.action, 'keep', JSON.stringify(labels));
      assert.equal(d.expiresAt, undefined);
      assert.match(d.reason, /not a temporary grant/);
    }
  });

  it('calls a labelled policy without expires-at invalid', () => {
    const d = sweepDecisionFor(policy(LABEL, {}), config, NOW);
    assert.equal(d.action, 'invalid');
    assert.match(d.reason, /no netpol-guard\.io\/expires-at annotation/);
  });

  it('calls an unparseable expires-at invalid and names the value', () => {
    for (const raw of ['tomorrow', '2030-06-01', '2030-02-30T00:00:00Z', '']) {
      const d = sweepDecisionFor(policy(LABEL, { 'netpol-guard.io/expires-at': raw }), config, NOW);
      assert.equal(d.action, 'invalid', raw);
      assert.match(d.reason, /^netpol-guard\.io\/expires-at: /);
    }
  });

  it('treats a non-string expires-at (malformed JSON) as absent, hence invalid, never as a date', () => {
    const d = sweepDecisionFor(policy(LABEL, { 'netpol-guard.io/expires-at': 0 }), config, NOW);
    assert.equal(d.action, 'invalid');
  });

  it('leaves a policy that is already being deleted alone', () => {
    const d = sweepDecisionFor(policy(LABEL, { 'netpol-guard.io/expires-at': '2000-01-01T00:00:00Z' }, { deletionTimestamp: '2030-05-31T00:00:00Z' }), config, NOW);
    assert.equal(d.action, 'keep');
    assert.match(d.reason, /being deleted/);
  });

  it('reads the label and annotation under the configured prefix', () => {
    const parsed = parseConfigText('annotationPrefix: grants.example.com');
    assert.ok(parsed.ok);
    const custom = policy({ 'grants.example.com/temporary': 'true' }, { 'grants.example.com/expires-at': '2000-01-01T00:00:00Z' });
    assert.equal(sweepDecisionFor(custom, parsed.config, NOW).action, 'delete');
    assert.equal(sweepDecisionFor(custom, config, NOW).action, 'keep', 'the default prefix does not match');
  });

  it('property: never "delete" unless labelled "true", expires-at parses and is not after now', () => {
    const labelValue = fc.oneof(fc.constant('true'), fc.constant('false'), fc.string(), fc.constant(undefined));
    const expiry = fc.oneof(
      fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true }).map((d) =>
        d.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      ),
      fc.string(),
      fc.constant(undefined),
    );
    fc.assert(
      fc.property(labelValue, expiry, (label, expiresAt) => {
        const labels = label === undefined ? {} : { 'netpol-guard.io/temporary': label };
        const annotations = expiresAt === undefined ? {} : { 'netpol-guard.io/expires-at': expiresAt };
        const d = sweepDecisionFor(policy(labels, annotations), config, NOW);
        if (d.action === 'delete') {
          assert.equal(label, 'true');
          assert.ok(expiresAt !== undefined && Date.parse(expiresAt) <= NOW.getTime());
        }
        if (label !== 'true') assert.equal(d.action, 'keep');
      }),
      { numRuns: 500 },
    );
  });

  it('still explains a kept or expired grant when the reason is asked for, in logs too', () => {
    const kept = sweepDecisionFor(policy(LABEL, { 'netpol-guard.io/expires-at': '2030-06-01T00:00:01Z' }), config, NOW);
    assert.equal(kept.reason, 'expires at 2030-06-01T00:00:01Z');
    const expired = sweepDecisionFor(policy(LABEL, { 'netpol-guard.io/expires-at': '2030-05-31T23:59:59Z' }), config, NOW);
    assert.equal(expired.reason, 'expired at 2030-05-31T23:59:59Z');
    assert.deepEqual(JSON.parse(JSON.stringify(kept)), { action: 'keep', reason: 'expires at 2030-06-01T00:00:01Z', expiresAt: '2030-06-01T00:00:01.000Z' });
  });

  it('ignores a label or expires-at that is inherited rather than the policy\'s own', () => {
    const inheritedLabel = Object.create({ 'netpol-guard.io/temporary': 'true' }) as Record<string, unknown>;
    assert.equal(sweepDecisionFor(policy(inheritedLabel, { 'netpol-guard.io/expires-at': '2000-01-01T00:00:00Z' }), config, NOW).action, 'keep');
    const inheritedExpiry = Object.create({ 'netpol-guard.io/expires-at': '2000-01-01T00:00:00Z' }) as Record<string, unknown>;
    assert.equal(sweepDecisionFor(policy(LABEL, inheritedExpiry), config, NOW).action, 'invalid');
  });

  it('property: decides exactly as the annotation contract reads the policy (readGrantAnnotations)', () => {
    const value = fc.oneof(
      fc.constant('true'),
      fc.constant('2000-01-01T00:00:00Z'),
      fc.constant('2099-01-01T00:00:00Z'),
      fc.constant(' 2000-01-01T00:00:00Z '),
      fc.string(),
      fc.integer(),
      fc.constant(null),
      fc.constant(['true']),
      fc.constant({}),
    );
    const map = fc.oneof(
      fc.record({ 'netpol-guard.io/temporary': value, 'netpol-guard.io/expires-at': value }, { requiredKeys: [] }),
      fc.constant(null),
      fc.constant(['true']),
      fc.constant('netpol-guard.io/temporary=true'),
    );
    fc.assert(
      fc.property(map, map, fc.boolean(), (labels, annotations, deleting) => {
        const p = {
          metadata: { name: 'p', namespace: 'ns', labels, annotations, ...(deleting ? { deletionTimestamp: '2030-01-01T00:00:00Z' } : {}) },
        } as unknown as V1NetworkPolicy;
        const grant = readGrantAnnotations(p, config.keys);
        const d = sweepDecisionFor(p, config, NOW);
        let expected: string;
        if (grant.temporaryLabel !== 'true' || deleting) expected = 'keep';
        else if (grant.expiresAt.state !== 'valid') expected = 'invalid';
        else expected = grant.expiresAt.value.getTime() <= NOW.getTime() ? 'delete' : 'keep';
        assert.equal(d.action, expected);
        if (grant.temporaryLabel === 'true' && !deleting && grant.expiresAt.state === 'valid') {
          assert.equal(d.expiresAt?.getTime(), grant.expiresAt.value.getTime());
        } else {
          assert.equal(d.expiresAt, undefined);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
