/**
 * The edge's size limits at their boundaries: exact messages, paths and order, for maps anywhere a
 * policy has them, and nesting depth through both arrays and objects. decodeAdmissionReview only
 * builds a problem's path once the problem is found, so these pin each path's indices and wording.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeAdmissionReview, DEFAULT_ENVELOPE_LIMITS, type DecodedReview, type EnvelopeLimits } from '../../../src/admission/review.js';
import { admissionReview, networkPolicy } from '../server/support.js';

function details(result: DecodedReview): string[] {
  assert.equal(result.ok, false, 'expected the body to be rejected');
  if (result.ok) return [];
  assert.equal(result.error.reason, 'invalid-object', result.error.error);
  return result.error.details;
}

function accepted(result: DecodedReview): void {
  if (!result.ok) assert.fail(`expected the body to be accepted, got ${result.error.reason}: ${result.error.details.join(' | ')}`);
}

function labels(count: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`label-${i}`, 'x']));
}

/** A policy with two ingress rules and two egress rules, each with several peers. */
function manyPeers(): Record<string, unknown> {
  const peer = (app: string) => ({ podSelector: { matchLabels: { app } }, namespaceSelector: { matchLabels: { team: app } } });
  return {
    ...networkPolicy(),
    spec: {
      podSelector: { matchLabels: { app: 'backend' } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [peer('a')] }, { from: [peer('b'), peer('c')] }],
      egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }, { to: [peer('d'), peer('e'), peer('f')] }],
    },
  };
}

type Peer = { podSelector: { matchLabels: unknown }; namespaceSelector: { matchLabels: unknown } };
function peerAt(policy: Record<string, unknown>, direction: 'ingress' | 'egress', rule: number, peer: number): Peer {
  const spec = policy.spec as Record<string, Array<Record<string, Peer[]>>>;
  return spec[direction]![rule]![direction === 'ingress' ? 'from' : 'to']![peer]!;
}

const THREE_LABELS: EnvelopeLimits = { ...DEFAULT_ENVELOPE_LIMITS, maxLabels: 3 };

describe('label map limits', () => {
  it('accepts a map of exactly maxLabels entries and names the map of one more, wherever it is', () => {
    accepted(decodeAdmissionReview(admissionReview({ object: networkPolicy({ labels: labels(3) }) }), THREE_LABELS));
    const policy = manyPeers();
    peerAt(policy, 'egress', 1, 2).podSelector.matchLabels = labels(4);
    peerAt(policy, 'ingress', 1, 1).namespaceSelector.matchLabels = labels(3);
    assert.deepEqual(details(decodeAdmissionReview(admissionReview({ object: policy }), THREE_LABELS)), [
      'request.object.spec.egress[1].to[2].podSelector.matchLabels: has 4 entries; at most 3 are accepted',
    ]);
  });

  it('reports every problem in every map, in document order, with each map’s own path', () => {
    const policy = manyPeers();
    policy.metadata = { name: 'p', namespace: 'shop', labels: { team: 'v'.repeat(64) }, annotations: { [`${'k'.repeat(64)}`]: 'v' } };
    (policy.spec as { podSelector: unknown }).podSelector = { matchLabels: { '/app': 'x' } };
    peerAt(policy, 'ingress', 1, 0).namespaceSelector.matchLabels = labels(4);
    peerAt(policy, 'ingress', 1, 1).podSelector.matchLabels = { 'a/': 'x', ok: 'y'.repeat(70) };
    peerAt(policy, 'egress', 1, 1).namespaceSelector.matchLabels = { [`${'p'.repeat(254)}/n`]: 'x' };
    assert.deepEqual(details(decodeAdmissionReview(admissionReview({ object: policy }), THREE_LABELS)), [
      'request.object.metadata.labels["team"]: value is 64 characters; a label value may have at most 63',
      `request.object.metadata.annotations: key "${'k'.repeat(60)}…" has a name part of 64 characters; at most 63 are allowed`,
      'request.object.spec.podSelector.matchLabels: key "/app" has a prefix of 0 characters; it must be 1 to 253',
      'request.object.spec.ingress[1].from[0].namespaceSelector.matchLabels: has 4 entries; at most 3 are accepted',
      'request.object.spec.ingress[1].from[1].podSelector.matchLabels: key "a/" has an empty name part',
      'request.object.spec.ingress[1].from[1].podSelector.matchLabels["ok"]: value is 70 characters; a label value may have at most 63',
      `request.object.spec.egress[1].to[1].namespaceSelector.matchLabels: key "${'p'.repeat(60)}…" has a prefix of 254 characters; it must be 1 to 253`,
    ]);
  });

  it('lists the new object’s problems before the old object’s on UPDATE', () => {
    const object = networkPolicy({ labels: { a: 'v'.repeat(64) } });
    const oldObject = networkPolicy({ labels: labels(4) });
    assert.deepEqual(details(decodeAdmissionReview(admissionReview({ operation: 'UPDATE', object, oldObject }), THREE_LABELS)), [
      'request.object.metadata.labels["a"]: value is 64 characters; a label value may have at most 63',
      'request.oldObject.metadata.labels: has 4 entries; at most 3 are accepted',
    ]);
  });

  it('measures a qualified name from its last slash', () => {
    // Keys with two slashes pass the length limits but not the API server's syntax (one slash at most).
    const longest = { [`${'p'.repeat(253)}/${'n'.repeat(63)}`]: 'x', [`x/${'n'.repeat(63)}`]: 'v'.repeat(63) };
    accepted(decodeAdmissionReview(admissionReview({ object: networkPolicy({ labels: longest, annotations: longest }) })));
    const twoSlashes = decodeAdmissionReview(admissionReview({ object: networkPolicy({ labels: { 'a/b/c': 'x' } }) }));
    assert.deepEqual(details(twoSlashes), [
      'request.object: /metadata/labels: key "a/b/c" must be [prefix/]name: a lowercase DNS subdomain prefix, and a name of alphanumerics with -, _ or . inside',
    ]);
    const bad = {
      [`x/y/${'n'.repeat(64)}`]: 'v',
      'a/b/': 'v',
      [`${'p'.repeat(200)}/${'q'.repeat(60)}/n`]: 'v',
    };
    assert.deepEqual(details(decodeAdmissionReview(admissionReview({ object: networkPolicy({ labels: bad }) }))), [
      `request.object.metadata.labels: key "x/y/${'n'.repeat(56)}…" has a name part of 64 characters; at most 63 are allowed`,
      'request.object.metadata.labels: key "a/b/" has an empty name part',
      `request.object.metadata.labels: key "${'p'.repeat(60)}…" has a prefix of 261 characters; it must be 1 to 253`,
    ]);
  });

  it('ignores label maps that are not objects (the shape check names those)', () => {
    const policy = manyPeers();
    peerAt(policy, 'ingress', 0, 0).podSelector.matchLabels = ['a', 'b', 'c', 'd'];
    const result = decodeAdmissionReview(admissionReview({ object: policy }), THREE_LABELS);
    assert.deepEqual(details(result), ['request.object: /spec/ingress/0/from/0/podSelector/matchLabels: must be object']);
  });
});

describe('nesting depth', () => {
  /** `levels` arrays/objects around a string, alternating kinds, the deepest branch placed at `side`. */
  function nested(levels: number, side: 'first' | 'last'): unknown {
    let value: unknown = 'bottom';
    for (let i = 0; i < levels; i++) {
      if (i % 2 === 0) value = side === 'first' ? [value, 1, null] : [null, 1, value];
      else value = side === 'first' ? { deeper: value, flat: 'x', none: null } : { flat: 'x', none: null, deeper: value };
    }
    return value;
  }

  // The review object is level 1 and request level 2, so options' own levels start at 3.
  const options = (levels: number, side: 'first' | 'last') => admissionReview({ options: nested(levels, side) });

  it('accepts a body exactly maxDepth deep and rejects one a level deeper, through arrays and objects', () => {
    const limits: EnvelopeLimits = { ...DEFAULT_ENVELOPE_LIMITS, maxDepth: 12 };
    for (const side of ['first', 'last'] as const) {
      accepted(decodeAdmissionReview(options(10, side), limits));
      const result = decodeAdmissionReview(options(11, side), limits);
      assert.ok(!result.ok && result.error.reason === 'too-deep', `${side}: ${JSON.stringify(result)}`);
      assert.deepEqual(!result.ok && result.error.details, ['body nests arrays/objects deeper than 12 levels']);
    }
  });

  it('counts the policy itself: the sample policy reaches level 10 (review, request, object, spec, ingress, rule, from, peer, selector, labels)', () => {
    accepted(decodeAdmissionReview(admissionReview(), { ...DEFAULT_ENVELOPE_LIMITS, maxDepth: 10 }));
    const result = decodeAdmissionReview(admissionReview(), { ...DEFAULT_ENVELOPE_LIMITS, maxDepth: 9 });
    assert.ok(!result.ok && result.error.reason === 'too-deep');
  });

  it('checks depth before anything else, even on a body whose envelope is also wrong', () => {
    const body = { ...admissionReview({ uid: 7 }), kind: 'NotAReview', extra: nested(120, 'last') };
    const result = decodeAdmissionReview(body);
    assert.ok(!result.ok && result.error.reason === 'too-deep');
  });
});
