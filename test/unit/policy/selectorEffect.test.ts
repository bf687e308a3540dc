import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1LabelSelector } from '@kubernetes/client-node';
import { selectorEffect } from '../../../src/policy/selectorEffect.js';

const all = (selector: V1LabelSelector | null | undefined, kind: 'namespace' | 'pod') => selectorEffect(selector, kind);

describe('selectorEffect', () => {
  it('treats {} , a missing selector and null fields as selecting all, with no reason to add', () => {
    for (const s of [{}, undefined, null, { matchLabels: null, matchExpressions: null }, { matchLabels: {}, matchExpressions: [] }] as (V1LabelSelector | null | undefined)[]) {
      assert.deepEqual(all(s, 'namespace'), { selectsAll: true, why: '' }, JSON.stringify(s));
    }
  });

  it('finds selectors whose requirements only exclude', () => {
    assert.deepEqual(all({ matchExpressions: [{ key: 'no-such-label', operator: 'DoesNotExist' }] }, 'namespace'), {
      selectsAll: true,
      why: 'without label no-such-label',
    });
    const notIn = all({ matchExpressions: [{ key: 'team', operator: 'NotIn', values: ['a', 'b'] }] }, 'pod');
    assert.deepEqual(notIn, { selectsAll: true, why: 'whose label team is absent or not a, b' });
    const both = all({ matchExpressions: [{ key: 'x', operator: 'DoesNotExist' }, { key: 'y', operator: 'NotIn', values: ['1'] }] }, 'pod');
    assert.ok(both.selectsAll && both.why === 'without label x and whose label y is absent or not 1');
  });

  it('treats Exists (or NotIn) on kubernetes.io/metadata.name as all namespaces, but not all pods', () => {
    const exists = { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'Exists' }] };
    assert.deepEqual(all(exists, 'namespace'), { selectsAll: true, why: 'with label kubernetes.io/metadata.name, which every namespace has' });
    assert.deepEqual(all(exists, 'pod'), { selectsAll: false });
    const notKubeSystem = { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system'] }] };
    assert.equal(all(notKubeSystem, 'namespace').selectsAll, true);
  });

  it('judges a selector with one positive requirement as written', () => {
    const positive: V1LabelSelector[] = [
      { matchLabels: { app: 'api' } },
      { matchLabels: { app: 'api' }, matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] },
      { matchExpressions: [{ key: 'team', operator: 'In', values: ['a'] }, { key: 'x', operator: 'DoesNotExist' }] },
      { matchExpressions: [{ key: 'app', operator: 'Exists' }] },
      { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['payments'] }] },
    ];
    for (const s of positive) {
      assert.deepEqual(all(s, 'namespace'), { selectsAll: false }, JSON.stringify(s));
      assert.deepEqual(all(s, 'pod'), { selectsAll: false }, JSON.stringify(s));
    }
  });
});
