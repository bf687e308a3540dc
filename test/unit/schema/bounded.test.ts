/**
 * Error reporting whose cost is bounded by a constant, not by the hostile input: a huge array of
 * wrong items gets one error and a note instead of one ajv error object per item, and a long
 * policyTypes list is refused before ajv compares its items.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeAdmissionReview } from '../../../src/admission/review.js';
import { checkNetworkPolicyShape } from '../../../src/policy/shape.js';
import { compileBounded, FULL_ERROR_LIST_MAX_VALUES, valueCountExceeds } from '../../../src/schema/bounded.js';
import { admissionReview, networkPolicy } from '../server/support.js';

describe('valueCountExceeds', () => {
  it('counts every JSON value, containers and scalars alike', () => {
    const value = { a: [1, 2, { b: null }], c: 'x' }; // root, a, 1, 2, {b}, null, c = 7
    assert.equal(valueCountExceeds(value, 7), false);
    assert.equal(valueCountExceeds(value, 6), true);
    assert.equal(valueCountExceeds(5, 1), false);
    assert.equal(valueCountExceeds(5, 0), true);
    assert.equal(valueCountExceeds([], 1), false);
  });

  it('refuses a huge array as soon as its length is known', () => {
    assert.equal(valueCountExceeds(new Array(1_000_000).fill(0), 10), true);
  });
});

describe('compileBounded', () => {
  const validate = compileBounded<{ items: number[] }>(
    { type: 'object', required: ['items'], properties: { items: { type: 'array', items: { type: 'number' } } } },
    { strict: true },
  );

  it('passes a valid value through', () => {
    const value = { items: [1, 2, 3] };
    const result = validate(value);
    assert.ok(result.ok);
    assert.equal(result.value, value);
  });

  it('lists every error of a small value', () => {
    const result = validate({ items: ['a', 2, 'c'] });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.truncated, false);
    assert.deepEqual(result.errors.map((e) => e.instancePath), ['/items/0', '/items/2']);
  });

  it('reports only the first error of a value past the limit', () => {
    const result = validate({ items: new Array(FULL_ERROR_LIST_MAX_VALUES * 20).fill('wrong') });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.truncated, true);
    assert.deepEqual(result.errors.map((e) => e.instancePath), ['/items/0']);
  });
});

describe('hostile policies at the edge', () => {
  it('refuses a long policyTypes list by its length, before the schema compares items', () => {
    const policy = networkPolicy();
    (policy.spec as Record<string, unknown>).policyTypes = Array.from({ length: 200_000 }, (_, i) => `type-${i}`);
    const result = checkNetworkPolicyShape(policy);
    assert.deepEqual(result, { ok: false, errors: ['/spec/policyTypes: has 200000 entries; at most 2 are accepted'] });
  });

  it('still names wrong policyTypes entries in a short list, and accepts a duplicate as the API server does', () => {
    const policy = networkPolicy();
    // The API server stores [Ingress, Ingress] (the e2e differential test shows it); so must check.
    (policy.spec as Record<string, unknown>).policyTypes = ['Ingress', 'Ingress'];
    const duplicate = checkNetworkPolicyShape(policy);
    assert.equal(duplicate.ok, true, JSON.stringify(duplicate));
    (policy.spec as Record<string, unknown>).policyTypes = ['Sideways'];
    const wrong = checkNetworkPolicyShape(policy);
    assert.equal(wrong.ok, false);
    if (!wrong.ok) assert.deepEqual(wrong.errors, ['/spec/policyTypes/0: must be one of Ingress, Egress']);
  });

  it('answers a peer list of 200,000 wrong items with one error and a note, not 200,000 errors', () => {
    const policy = networkPolicy();
    (policy.spec as Record<string, unknown>).ingress = [{ from: new Array(200_000).fill(1) }];
    const result = checkNetworkPolicyShape(policy);
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.errors.length, 2);
    assert.match(result.errors[0]!, /^\/spec\/ingress\/0\/from\/0: /);
    assert.equal(result.errors[1], `/: further errors not listed (more than ${FULL_ERROR_LIST_MAX_VALUES} values in the object)`);
  });

  it('answers an envelope with 200,000 wrong groups with a short 400 detail list', () => {
    const review = admissionReview({ userInfo: { username: 'mallory', groups: new Array(200_000).fill(7) } });
    const result = decodeAdmissionReview(JSON.parse(JSON.stringify(review)));
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.error.reason, 'invalid-request');
    assert.ok(result.error.details.length <= 3, result.error.details.join(' | '));
    assert.match(result.error.details.join('\n'), /further errors not listed/);
  });
});
