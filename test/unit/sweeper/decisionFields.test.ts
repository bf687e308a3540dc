import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { defaultConfig } from '../../../src/config/load.js';
import { decisionFields, sweepDecisionFor } from '../../../src/sweeper/decide.js';

const config = defaultConfig();
const LABEL = config.keys.temporaryLabel;
const EXPIRES = config.keys.expiresAt;
const NOW = new Date('2030-06-01T00:00:00Z');

const value = fc.oneof(
  fc.constant('true'),
  fc.constant('2030-05-31T23:59:59Z'),
  fc.constant('2030-06-01T00:00:01Z'),
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.constant(null),
);
const stringMapOf = (key: string): fc.Arbitrary<Record<string, unknown>> =>
  fc.dictionary(fc.oneof(fc.constant(key), fc.string({ maxLength: 8 })), value, { maxKeys: 4 });

const policy: fc.Arbitrary<V1NetworkPolicy> = fc.record({
  metadata: fc.record(
    {
      name: fc.constant('p'),
      namespace: fc.constant('ns'),
      uid: fc.constant('u'),
      resourceVersion: fc.constant('7'),
      labels: stringMapOf(LABEL),
      annotations: stringMapOf(EXPIRES),
      deletionTimestamp: fc.oneof(fc.constant(undefined), fc.constant(null), fc.constant(new Date('2030-01-01T00:00:00Z'))),
    },
    { requiredKeys: ['name', 'namespace', 'uid', 'resourceVersion'] },
  ),
  spec: fc.constant({ podSelector: {}, policyTypes: ['Ingress'] }),
}) as fc.Arbitrary<V1NetworkPolicy>;

describe('decisionFields (what watch mode keeps of each grant)', () => {
  it('gives the same sweep decision as the whole policy, for any labels, annotations and deletionTimestamp', () => {
    fc.assert(
      fc.property(policy, (p) => {
        assert.deepEqual(sweepDecisionFor(decisionFields(p, config), config, NOW), sweepDecisionFor(p, config, NOW));
      }),
    );
  });

  it('keeps the delete preconditions and drops the spec and every other label and annotation', () => {
    const p: V1NetworkPolicy = {
      metadata: {
        name: 'p', namespace: 'ns', uid: 'u', resourceVersion: '7',
        labels: { [LABEL]: 'true', team: 'red' },
        annotations: { [EXPIRES]: '2030-05-31T23:59:59Z', note: 'x'.repeat(10_000) },
      },
      spec: { podSelector: {}, policyTypes: ['Ingress'] },
    };
    assert.deepEqual(decisionFields(p, config), {
      metadata: {
        name: 'p', namespace: 'ns', uid: 'u', resourceVersion: '7',
        labels: { [LABEL]: 'true' },
        annotations: { [EXPIRES]: '2030-05-31T23:59:59Z' },
      },
    });
  });
});
