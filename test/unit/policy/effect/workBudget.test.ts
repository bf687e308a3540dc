/**
 * The effect analysis's work budget (limits.maxAnalysisWork): a namespace built to make the
 * analysis quadratic (hundreds of target groups × hundreds of peer classes) is stopped at the cap
 * and never admitted in silence (deny in enforce, warn otherwise, counted in metrics); ordinary
 * namespaces never reach it; and below the cap the result is exactly the uncapped one (property).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { validateHandler } from '../../../../src/admission/validate.js';
import { MemoryClusterView } from '../../../../src/cluster/memoryView.js';
import { PodIndex } from '../../../../src/cluster/podIndex.js';
import type { PodMeta } from '../../../../src/cluster/view.js';
import { analyzeEffect, analyzeEffectWithin } from '../../../../src/policy/effect/analyze.js';
import { grantIdentity } from '../../../../src/policy/effect/combined.js';
import { ANALYSIS_TOO_LARGE } from '../../../../src/policy/walk.js';
import { GuardMetrics } from '../../../../src/server/metrics.js';
import { config, evaluate, GOOD_GRANT, NOW, policy } from '../support.js';
import { IndexedView } from '../../../helpers/indexedView.js';

/**
 * 2,000 pods in 400 groups, each group selected by its own policy that admits the next group on
 * its own port: a grant over every pod from every pod is 400 target groups × 400 peer classes.
 */
function quadraticNamespace(): { view: IndexedView; grant: V1NetworkPolicy } {
  const index = new PodIndex();
  for (let i = 0; i < 2000; i++) index.upsert({ namespace: 'payments', name: `p-${i}`, labels: { g: `g-${i % 400}`, all: 'y' } });
  const existing: V1NetworkPolicy[] = [];
  for (let k = 0; k < 400; k++) {
    existing.push(
      policy({ podSelector: { matchLabels: { g: `g-${k}` } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { g: `g-${(k + 1) % 400}` } } }], ports: [{ protocol: 'TCP', port: 8000 + k }] }] }, undefined, `pol-${k}`),
    );
  }
  const view = new IndexedView(index, new Map([['payments', {}]]), new Map([['payments', existing]]));
  const grant = policy({ podSelector: { matchLabels: { all: 'y' } }, ingress: [{ from: [{ podSelector: { matchLabels: { all: 'y' } } }], ports: [{ protocol: 'TCP', port: 5432 }] }] }, GOOD_GRANT);
  return { view, grant };
}

/** The benchmark's namespace: 1,000 pods, 200 policies, 10 other namespaces of 100 pods for peers. */
function benchNamespace(): IndexedView {
  const index = new PodIndex();
  const namespaces = new Map<string, Record<string, string>>([['payments', { team: 'pay' }]]);
  for (let i = 0; i < 1000; i++) index.upsert({ namespace: 'payments', name: `p-${i}`, labels: { app: `app-${i % 50}`, shard: String(i % 7) } });
  for (let n = 0; n < 10; n++) {
    namespaces.set(`other-${n}`, { team: n % 2 === 0 ? 'core' : 'edge' });
    for (let i = 0; i < 100; i++) index.upsert({ namespace: `other-${n}`, name: `q-${i}`, labels: { app: `app-${i % 50}` } });
  }
  const existing: V1NetworkPolicy[] = [];
  for (let k = 0; k < 200; k++) {
    existing.push(
      policy(
        {
          podSelector: { matchLabels: { app: `app-${k % 50}` } },
          policyTypes: ['Ingress'],
          ingress: [{ from: [{ podSelector: { matchLabels: { app: `app-${(k + 1) % 50}` } } }, { ipBlock: { cidr: `10.${k}.0.0/24` } }], ports: [{ protocol: 'TCP', port: 8000 + k }] }],
        },
        undefined,
        `pol-${k}`,
      ),
    );
  }
  return new IndexedView(index, namespaces, new Map([['payments', existing]]));
}

const EFFECT_RULES = ['blast-radius-peers', 'blast-radius-targets', 'isolates-pods', 'target-selects-nothing'];

describe('the effect analysis work budget', () => {
  it('stops a quadratic namespace at the default cap, and the webhook denies saying the analysis was too large, not that the grant is bad', () => {
    const { view, grant } = quadraticNamespace();
    const c = config();
    assert.equal(c.limits.maxAnalysisWork, 1_000_000);
    const bounded = analyzeEffectWithin({ policy: grant, namespace: 'payments', cluster: view }, c.limits.maxAnalysisWork);
    assert.equal(bounded.finished, false);
    const evaluation = evaluate(grant, { cluster: view, config: c, onClusterUnavailable: 'deny' });
    assert.equal(evaluation.allowed, false);
    assert.equal(evaluation.effect, undefined);
    assert.deepEqual(evaluation.analysisTooLarge && { budget: evaluation.analysisTooLarge.budget, policies: evaluation.analysisTooLarge.policies }, { budget: 1_000_000, policies: 400 });
    // Every rule that reads the analysis is listed as not having judged, none passes in silence.
    assert.deepEqual(
      (evaluation.skippedRules ?? []).filter((s) => s.reason === ANALYSIS_TOO_LARGE).map((s) => s.ruleId).sort(),
      EFFECT_RULES,
    );
    const lines = evaluation.message!.split('\n').slice(1);
    for (const id of EFFECT_RULES) {
      const line = lines.find((l) => l.startsWith(`[${id}] `));
      assert.ok(line, `${id} is in the denial`);
      assert.match(line, /not checked: the effect analysis of this policy needs more than limits\.maxAnalysisWork \(1000000\) steps in namespace payments/);
      assert.match(line, /nothing is known to be wrong with the grant/);
    }
  });

  it('attacker: a policy inside maxPolicyElements that makes the analysis huge (1,900 named ports over 100 target groups) is stopped at the cap and denied', () => {
    const index = new PodIndex();
    for (let i = 0; i < 500; i++) index.upsert({ namespace: 'payments', name: `p-${i}`, labels: { g: `g-${i % 100}`, all: 'y' } });
    const existing = Array.from({ length: 100 }, (_, k) =>
      policy({ podSelector: { matchLabels: { g: `g-${k}` } }, policyTypes: ['Ingress'], ingress: [{ from: [{ ipBlock: { cidr: `10.${k}.0.0/16` } }], ports: [{ protocol: 'TCP', port: 100 + k }] }] }, undefined, `pol-${k}`),
    );
    const view = new IndexedView(index, new Map([['payments', {}]]), new Map([['payments', existing]]));
    const names = Array.from({ length: 1900 }, (_, i) => ({ port: `n${i}` }));
    const grant = policy({ podSelector: { matchLabels: { all: 'y' } }, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' } }, { podSelector: {} }], ports: names }] }, GOOD_GRANT);
    const evaluation = evaluate(grant, { cluster: view, config: config({ limits: { maxPolicyElements: 2000 } }), onClusterUnavailable: 'deny' });
    assert.equal(evaluation.allowed, false);
    assert.equal(evaluation.analysisTooLarge?.budget, 1_000_000);
  });

  it('follows onUnavailable and mode: warn admits with a warning per rule; `check` (view optional) warns too', () => {
    const { view, grant } = quadraticNamespace();
    const small = config({ limits: { maxAnalysisWork: 50_000 } });
    const warned = evaluate(grant, { cluster: view, config: small, onClusterUnavailable: 'warn' });
    assert.equal(warned.allowed, true);
    assert.equal(warned.warnings.filter((w) => /too large to judge at admission/.test(w)).length, EFFECT_RULES.length);
    const warnMode = evaluate(grant, { cluster: view, config: config({ mode: 'warn', limits: { maxAnalysisWork: 50_000 } }), onClusterUnavailable: 'deny' });
    assert.equal(warnMode.allowed, true);
    assert.equal(warnMode.warnings.filter((w) => /too large to judge at admission/.test(w)).length, EFFECT_RULES.length);
    const offline = evaluate(grant, { cluster: view, config: small });
    assert.equal(offline.allowed, true);
    assert.equal(offline.warnings.filter((w) => /too large to judge at admission/.test(w)).length, EFFECT_RULES.length);
  });

  it('a rule turned off is not reported as unchecked; the others still are', () => {
    const { view, grant } = quadraticNamespace();
    const c = config({ limits: { maxAnalysisWork: 50_000 }, rules: { 'isolates-pods': 'off', 'target-selects-nothing': 'off' } });
    const evaluation = evaluate(grant, { cluster: view, config: c, onClusterUnavailable: 'deny' });
    assert.equal(evaluation.allowed, false);
    assert.deepEqual(
      (evaluation.skippedRules ?? []).filter((s) => s.reason === ANALYSIS_TOO_LARGE).map((s) => s.ruleId).sort(),
      ['blast-radius-peers', 'blast-radius-targets'],
    );
  });

  it('/validate marks the decision, audits "not analyzed", and the metric counts it', async () => {
    const { view, grant } = quadraticNamespace();
    const request = {
      uid: 'u-1',
      kind: { group: 'networking.k8s.io', version: 'v1', kind: 'NetworkPolicy' },
      resource: { group: 'networking.k8s.io', version: 'v1', resource: 'networkpolicies' },
      namespace: 'payments',
      operation: 'CREATE' as const,
      userInfo: { username: 'dev@example.com', groups: [] },
      object: grant,
    };
    const decision = validateHandler(request, config({ limits: { maxAnalysisWork: 50_000 } }), NOW, view);
    assert.equal(decision.allowed, false);
    assert.equal(decision.analysisTooLarge, true);
    assert.equal(decision.auditAnnotations.effect, 'not analyzed: more than limits.maxAnalysisWork (50000) steps');
    const registry = new Registry();
    const metrics = new GuardMetrics(registry, { configStale: () => false, certificateNotAfter: () => NOW, tlsStale: () => false }, { defaultMetrics: false });
    const sample = async () => (await registry.getSingleMetric('netpol_guard_effect_analysis_too_large_total')!.get()).values[0]?.value;
    assert.equal(await sample(), 0);
    metrics.observeDecision('validate', 'CREATE', 'denied', 0.01, decision.findings, decision.analysisTooLarge === true);
    metrics.observeDecision('validate', 'CREATE', 'allowed', 0.01, [], false);
    assert.equal(await sample(), 1);
  });

  it('an ordinary namespace never comes near the default cap: the benchmark namespace, a typical and a wide grant', () => {
    const view = benchNamespace();
    const typical = policy(
      {
        podSelector: { matchLabels: { app: 'app-3' } },
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'core' } }, podSelector: { matchLabels: { app: 'app-7' } } }, { ipBlock: { cidr: '198.51.100.0/24' } }], ports: [{ protocol: 'TCP', port: 5432 }] }],
      },
      GOOD_GRANT,
    );
    const wide = policy({ podSelector: {}, ingress: [{ from: [{ podSelector: {} }], ports: [{ protocol: 'TCP', port: 9000, endPort: 9009 }] }] }, GOOD_GRANT);
    const budget = config().limits.maxAnalysisWork;
    const spentTypical = analyzeEffectWithin({ policy: typical, namespace: 'payments', cluster: view }, budget);
    const spentWide = analyzeEffectWithin({ policy: wide, namespace: 'payments', cluster: view }, budget);
    assert.ok(spentTypical.finished && spentWide.finished);
    // Headroom, not a timing: a typical grant uses under 1% of the cap, one over every pod under 20%.
    assert.ok(spentTypical.spent < budget / 100, `typical grant spent ${spentTypical.spent}`);
    assert.ok(spentWide.spent < budget / 5, `wide grant spent ${spentWide.spent}`);
    const evaluation = evaluate(typical, { cluster: view, onClusterUnavailable: 'deny' });
    assert.equal(evaluation.analysisTooLarge, undefined);
    assert.notEqual(evaluation.effect, undefined);
  });

  it('is a limit of the profile: a profile for the namespace may lower (or raise) it', () => {
    const view = new MemoryClusterView({ namespaces: { payments: {}, shop: {} }, pods: [{ namespace: 'payments', name: 'db-0', labels: { app: 'db' } }, { namespace: 'shop', name: 'db-0', labels: { app: 'db' } }] });
    const c = config({ profiles: [{ name: 'tight', match: { namespaces: ['pay*'] }, limits: { maxAnalysisWork: 3 } }] });
    const request = (namespace: string) => ({
      uid: 'u-1',
      kind: { group: 'networking.k8s.io', version: 'v1', kind: 'NetworkPolicy' },
      resource: { group: 'networking.k8s.io', version: 'v1', resource: 'networkpolicies' },
      namespace,
      operation: 'CREATE' as const,
      userInfo: { username: 'dev@example.com', groups: [] },
      object: { ...policy({ podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ ipBlock: { cidr: '198.51.100.0/24' } }], ports: [{ protocol: 'TCP', port: 5432 }] }] }, GOOD_GRANT), metadata: { name: 'g', namespace, annotations: GOOD_GRANT } },
    });
    const tight = validateHandler(request('payments'), c, NOW, view);
    assert.equal(tight.analysisTooLarge, true);
    assert.match(tight.message!, /\(profile tight\)/);
    assert.match(tight.message!, /limits\.maxAnalysisWork \(3\) steps .* raise limits\.maxAnalysisWork for profile tight/);
    const loose = validateHandler(request('shop'), c, NOW, view);
    assert.equal(loose.analysisTooLarge, undefined);
    assert.match(loose.auditAnnotations.effect!, /^opens 1 pod/);
  });

  it('is deterministic: the same request spends the same steps every time', () => {
    const { view, grant } = quadraticNamespace();
    const runs = [1, 2, 3].map(() => analyzeEffectWithin({ policy: grant, namespace: 'payments', cluster: view }, 40_000));
    assert.deepEqual(runs, [runs[0], runs[0], runs[0]]);
  });
});

// ---- property: the cap never changes a result below it -------------------------------------

const LABEL = fc.record({ app: fc.constantFrom('x', 'y', 'z'), tier: fc.constantFrom('1', '2') }, { requiredKeys: [] });
const SELECTOR = fc.oneof(
  fc.constant({}),
  LABEL.map((matchLabels) => ({ matchLabels })),
  fc.record({ matchExpressions: fc.constant([{ key: 'app', operator: 'In', values: ['x', 'y'] }]) }),
);
const PEER = fc.oneof(
  SELECTOR.map((podSelector) => ({ podSelector })),
  fc.record({ namespaceSelector: fc.constantFrom({}, { matchLabels: { team: 'core' } }), podSelector: SELECTOR }),
  fc.constantFrom({ ipBlock: { cidr: '10.0.0.0/24' } }, { ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.1.0/24'] } }, { ipBlock: { cidr: '2001:db8::/64' } }),
);
const PORT = fc.oneof(
  fc.constantFrom({ protocol: 'TCP', port: 80 }, { protocol: 'UDP', port: 53 }, { port: 'http' }, { protocol: 'TCP' }),
  fc.integer({ min: 1, max: 100 }).map((port) => ({ protocol: 'TCP', port, endPort: port + 20 })),
);
const RULE = fc.record({ peers: fc.array(PEER, { maxLength: 3 }), ports: fc.array(PORT, { maxLength: 3 }) });
const SPEC = fc.record({
  podSelector: SELECTOR,
  // Some existing policies are live grants of the same requester or ticket, so the combined count runs too.
  grantOf: fc.constantFrom(undefined, { requestedBy: 'alice', ticket: 'INC-9' }, { requestedBy: 'bob', ticket: 'INC-1234' }, { requestedBy: 'bob', ticket: 'INC-9' }),
  types: fc.constantFrom(undefined, ['Ingress'], ['Egress'], ['Ingress', 'Egress']),
  ingress: fc.array(RULE, { maxLength: 2 }),
  egress: fc.array(RULE, { maxLength: 2 }),
});
const POD = fc.record({
  namespace: fc.constantFrom('a', 'b'),
  labels: LABEL,
  phase: fc.constantFrom(undefined, 'Running', 'Pending', 'Succeeded'),
  containerPorts: fc.constantFrom(undefined, [{ name: 'http', containerPort: 8080 }], [{ name: 'http', containerPort: 80, protocol: 'TCP' }]),
});

type Spec = typeof SPEC extends fc.Arbitrary<infer T> ? T : never;

function toPolicy(spec: Spec, name: string): V1NetworkPolicy {
  const body: Record<string, unknown> = { podSelector: spec.podSelector };
  if (spec.types !== undefined) body.policyTypes = spec.types;
  if (spec.ingress.length > 0) body.ingress = spec.ingress.map((r) => ({ from: r.peers, ports: r.ports }));
  if (spec.egress.length > 0) body.egress = spec.egress.map((r) => ({ to: r.peers, ports: r.ports }));
  const metadata: Record<string, unknown> = { name, namespace: 'a' };
  if (spec.grantOf !== undefined) {
    metadata.labels = { 'netpol-guard.io/temporary': 'true' };
    metadata.annotations = { ...GOOD_GRANT, 'netpol-guard.io/requested-by': spec.grantOf.requestedBy, 'netpol-guard.io/ticket': spec.grantOf.ticket };
  }
  return { metadata, spec: body } as V1NetworkPolicy;
}

describe('the work budget, property', () => {
  it('below the cap the analysis is exactly the uncapped one; one step less and it is too large', () => {
    fc.assert(
      fc.property(fc.array(POD, { maxLength: 14 }), fc.array(SPEC, { maxLength: 5 }), SPEC, (pods, existing, mine) => {
        const view = new MemoryClusterView({
          namespaces: { a: { team: 'core' }, b: { team: 'edge' } },
          pods: pods.map((p, i) => ({ ...p, name: `p${i}` }) as PodMeta),
          policies: existing.map((s, i) => toPolicy(s, `e${i}`)),
        });
        const judged = toPolicy(mine, 'new');
        const input = { policy: judged, namespace: 'a', cluster: view, grant: grantIdentity(judged, config().keys) };
        const unbounded = analyzeEffectWithin(input, Infinity);
        assert.ok(unbounded.finished);
        assert.deepEqual(unbounded.effect, analyzeEffect(input));
        const exact = analyzeEffectWithin(input, unbounded.spent);
        assert.ok(exact.finished);
        assert.deepEqual(exact.effect, unbounded.effect);
        assert.equal(exact.spent, unbounded.spent);
        assert.equal(analyzeEffectWithin(input, unbounded.spent - 1).finished, false);
      }),
      { numRuns: 300 },
    );
  });

  it('through the rules: a cap at or above what the analysis needs gives the same evaluation as an unlimited one', () => {
    fc.assert(
      fc.property(fc.array(POD, { maxLength: 14 }), fc.array(SPEC, { maxLength: 5 }), SPEC, (pods, existing, mine) => {
        const view = new MemoryClusterView({
          namespaces: { a: { team: 'core' }, b: { team: 'edge' } },
          pods: pods.map((p, i) => ({ ...p, name: `p${i}` }) as PodMeta),
          policies: existing.map((s, i) => toPolicy(s, `e${i}`)),
        });
        const grant = { ...toPolicy(mine, 'new'), metadata: { name: 'new', namespace: 'a', annotations: { ...GOOD_GRANT, 'netpol-guard.io/requested-by': 'alice' } } };
        // As the engine runs it: with the grant's identity (its ticket), to find related grants.
        const needed = analyzeEffectWithin({ policy: grant, namespace: 'a', cluster: view, grant: grantIdentity(grant, config().keys) }, Infinity);
        assert.ok(needed.finished);
        const at = evaluate(grant, { cluster: view, config: config({ limits: { maxAnalysisWork: Math.max(1, needed.spent) } }), onClusterUnavailable: 'deny' });
        const unlimited = evaluate(grant, { cluster: view, config: config({ limits: { maxAnalysisWork: 1_000_000_000 } }), onClusterUnavailable: 'deny' });
        assert.deepEqual(at.findings, unlimited.findings);
        assert.equal(at.allowed, unlimited.allowed);
        assert.equal(at.analysisTooLarge, undefined);
      }),
      { numRuns: 150 },
    );
  });
});
