import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { annotationKeys, readStamp } from '../../../src/lifecycle/annotations.js';
import { onlyRevocationChanged, revocationRequested, sameButRevocation, sameExpiry, sameJson, sameSpec } from '../../../src/lifecycle/updateChanges.js';

const KEYS = annotationKeys();

function withSpec(spec: unknown, annotations?: Record<string, string>): V1NetworkPolicy {
  return { metadata: { name: 'g', namespace: 'payments', ...(annotations && { annotations }) }, spec: spec as V1NetworkPolicy['spec'] };
}

describe('sameJson', () => {
  it('treats undefined and null properties as absent, and nothing else', () => {
    assert.ok(sameJson({ a: 1, b: undefined }, { a: 1 }));
    assert.ok(sameJson({ a: 1, b: null }, { a: 1 }));
    assert.ok(!sameJson({ a: 1, b: 0 }, { a: 1 }));
    assert.ok(!sameJson({ a: [1, 2] }, { a: [2, 1] }), 'order of a list matters');
    assert.ok(!sameJson({ a: '5432' }, { a: 5432 }), 'a string port is not a number port');
    assert.ok(!sameJson([], {}));
  });
});

describe('sameSpec', () => {
  const spec = { podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/28' } }] }] };
  it('is true for the same spec however the optional fields are spelled absent', () => {
    assert.ok(sameSpec(withSpec(spec), withSpec({ ...spec, egress: null, podSelector: { matchLabels: { app: 'db' }, matchExpressions: null } })));
    assert.ok(sameSpec(withSpec(spec), withSpec(structuredClone(spec))));
  });
  it('is false for any change of what the policy allows', () => {
    assert.ok(!sameSpec(withSpec(spec), withSpec({ ...spec, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/27' } }] }] })));
    assert.ok(!sameSpec(withSpec(spec), withSpec({ ...spec, ingress: [...spec.ingress, {}] })));
    assert.ok(!sameSpec(withSpec(spec), withSpec({ ...spec, ingress: [null] })), 'ingress: [null] is allow-all, not no rule');
    assert.ok(!sameSpec(withSpec(spec), withSpec(undefined)));
  });
});

describe('sameExpiry', () => {
  it('compares instants when both parse, text otherwise', () => {
    assert.ok(sameExpiry('2026-11-23T12:00:00Z', '2026-11-23T13:00:00+01:00'));
    assert.ok(sameExpiry(undefined, undefined));
    assert.ok(!sameExpiry('2026-11-23T12:00:00Z', undefined));
    assert.ok(!sameExpiry('2026-11-23T12:00:00Z', '2026-11-23T12:00:01Z'));
    assert.ok(!sameExpiry('junk', 'other junk'));
    assert.ok(sameExpiry('junk', 'junk'));
  });
});

describe('revocation requests', () => {
  const stored = withSpec({ podSelector: {} }, { [KEYS.ticket]: 'INC-1' });
  const stamped = withSpec({ podSelector: {} }, { [KEYS.ticket]: 'INC-1', [KEYS.revokedBy]: 'alice', [KEYS.revokedAt]: '2026-11-23T10:00:00Z' });
  it('is a request when revoked-by is present and the pair differs from the stored one', () => {
    assert.ok(revocationRequested(stored, withSpec({ podSelector: {} }, { [KEYS.ticket]: 'INC-1', [KEYS.revokedBy]: 'requested' }), KEYS));
    assert.ok(revocationRequested(stamped, withSpec({ podSelector: {} }, { [KEYS.ticket]: 'INC-1', [KEYS.revokedBy]: 'alice' }), KEYS), 'revoked-at dropped');
    assert.ok(!revocationRequested(stamped, stamped, KEYS));
    assert.ok(!revocationRequested(stamped, stored, KEYS), 'dropping the stamps is no request');
    assert.ok(!revocationRequested(stored, withSpec({ podSelector: {} }, { [KEYS.ticket]: 'INC-1', [KEYS.revokedAt]: '2026-11-23T10:00:00Z' }), KEYS));
  });
  it('is revocation-only when nothing but the stamps and server-managed metadata changed', () => {
    const request = structuredClone(stored);
    request.metadata = { ...request.metadata, annotations: { [KEYS.ticket]: 'INC-1', [KEYS.revokedBy]: 'requested' }, resourceVersion: '9', generation: 3, managedFields: [] };
    assert.ok(onlyRevocationChanged(stored, request, KEYS));
    assert.ok(sameButRevocation(stored, stamped, KEYS));
    const bare = withSpec({ podSelector: {} });
    assert.ok(onlyRevocationChanged(bare, withSpec({ podSelector: {} }, { [KEYS.revokedBy]: 'requested' }), KEYS), 'no annotations before the stamps');
    const renamed = structuredClone(request);
    renamed.metadata!.annotations![KEYS.ticket] = 'INC-2';
    assert.ok(!onlyRevocationChanged(stored, renamed, KEYS));
    const owned = structuredClone(request);
    owned.metadata!.ownerReferences = [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'u' }];
    assert.ok(!onlyRevocationChanged(stored, owned, KEYS));
  });
});

describe('readStamp', () => {
  it('needs a non-blank by and a valid at', () => {
    const p = (a: Record<string, string>) => withSpec({}, a);
    assert.deepEqual(readStamp(p({ [KEYS.revokedBy]: 'alice', [KEYS.revokedAt]: '2026-11-23T10:00:00Z' }), KEYS.revokedBy, KEYS.revokedAt), {
      by: 'alice',
      at: new Date('2026-11-23T10:00:00Z'),
      atRaw: '2026-11-23T10:00:00Z',
    });
    assert.equal(readStamp(p({ [KEYS.revokedBy]: 'alice' }), KEYS.revokedBy, KEYS.revokedAt), undefined);
    assert.equal(readStamp(p({ [KEYS.revokedBy]: 'alice', [KEYS.revokedAt]: 'yesterday' }), KEYS.revokedBy, KEYS.revokedAt), undefined);
    assert.equal(readStamp(p({ [KEYS.revokedBy]: '  ', [KEYS.revokedAt]: '2026-11-23T10:00:00Z' }), KEYS.revokedBy, KEYS.revokedAt), undefined);
    assert.equal(readStamp(undefined, KEYS.changedBy, KEYS.changedAt), undefined);
  });
});
