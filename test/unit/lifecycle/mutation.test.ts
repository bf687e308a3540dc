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

describe('planMutation properties', () => {
  const labelKey = fc.constantFrom('app', 'team', 'example.com/owner', 'a~b', 'x/y~z', 'netpol-guard.io/temporary');
  const annotationArb = fc.record(
    {
      'netpol-guard.io/ttl': fc.constantFrom('30m', '2h', '1h30m', '1d', 'bogus', '0s'),
      'netpol-guard.io/expires-at': fc.constantFrom('2026-11-23T12:00:00Z', '2026-11-23T13:00:00+01:00', 'not-a-date'),
      'netpol-guard.io/ticket': fc.constantFrom('INC-1', ' inc-2 ', 'nope', ''),
      'netpol-guard.io/requested-by': fc.constantFrom('forged'),
      'netpol-guard.io/granted-at': fc.constantFrom('2020-01-01T00:00:00Z', 'junk'),
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
