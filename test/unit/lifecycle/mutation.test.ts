import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import fc from 'fast-check';
import jsonpatch from 'fast-json-patch';
import { buildConfig, defaultConfig } from '../../../src/config/load.js';
import type { GuardConfig } from '../../../src/config/types.js';
import { planMutation, type MutationInput } from '../../../src/lifecycle/mutation.js';
import { escapePointerSegment } from '../../../src/lifecycle/patch.js';

const NOW = new Date('2026-11-23T10:00:00.750Z');
const config = defaultConfig();

/** Wire-format JSON (`from`, not the client model's `_from`), as the API server sends it. */
function grant(annotations?: Record<string, string>, labels?: Record<string, string>): V1NetworkPolicy {
  const wire: unknown = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: 'db-access',
      namespace: 'payments',
      ...(annotations && { annotations }),
      ...(labels && { labels }),
    },
    spec: {
      podSelector: { matchLabels: { app: 'database' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ ipBlock: { cidr: '198.51.100.0/24' } }], ports: [{ protocol: 'TCP', port: 5432 }] }],
    },
  };
  return wire as V1NetworkPolicy;
}

const denyAll: V1NetworkPolicy = {
  metadata: { name: 'default-deny', namespace: 'payments' },
  spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
};

function input(policy: V1NetworkPolicy, extra: Partial<MutationInput> = {}): MutationInput {
  return { operation: 'CREATE', policy, namespace: 'payments', username: 'alice', config, now: NOW, ...extra };
}

/** Apply with an independent RFC 6902 implementation, validating every operation. */
function apply(policy: V1NetworkPolicy, patch: unknown[]): V1NetworkPolicy {
  const doc = structuredClone(policy);
  const error = jsonpatch.validate(patch as jsonpatch.Operation[], doc);
  assert.equal(error, undefined, `patch does not apply: ${String(error)}`);
  return jsonpatch.applyPatch(doc, patch as jsonpatch.Operation[], true, false).newDocument;
}

function mutated(policy: V1NetworkPolicy, extra: Partial<MutationInput> = {}): V1NetworkPolicy {
  return apply(policy, planMutation(input(policy, extra)).patch);
}

describe('planMutation on CREATE', () => {
  it('turns a ttl into an absolute UTC expiry with second precision and stamps the grant', () => {
    const out = mutated(grant({ 'netpol-guard.io/ttl': '2h', 'netpol-guard.io/ticket': 'INC-1234' }));
    assert.deepEqual(out.metadata?.annotations, {
      'netpol-guard.io/ttl': '2h',
      'netpol-guard.io/ticket': 'INC-1234',
      'netpol-guard.io/expires-at': '2026-11-23T12:00:00Z',
      'netpol-guard.io/requested-by': 'alice',
      'netpol-guard.io/granted-at': '2026-11-23T10:00:00Z',
    });
    assert.deepEqual(out.metadata?.labels, { 'netpol-guard.io/temporary': 'true' });
  });

  it('creates annotations and labels maps with one add each when they are absent', () => {
    const policy = grant();
    const plan = planMutation(input(policy));
    assert.deepEqual(
      plan.patch.map((op) => [op.op, op.path]),
      [['add', '/metadata/annotations']],
      'no expiry → no label; only the stamps',
    );
    const withTtl = { ...policy, metadata: { ...policy.metadata } };
    const plan2 = planMutation(input(withTtl, { config: withDefaultTTL('1h') }));
    assert.deepEqual(plan2.patch.map((op) => [op.op, op.path]), [
      ['add', '/metadata/annotations'],
      ['add', '/metadata/labels'],
    ]);
  });

  it('escapes / and ~ in JSON Pointer segments', () => {
    assert.equal(escapePointerSegment('netpol-guard.io/ttl'), 'netpol-guard.io~1ttl');
    assert.equal(escapePointerSegment('a~1/b'), 'a~01~1b');
    const policy = grant({ 'x~y/z': 'keep', 'netpol-guard.io/ttl': '30m', 'netpol-guard.io/ticket': 'INC-1' }, { 'team~a/b': 'x' });
    const plan = planMutation(input(policy));
    assert.ok(plan.patch.some((op) => op.path === '/metadata/annotations/netpol-guard.io~1expires-at'));
    assert.ok(plan.patch.some((op) => op.path === '/metadata/labels/netpol-guard.io~1temporary'));
    const out = apply(policy, plan.patch);
    assert.equal(out.metadata?.annotations?.['x~y/z'], 'keep');
    assert.equal(out.metadata?.labels?.['team~a/b'], 'x');
    assert.equal(out.metadata?.annotations?.['netpol-guard.io/expires-at'], '2026-11-23T10:30:00Z');
  });

  it('overwrites forged requested-by and granted-at', () => {
    const out = mutated(
      grant({
        'netpol-guard.io/ttl': '1h',
        'netpol-guard.io/ticket': 'INC-9',
        'netpol-guard.io/requested-by': 'the-ceo',
        'netpol-guard.io/granted-at': '2030-01-01T00:00:00Z',
      }),
    );
    assert.equal(out.metadata?.annotations?.['netpol-guard.io/requested-by'], 'alice');
    assert.equal(out.metadata?.annotations?.['netpol-guard.io/granted-at'], '2026-11-23T10:00:00Z');
  });

  it('lets expires-at win over ttl, normalized to UTC, with a warning', () => {
    const plan = planMutation(input(grant({ 'netpol-guard.io/ttl': '2h', 'netpol-guard.io/expires-at': '2026-11-23T13:30:00+02:00', 'netpol-guard.io/ticket': 'INC-1' })));
    const out = apply(grant({ 'netpol-guard.io/ttl': '2h', 'netpol-guard.io/expires-at': '2026-11-23T13:30:00+02:00', 'netpol-guard.io/ticket': 'INC-1' }), plan.patch);
    assert.equal(out.metadata?.annotations?.['netpol-guard.io/expires-at'], '2026-11-23T11:30:00Z');
    assert.equal(plan.warnings.length, 1);
    assert.match(plan.warnings[0]!, /expires-at wins/);
  });

  it('injects the configured defaultTTL with a warning, and nothing when none is configured', () => {
    const plan = planMutation(input(grant({ 'netpol-guard.io/ticket': 'INC-1' }), { config: withDefaultTTL('4h') }));
    const out = apply(grant({ 'netpol-guard.io/ticket': 'INC-1' }), plan.patch);
    assert.equal(out.metadata?.annotations?.['netpol-guard.io/expires-at'], '2026-11-23T14:00:00Z');
    assert.equal(out.metadata?.annotations?.['netpol-guard.io/ttl'], '4h');
    assert.match(plan.warnings.join('\n'), /default of 4h/);
    const none = mutated(grant({ 'netpol-guard.io/ticket': 'INC-1' }));
    assert.equal(none.metadata?.annotations?.['netpol-guard.io/expires-at'], undefined);
    assert.equal(none.metadata?.labels, undefined);
  });

  it('normalizes the ticket and adds the ticket URL when a template is configured', () => {
    const cfg = build({ ticket: { urlTemplate: 'https://tracker.example/browse/{ticket}' } });
    const plan = planMutation(input(grant({ 'netpol-guard.io/ttl': '1h', 'netpol-guard.io/ticket': '  inc-42 ' }), { config: cfg }));
    assert.equal(plan.ticket, 'INC-42');
    const out = apply(grant({ 'netpol-guard.io/ttl': '1h', 'netpol-guard.io/ticket': '  inc-42 ' }), plan.patch);
    assert.equal(out.metadata?.annotations?.['netpol-guard.io/ticket'], 'INC-42');
    assert.equal(out.metadata?.annotations?.['netpol-guard.io/ticket-url'], 'https://tracker.example/browse/INC-42');
    assert.deepEqual(plan.auditAnnotations, { 'requested-by': 'alice', ticket: 'INC-42', 'expires-at': '2026-11-23T11:00:00Z' });
  });

  it('patches nothing for a deny-only policy without expiry or in an exempt namespace', () => {
    assert.deepEqual(planMutation(input(denyAll)).patch, []);
    assert.deepEqual(planMutation(input(grant({ 'netpol-guard.io/ttl': '1h' }), { namespace: 'kube-system' })).patch, []);
  });

  it('marks an isolation policy that carries an expiry as temporary', () => {
    const policy: V1NetworkPolicy = { ...denyAll, metadata: { ...denyAll.metadata, annotations: { 'netpol-guard.io/ttl': '1h' } } };
    const out = mutated(policy);
    assert.equal(out.metadata?.labels?.['netpol-guard.io/temporary'], 'true');
    assert.equal(out.metadata?.annotations?.['netpol-guard.io/expires-at'], '2026-11-23T11:00:00Z');
  });

  it('leaves an unparseable ttl for validation to deny', () => {
    const out = mutated(grant({ 'netpol-guard.io/ttl': 'two hours', 'netpol-guard.io/ticket': 'INC-1' }));
    assert.equal(out.metadata?.annotations?.['netpol-guard.io/expires-at'], undefined);
    assert.equal(out.metadata?.annotations?.['netpol-guard.io/ttl'], 'two hours');
  });

  it('creates /metadata when the object has none', () => {
    const policy = grant({ 'netpol-guard.io/ttl': '1h' });
    const bare = { spec: policy.spec } as V1NetworkPolicy;
    const out = apply(bare, planMutation(input(bare, { config: withDefaultTTL('1h') })).patch);
    assert.equal(out.metadata?.labels?.['netpol-guard.io/temporary'], 'true');
  });
});

describe('planMutation on UPDATE', () => {
  const created = mutated(grant({ 'netpol-guard.io/ttl': '2h', 'netpol-guard.io/ticket': 'INC-1' }));
  const later = new Date(NOW.getTime() + 30 * 60_000);

  it('restores requested-by and granted-at from the stored object', () => {
    const edited = structuredClone(created);
    edited.metadata!.annotations!['netpol-guard.io/requested-by'] = 'mallory';
    edited.metadata!.annotations!['netpol-guard.io/granted-at'] = '2026-11-25T00:00:00Z';
    const out = mutated(edited, { operation: 'UPDATE', oldPolicy: created, username: 'mallory', now: later });
    assert.equal(out.metadata?.annotations?.['netpol-guard.io/requested-by'], 'alice');
    assert.equal(out.metadata?.annotations?.['netpol-guard.io/granted-at'], '2026-11-23T10:00:00Z');
  });

  it('does not move the expiry when the same manifest is re-applied', () => {
    // kubectl replace of the original manifest: ttl unchanged, expires-at and stamps dropped.
    const reapplied = grant({ 'netpol-guard.io/ttl': '2h', 'netpol-guard.io/ticket': 'INC-1' });
    const out = mutated(reapplied, { operation: 'UPDATE', oldPolicy: created, now: later });
    assert.equal(out.metadata?.annotations?.['netpol-guard.io/expires-at'], '2026-11-23T12:00:00Z');
    // kubectl apply keeps the live annotations: nothing to patch at all.
    assert.deepEqual(planMutation(input(structuredClone(created), { operation: 'UPDATE', oldPolicy: created, now: later })).patch, []);
  });

  it('moves the expiry to now + ttl when the ttl changes', () => {
    const changed = structuredClone(created);
    changed.metadata!.annotations!['netpol-guard.io/ttl'] = '3h';
    const out = mutated(changed, { operation: 'UPDATE', oldPolicy: created, now: later });
    assert.equal(out.metadata?.annotations?.['netpol-guard.io/expires-at'], '2026-11-23T13:30:00Z');
  });

  it('keeps an explicit new expires-at', () => {
    const changed = structuredClone(created);
    changed.metadata!.annotations!['netpol-guard.io/expires-at'] = '2026-11-23T15:00:00Z';
    const out = mutated(changed, { operation: 'UPDATE', oldPolicy: created, now: later });
    assert.equal(out.metadata?.annotations?.['netpol-guard.io/expires-at'], '2026-11-23T15:00:00Z');
  });

  it('re-adds the temporary label if someone removed it while an expiry remains', () => {
    const stripped = structuredClone(created);
    delete stripped.metadata!.labels;
    const out = mutated(stripped, { operation: 'UPDATE', oldPolicy: created, now: later });
    assert.equal(out.metadata?.labels?.['netpol-guard.io/temporary'], 'true');
  });
});

describe('planMutation history stamps (changed-by/changed-at, revoked-by/revoked-at)', () => {
  const CHANGED_BY = 'netpol-guard.io/changed-by';
  const CHANGED_AT = 'netpol-guard.io/changed-at';
  const REVOKED_BY = 'netpol-guard.io/revoked-by';
  const REVOKED_AT = 'netpol-guard.io/revoked-at';
  const later = new Date(NOW.getTime() + 30 * 60_000);
  const LATER = '2026-11-23T10:30:00Z';
  const created = mutated(grant({ 'netpol-guard.io/ttl': '2h', 'netpol-guard.io/ticket': 'INC-1' }));
  /** A stored grant that bob extended and carol revoked (the stamps as the mutator wrote them). */
  const stamped = structuredClone(created);
  Object.assign(stamped.metadata!.annotations!, {
    [CHANGED_BY]: 'bob',
    [CHANGED_AT]: '2026-11-23T10:10:00Z',
    [REVOKED_BY]: 'carol',
    [REVOKED_AT]: '2026-11-23T10:20:00Z',
  });
  const forged = { [CHANGED_BY]: 'the-ceo', [CHANGED_AT]: '2020-01-01T00:00:00Z', [REVOKED_BY]: 'the-ceo', [REVOKED_AT]: '2020-01-01T00:00:00Z' };
  const stamps = (p: V1NetworkPolicy) => {
    const a = p.metadata?.annotations ?? {};
    return { changedBy: a[CHANGED_BY], changedAt: a[CHANGED_AT], revokedBy: a[REVOKED_BY], revokedAt: a[REVOKED_AT] };
  };
  const update = (edited: V1NetworkPolicy, stored: V1NetworkPolicy, username = 'mallory') => {
    const extra = { operation: 'UPDATE' as const, oldPolicy: stored, username, now: later };
    const out = mutated(edited, extra);
    assert.deepEqual(planMutation(input(out, extra)).patch, [], 'reinvocation with the same now patches nothing');
    return out;
  };
  const edit = (stored: V1NetworkPolicy, change: (p: V1NetworkPolicy) => void) => {
    const next = structuredClone(stored);
    change(next);
    return next;
  };

  it('CREATE removes every stamp a client wrote', () => {
    const policy = grant({ 'netpol-guard.io/ttl': '1h', 'netpol-guard.io/ticket': 'INC-9', ...forged });
    const out = mutated(policy);
    assert.deepEqual(stamps(out), { changedBy: undefined, changedAt: undefined, revokedBy: undefined, revokedAt: undefined });
    assert.deepEqual(planMutation(input(out)).patch, []);
    // Even on a deny-only policy without any lifecycle annotation.
    const deny = { ...denyAll, metadata: { ...denyAll.metadata, annotations: { ...forged } } };
    assert.deepEqual(mutated(deny).metadata?.annotations, {});
  });

  it('an UPDATE that moves nothing restores forged stamps from the stored object, or removes them', () => {
    const restored = update(edit(stamped, (p) => Object.assign(p.metadata!.annotations!, { [CHANGED_BY]: 'mallory', [CHANGED_AT]: LATER })), stamped);
    assert.deepEqual(stamps(restored), { changedBy: 'bob', changedAt: '2026-11-23T10:10:00Z', revokedBy: 'carol', revokedAt: '2026-11-23T10:20:00Z' });
    const removed = update(edit(created, (p) => Object.assign(p.metadata!.annotations!, { [CHANGED_BY]: 'the-ceo', [CHANGED_AT]: LATER, [REVOKED_AT]: LATER })), created);
    assert.deepEqual(stamps(removed), { changedBy: undefined, changedAt: undefined, revokedBy: undefined, revokedAt: undefined });
    // A re-applied manifest that drops them gets them back.
    const dropped = update(edit(stamped, (p) => {
      for (const k of [CHANGED_BY, CHANGED_AT, REVOKED_BY, REVOKED_AT]) delete p.metadata!.annotations![k];
    }), stamped);
    assert.deepEqual(stamps(dropped), stamps(stamped));
  });

  it('an UPDATE that moves the expiry stamps changed-by and changed-at from the request, whatever the client wrote', () => {
    const ttl = update(edit(stamped, (p) => Object.assign(p.metadata!.annotations!, { 'netpol-guard.io/ttl': '3h', ...forged, [REVOKED_BY]: 'carol', [REVOKED_AT]: '2026-11-23T10:20:00Z' })), stamped, 'dave');
    assert.deepEqual(stamps(ttl), { changedBy: 'dave', changedAt: LATER, revokedBy: 'carol', revokedAt: '2026-11-23T10:20:00Z' });
    assert.equal(ttl.metadata?.annotations?.['netpol-guard.io/expires-at'], '2026-11-23T13:30:00Z');
    const explicit = update(edit(created, (p) => void (p.metadata!.annotations!['netpol-guard.io/expires-at'] = '2026-11-23T15:00:00Z')), created, 'dave');
    assert.equal(stamps(explicit).changedBy, 'dave');
    assert.equal(stamps(explicit).changedAt, LATER);
    assert.equal(planMutation(input(explicit, { operation: 'UPDATE', oldPolicy: created, username: 'dave', now: later })).auditAnnotations['changed-by'], 'dave');
  });

  it('the same expiry written another way, or a re-applied manifest, is no move', () => {
    const offset = update(edit(created, (p) => void (p.metadata!.annotations!['netpol-guard.io/expires-at'] = '2026-11-23T13:00:00+01:00')), created);
    assert.equal(offset.metadata?.annotations?.['netpol-guard.io/expires-at'], '2026-11-23T12:00:00Z');
    assert.equal(stamps(offset).changedBy, undefined);
    const reapplied = update(grant({ 'netpol-guard.io/ttl': '2h', 'netpol-guard.io/ticket': 'INC-1' }), created);
    assert.equal(stamps(reapplied).changedBy, undefined);
  });

  it('a spec change stamps; a metadata-only change does not; null in an optional field is no change', () => {
    const widened = update(edit(stamped, (p) => {
      (p.spec!.ingress![0] as unknown as { from: unknown[] }).from = [{ ipBlock: { cidr: '198.51.100.0/23' } }];
    }), stamped, 'erin');
    assert.deepEqual([stamps(widened).changedBy, stamps(widened).changedAt], ['erin', LATER]);
    const policyTypes = update(edit(created, (p) => void (p.spec!.policyTypes = ['Ingress', 'Egress'])), created, 'erin');
    assert.equal(stamps(policyTypes).changedBy, 'erin');

    const relabelled = update(edit(stamped, (p) => {
      p.metadata!.labels = { ...p.metadata!.labels, team: 'payments' };
      p.metadata!.annotations!['netpol-guard.io/ticket'] = 'INC-2';
      p.metadata!.annotations!['example.com/note'] = 'hello';
    }), stamped, 'erin');
    assert.deepEqual(stamps(relabelled), stamps(stamped));
    const nulls = update(edit(stamped, (p) => {
      (p.spec as unknown as Record<string, unknown>)['egress'] = null;
      (p.spec!.podSelector as unknown as Record<string, unknown>)['matchExpressions'] = null;
    }), stamped, 'erin');
    assert.deepEqual(stamps(nulls), stamps(stamped));
  });

  it('a revocation request is answered with the caller and now; nothing else of the grant is touched', () => {
    for (const requestValue of ['requested', 'the-ceo', '']) {
      const request = edit(created, (p) => void (p.metadata!.annotations![REVOKED_BY] = requestValue));
      const plan = planMutation(input(request, { operation: 'UPDATE', oldPolicy: created, username: 'alice', now: later }));
      const out = update(request, created, 'alice');
      assert.deepEqual(stamps(out), { changedBy: undefined, changedAt: undefined, revokedBy: 'alice', revokedAt: LATER }, requestValue);
      assert.deepEqual(plan.auditAnnotations, { 'revoked-by': 'alice' });
      const { [REVOKED_BY]: _by, [REVOKED_AT]: _at, ...rest } = out.metadata!.annotations!;
      assert.deepEqual(rest, created.metadata!.annotations);
    }
    // Revoking again (a retry, or someone else) re-stamps; a forged revoked-at with it is ignored.
    const again = update(edit(stamped, (p) => Object.assign(p.metadata!.annotations!, { [REVOKED_BY]: 'requested', [REVOKED_AT]: '2020-01-01T00:00:00Z' })), stamped, 'dave');
    assert.deepEqual([stamps(again).revokedBy, stamps(again).revokedAt], ['dave', LATER]);
    assert.deepEqual([stamps(again).changedBy, stamps(again).changedAt], ['bob', '2026-11-23T10:10:00Z']);
  });

  it('a forged revoked-at alone is no request: restored, or removed', () => {
    const alone = update(edit(created, (p) => void (p.metadata!.annotations![REVOKED_AT] = '2020-01-01T00:00:00Z')), created);
    assert.equal(stamps(alone).revokedAt, undefined);
    assert.equal(stamps(alone).revokedBy, undefined);
    const overStored = update(edit(stamped, (p) => void delete p.metadata!.annotations![REVOKED_BY]), stamped);
    assert.deepEqual([stamps(overStored).revokedBy, stamps(overStored).revokedAt], ['carol', '2026-11-23T10:20:00Z']);
  });

  it('an UPDATE without a stored object (never from the API server) keeps no client stamp', () => {
    const out = mutated(grant({ 'netpol-guard.io/ttl': '1h', ...forged }), { operation: 'UPDATE' });
    assert.deepEqual(stamps(out), { changedBy: undefined, changedAt: undefined, revokedBy: undefined, revokedAt: undefined });
  });

  it('leaves everything alone in an exempt namespace', () => {
    assert.deepEqual(planMutation(input(grant({ ...forged }), { namespace: 'kube-system' })).patch, []);
  });
});

describe('planMutation properties', () => {
  const labelKey = fc.constantFrom('app', 'team', 'example.com/owner', 'a~b', 'x/y~z', 'netpol-guard.io/temporary');
  const annotationArb = fc.record(
    {
      'netpol-guard.io/ttl': fc.constantFrom('30m', '2h', '1h30m', '1d', 'bogus', '0s'),
      'netpol-guard.io/expires-at': fc.constantFrom('2026-11-23T12:00:00Z', '2026-11-23T13:00:00+01:00', 'not-a-date'),
      'netpol-guard.io/ticket': fc.constantFrom('INC-1', ' inc-2 ', 'nope', ''),
      'netpol-guard.io/requested-by': fc.constantFrom('forged'),
      'netpol-guard.io/granted-at': fc.constantFrom('2020-01-01T00:00:00Z', 'junk'),
      'netpol-guard.io/changed-by': fc.constantFrom('forged', ''),
      'netpol-guard.io/changed-at': fc.constantFrom('2020-01-01T00:00:00Z', 'junk'),
      'netpol-guard.io/revoked-by': fc.constantFrom('forged', 'requested', ''),
      'netpol-guard.io/revoked-at': fc.constantFrom('2020-01-01T00:00:00Z', 'junk'),
      'other/key': fc.string({ maxLength: 8 }),
    },
    { requiredKeys: [] },
  );
  const policyArb = fc.record({
    annotations: fc.option(annotationArb, { nil: undefined }),
    labels: fc.option(fc.dictionary(labelKey, fc.constantFrom('true', 'false', 'x'), { maxKeys: 3 }), { nil: undefined }),
    granting: fc.boolean(),
    defaultTTL: fc.constantFrom(undefined, '1h'),
    namespace: fc.constantFrom('payments', 'kube-system'),
  });

  it('always yields a patch that applies cleanly, and mutating the result again yields nothing', () => {
    fc.assert(
      fc.property(policyArb, (p) => {
        const base = p.granting ? grant(p.annotations as Record<string, string>, p.labels) : { ...denyAll, metadata: { ...denyAll.metadata, ...(p.annotations && { annotations: p.annotations as Record<string, string> }), ...(p.labels && { labels: p.labels }) } };
        const cfg = p.defaultTTL ? withDefaultTTL(p.defaultTTL) : config;
        const first = planMutation(input(base, { config: cfg, namespace: p.namespace }));
        const once = apply(base, first.patch);
        const second = planMutation(input(once, { config: cfg, namespace: p.namespace }));
        assert.deepEqual(second.patch, []);
        // The same input always gives the same patch.
        assert.deepEqual(planMutation(input(base, { config: cfg, namespace: p.namespace })).patch, first.patch);
        // On UPDATE of the stored object with itself nothing changes either.
        const update = planMutation(input(once, { config: cfg, namespace: p.namespace, operation: 'UPDATE', oldPolicy: once }));
        assert.deepEqual(update.patch, []);
        // CREATE never keeps a stamp a client wrote.
        if (p.namespace === 'payments') {
          for (const k of STAMP_KEYS) assert.equal(once.metadata?.annotations?.[k], undefined, k);
        }
      }),
      { numRuns: 500 },
    );
  });

  const STAMP_KEYS = ['netpol-guard.io/changed-by', 'netpol-guard.io/changed-at', 'netpol-guard.io/revoked-by', 'netpol-guard.io/revoked-at'];
  const editArb = fc.record({
    annotations: annotationArb,
    drop: fc.subarray(['netpol-guard.io/ttl', 'netpol-guard.io/expires-at', ...STAMP_KEYS]),
    widen: fc.boolean(),
    nullEgress: fc.boolean(),
    earlier: fc.boolean(),
  });

  it('on UPDATE: stamps come from the request or the stored object only, and reinvocation patches nothing', () => {
    const later = new Date(NOW.getTime() + 3_600_000);
    fc.assert(
      fc.property(policyArb, editArb, (p, e) => {
        const cfg = p.defaultTTL ? withDefaultTTL(p.defaultTTL) : config;
        const base = grant(p.annotations as Record<string, string>, p.labels);
        let stored = apply(base, planMutation(input(base, { config: cfg })).patch);
        if (e.earlier) {
          // An earlier UPDATE by bob (a ttl change and a revocation request) left real stamps.
          const bobs = structuredClone(stored);
          bobs.metadata = { ...bobs.metadata, annotations: { ...bobs.metadata?.annotations, 'netpol-guard.io/ttl': '45m', 'netpol-guard.io/revoked-by': 'requested' } };
          stored = apply(bobs, planMutation(input(bobs, { config: cfg, operation: 'UPDATE', oldPolicy: stored, username: 'bob' })).patch);
        }
        const edited = structuredClone(stored);
        const annotations: Record<string, string> = { ...edited.metadata?.annotations, ...(e.annotations as Record<string, string>) };
        for (const k of e.drop) delete annotations[k];
        edited.metadata = { ...edited.metadata, annotations };
        if (e.widen) (edited.spec!.ingress![0] as unknown as { from: unknown[] }).from = [{ ipBlock: { cidr: '0.0.0.0/0' } }];
        if (e.nullEgress) (edited.spec as unknown as Record<string, unknown>)['egress'] = null;

        const extra = { config: cfg, operation: 'UPDATE' as const, oldPolicy: stored, username: 'carol', now: later };
        const out = apply(edited, planMutation(input(edited, extra)).patch);
        assert.deepEqual(planMutation(input(out, extra)).patch, [], 'reinvocation');
        const was = stored.metadata?.annotations ?? {};
        const now = out.metadata?.annotations ?? {};
        for (const [by, at] of [STAMP_KEYS.slice(0, 2), STAMP_KEYS.slice(2)] as Array<[string, string]>) {
          const fresh = now[by] === 'carol' && now[at] === '2026-11-23T11:00:00Z';
          const kept = now[by] === was[by] && now[at] === was[at];
          assert.ok(fresh || kept, `${by}=${String(now[by])} ${at}=${String(now[at])}, stored ${String(was[by])} ${String(was[at])}`);
        }
        // A wider spec is always stamped as carol's change.
        if (e.widen) assert.equal(now['netpol-guard.io/changed-by'], 'carol');
      }),
      { numRuns: 500 },
    );
  });
});

function build(file: object): GuardConfig {
  const r = buildConfig(file);
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.config;
}

function withDefaultTTL(ttl: string): GuardConfig {
  return build({ defaultTTL: ttl });
}
