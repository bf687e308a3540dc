import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1LabelSelector } from '@kubernetes/client-node';
import fc from 'fast-check';
import { isEmptySelector, selectorMatches } from '../../../src/policy/selector.js';

const LABELS = { app: 'api', tier: 'backend' };

describe('selectorMatches (Kubernetes label-selector semantics)', () => {
  const cases: [string, V1LabelSelector, Record<string, string>, boolean][] = [
    ['empty selects everything', {}, LABELS, true],
    ['empty selects an unlabelled object', {}, {}, true],
    ['matchLabels: all present and equal', { matchLabels: { app: 'api' } }, LABELS, true],
    ['matchLabels: a different value', { matchLabels: { app: 'web' } }, LABELS, false],
    ['matchLabels: a missing key', { matchLabels: { team: 'x' } }, LABELS, false],
    ['matchLabels: every entry must hold', { matchLabels: { app: 'api', tier: 'frontend' } }, LABELS, false],
    ['In: value listed', { matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'api'] }] }, LABELS, true],
    ['In: value not listed', { matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] }, LABELS, false],
    ['In: key absent', { matchExpressions: [{ key: 'team', operator: 'In', values: ['x'] }] }, LABELS, false],
    ['NotIn: value not listed', { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] }, LABELS, true],
    ['NotIn: value listed', { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['api'] }] }, LABELS, false],
    ['NotIn: key absent matches (a negative selector reaches unlabelled pods)', { matchExpressions: [{ key: 'team', operator: 'NotIn', values: ['x'] }] }, LABELS, true],
    ['Exists: present', { matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, LABELS, true],
    ['Exists: absent', { matchExpressions: [{ key: 'team', operator: 'Exists' }] }, LABELS, false],
    ['DoesNotExist: absent', { matchExpressions: [{ key: 'team', operator: 'DoesNotExist' }] }, LABELS, true],
    ['DoesNotExist: present', { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, LABELS, false],
    ['labels and expressions are ANDed', { matchLabels: { app: 'api' }, matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, LABELS, false],
    ['an unknown operator selects nothing', { matchExpressions: [{ key: 'app', operator: 'Gt', values: ['1'] }] }, LABELS, false],
    ['inherited object keys are not labels', { matchExpressions: [{ key: 'constructor', operator: 'Exists' }] }, {}, false],
    ['a label named toString with DoesNotExist', { matchExpressions: [{ key: 'toString', operator: 'DoesNotExist' }] }, {}, true],
  ];
  for (const [name, selector, labels, expected] of cases) {
    it(name, () => assert.equal(selectorMatches(selector, labels), expected));
  }

  it('an absent selector selects nothing (LabelSelectorAsSelector(nil))', () => {
    assert.equal(selectorMatches(undefined, LABELS), false);
    assert.equal(selectorMatches(null, LABELS), false);
  });

  it('matchLabels {k: v} means exactly In [v] (property)', () => {
    const key = fc.constantFrom('app', 'tier', 'team');
    const value = fc.constantFrom('api', 'web', 'backend', '');
    fc.assert(
      fc.property(fc.dictionary(key, value), key, value, (labels, k, v) => {
        assert.equal(selectorMatches({ matchLabels: { [k]: v } }, labels), selectorMatches({ matchExpressions: [{ key: k, operator: 'In', values: [v] }] }, labels));
      }),
    );
  });

  it('NotIn is the complement of In, and DoesNotExist of Exists (property)', () => {
    const key = fc.constantFrom('app', 'tier', 'team');
    const value = fc.constantFrom('api', 'web', 'backend');
    fc.assert(
      fc.property(fc.dictionary(key, value), key, fc.array(value, { minLength: 1, maxLength: 3 }), (labels, k, values) => {
        const inSel = selectorMatches({ matchExpressions: [{ key: k, operator: 'In', values }] }, labels);
        const notIn = selectorMatches({ matchExpressions: [{ key: k, operator: 'NotIn', values }] }, labels);
        assert.equal(notIn, !inSel);
        const exists = selectorMatches({ matchExpressions: [{ key: k, operator: 'Exists' }] }, labels);
        assert.equal(selectorMatches({ matchExpressions: [{ key: k, operator: 'DoesNotExist' }] }, labels), !exists);
      }),
    );
  });

  it('isEmptySelector agrees: an empty selector selects any labels', () => {
    assert.equal(isEmptySelector({}), true);
    assert.equal(isEmptySelector({ matchLabels: {}, matchExpressions: [] }), true);
    assert.equal(isEmptySelector({ matchExpressions: [{ key: 'a', operator: 'Exists' }] }), false);
    assert.equal(selectorMatches({ matchLabels: {}, matchExpressions: [] }, { anything: 'x' }), true);
  });
});
