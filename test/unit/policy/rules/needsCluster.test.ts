import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkSources } from '../../../../src/check/run.js';
import { formatJson } from '../../../../src/check/format/json.js';
import { formatText } from '../../../../src/check/format/text.js';
import { MemoryClusterView } from '../../../../src/cluster/memoryView.js';
import { RULES, type RuleId } from '../../../../src/policy/rules/index.js';
import { defineRule, type RuleDefinition } from '../../../../src/policy/rules/types.js';
import { compileRules } from '../../../../src/policy/walk.js';
import { config, egressPolicy, evaluate, NOW, TCP_5432 } from '../support.js';

/**
 * The skip-and-note mechanism for rules that need a cluster view, shown with a demonstration
 * rule defined here only: it denies a policy whose namespace the view does not know. The rule set
 * is the catalog without its own cluster rules (tested in test/unit/policy/effect/) plus the demo.
 */
const DEMO_ID = 'demo-namespace-unknown' as RuleId;
const demo = defineRule({
  id: DEMO_ID,
  family: 'cluster',
  summary: 'policy namespace is unknown to the cluster',
  firesWhen: 'the namespace does not exist',
  explanation: 'A demonstration rule for tests.',
  fix: 'Create the namespace first.',
  grant: ['pods'],
  needs: 'cluster',
  defaultAction: 'deny',
  check: {
    policy(ctx) {
      if (ctx.cluster!.namespaceLabels(ctx.namespace) === undefined) ctx.report('metadata.namespace', `${ctx.namespace} does not exist`, 'create it first');
    },
  },
});
const EFFECT_RULES: RuleId[] = ['target-selects-nothing', 'isolates-pods', 'blast-radius-targets', 'blast-radius-peers'];
const CATALOG_CLUSTER_RULES: RuleId[] = [...EFFECT_RULES, 'quota-namespace-exceeded', 'quota-requester-exceeded', 'grant-recreated'];
/** Active by default without a view: the effect rules and grant-recreated (quotas are unlimited). */
const ACTIVE_BY_DEFAULT: RuleId[] = [...EFFECT_RULES, 'grant-recreated'];
const RULE_SET = compileRules([...(RULES as readonly RuleDefinition<RuleId>[]).filter((r) => r.needs !== 'cluster'), demo]);
const GOOD = () => egressPolicy([{ to: [{ podSelector: { matchLabels: { app: 'api' } } }], ports: [TCP_5432] }]);
const KNOWS_PAYMENTS = new MemoryClusterView({ namespaces: { payments: {} } });
const KNOWS_NOTHING = new MemoryClusterView({ namespaces: {} });
/** The catalog's own cluster rules stay out of the way: the effect rules and grant-recreated are active by default. */
const DEMO_ONLY = config({ rules: Object.fromEntries([...EFFECT_RULES, 'grant-recreated'].map((id) => [id, 'off'])) });

describe('rules that need a cluster view', () => {
  it('run when a fresh view is given', () => {
    assert.deepEqual(evaluate(GOOD(), { rules: RULE_SET, cluster: KNOWS_PAYMENTS }).findings, []);
    const denied = evaluate(GOOD(), { rules: RULE_SET, cluster: KNOWS_NOTHING });
    assert.equal(denied.allowed, false);
    assert.deepEqual(denied.findings.map((f) => f.ruleId), [DEMO_ID]);
    assert.equal(denied.skippedRules, undefined);
  });

  it('are skipped, and listed, without a view or with a stale one', () => {
    for (const cluster of [undefined, new MemoryClusterView({ namespaces: {}, stale: true })]) {
      const evaluation = evaluate(GOOD(), { rules: RULE_SET, config: DEMO_ONLY, ...(cluster && { cluster }) });
      assert.equal(evaluation.allowed, true);
      assert.deepEqual(evaluation.findings, []);
      assert.deepEqual(evaluation.skippedRules, [{ ruleId: DEMO_ID, reason: 'needs a cluster view' }]);
    }
  });

  it('are never silently allowed when the view is required but missing or stale', () => {
    const missing = evaluate(GOOD(), { rules: RULE_SET, config: DEMO_ONLY, clusterViewRequired: true });
    assert.equal(missing.allowed, false);
    assert.equal(
      missing.message,
      'netpol-guard denied NetworkPolicy payments/grant: 1 problem(s)\n' +
        `[${DEMO_ID}] not checked: the rule needs a cluster view, which is required but missing or stale; retry when netpol-guard has synced`,
    );
    // A stale view says so: the view, not the grant, is the problem.
    const stale = evaluate(GOOD(), { rules: RULE_SET, config: DEMO_ONLY, clusterViewRequired: true, cluster: new MemoryClusterView({ namespaces: { payments: {} }, stale: true }) });
    assert.equal(stale.allowed, false);
    assert.equal(
      stale.message,
      'netpol-guard denied NetworkPolicy payments/grant: 1 problem(s)\n' +
        `[${DEMO_ID}] not checked: netpol-guard's cluster view is stale (not yet synced, or a watch broken longer than clusterView.maxStaleness); nothing is known to be wrong with the grant: retry in a moment`,
    );
    assert.equal(evaluate(GOOD(), { rules: RULE_SET, config: DEMO_ONLY, clusterViewRequired: true, cluster: KNOWS_PAYMENTS }).allowed, true);
  });

  it('catalog cluster rules left inactive by the config (unlimited quotas, rule off) are not listed as skipped', () => {
    const cluster = (RULES as readonly RuleDefinition[]).filter((r) => r.needs === 'cluster').map((r) => r.id);
    assert.deepEqual(cluster, CATALOG_CLUSTER_RULES);
    const evaluation = evaluate(GOOD(), { config: DEMO_ONLY, clusterViewRequired: true });
    assert.equal(evaluation.allowed, true);
    assert.equal('skippedRules' in evaluation, false);
    const byDefault = evaluate(GOOD(), { clusterViewRequired: true });
    assert.equal(byDefault.allowed, false);
    assert.deepEqual(byDefault.skippedRules?.map((r) => r.ruleId), ACTIVE_BY_DEFAULT);
    assert.deepEqual(byDefault.skippedRules?.find((r) => r.ruleId === 'grant-recreated'), { ruleId: 'grant-recreated', reason: 'needs a cluster view' });
    const quotas = evaluate(GOOD(), { config: config({ quotas: { maxLiveGrantsPerNamespace: 3 } }) });
    assert.deepEqual(quotas.skippedRules?.map((r) => r.ruleId), [...EFFECT_RULES, 'quota-namespace-exceeded', 'grant-recreated']);
  });

  it('the catalog rules that need the view are the effect, quota and re-creation rules; without a view they are skipped and listed', () => {
    assert.deepEqual(
      (RULES as readonly RuleDefinition[]).filter((r) => r.needs === 'cluster').map((r) => r.id),
      CATALOG_CLUSTER_RULES,
    );
    const evaluation = evaluate(GOOD());
    assert.equal(evaluation.allowed, true);
    assert.deepEqual(evaluation.skippedRules?.map((r) => r.ruleId), ACTIVE_BY_DEFAULT);
    assert.equal(evaluate(GOOD(), { clusterViewRequired: true }).allowed, false, 'a required view that is missing denies');
  });

  it('a fresh view without pods and every NetworkPolicy skips only the effect rules, listed, without denying', () => {
    // What the webhook's InformerClusterView is without a pod and policy source: usable for quotas
    // and grant-recreated, but the effect analysis must not run on "no pods, no policies".
    class GrantsOnlyView extends MemoryClusterView {
      override provides(): boolean {
        return false;
      }
      override podsMatching(): never {
        throw new Error('no pods here');
      }
    }
    const view = new GrantsOnlyView({ namespaces: { payments: {} } });
    for (const onClusterUnavailable of ['deny', 'warn'] as const) {
      const evaluation = evaluate(GOOD(), { cluster: view, onClusterUnavailable });
      assert.equal(evaluation.allowed, true, onClusterUnavailable);
      assert.deepEqual(evaluation.warnings, []);
      assert.equal(evaluation.effect, undefined);
      assert.deepEqual(
        evaluation.skippedRules,
        EFFECT_RULES.map((ruleId) => ({ ruleId, reason: 'needs pods and every NetworkPolicy in the cluster view, which this one does not hold' })),
      );
    }
    // Stale as well: only the rules the view could answer once current are "retry in a moment".
    const stale = evaluate(GOOD(), { cluster: new MemoryClusterView({ namespaces: { payments: {} }, holds: [], stale: true }), onClusterUnavailable: 'deny' });
    assert.equal(stale.allowed, false);
    assert.deepEqual(stale.message?.split('\n').slice(1).map((line) => line.split(']')[0]), ['[grant-recreated']);
    assert.deepEqual(stale.skippedRules?.map((r) => r.ruleId), ACTIVE_BY_DEFAULT);
    assert.equal(stale.skippedRules?.find((r) => r.ruleId === 'grant-recreated')?.reason, 'needs a cluster view');
    // The same view with both parts runs every rule.
    assert.equal(evaluate(GOOD(), { cluster: new MemoryClusterView({ namespaces: { payments: {} } }) }).skippedRules, undefined);
  });

  it('check notes each skipped rule once, in text and JSON', () => {
    const yaml = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: a, namespace: payments, annotations: {netpol-guard.io/ttl: 2h, netpol-guard.io/ticket: INC-1}}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Egress]
  egress: [{to: [{podSelector: {matchLabels: {app: api}}}], ports: [{port: 443}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: b, namespace: payments, annotations: {netpol-guard.io/ttl: 2h, netpol-guard.io/ticket: INC-1}}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Egress]
  egress: [{to: [{podSelector: {matchLabels: {app: api}}}], ports: [{port: 443}]}]
`;
    const user = { username: 'ci', groups: [] };
    const report = checkSources([{ name: 'p.yaml', text: yaml }], { config: DEMO_ONLY, now: NOW, user, rules: RULE_SET });
    assert.deepEqual(report.skippedRules, [{ ruleId: DEMO_ID, reason: 'needs a cluster view' }]);
    const text = formatText(report);
    assert.equal(text.split('\n').filter((l) => l.startsWith('note:')).join('\n'), `note: rule ${DEMO_ID} skipped: needs a cluster view`);
    const json = JSON.parse(formatJson(report, { toolVersion: '0', now: NOW.toISOString(), user })) as { skippedRules?: unknown };
    assert.deepEqual(json.skippedRules, [{ ruleId: DEMO_ID, reason: 'needs a cluster view' }]);

    const withView = checkSources([{ name: 'p.yaml', text: yaml }], { config: DEMO_ONLY, now: NOW, user, rules: RULE_SET, cluster: KNOWS_NOTHING });
    assert.equal(withView.skippedRules, undefined);
    assert.equal(withView.summary.denied, 2);
    assert.ok(!formatText(withView).includes('note:'));

    const catalogOnly = checkSources([{ name: 'p.yaml', text: yaml }], { config: DEMO_ONLY, now: NOW, user });
    assert.equal('skippedRules' in catalogOnly, false);
    assert.equal('skippedRules' in (JSON.parse(formatJson(catalogOnly, { toolVersion: '0', now: NOW.toISOString(), user })) as object), false);
    const catalogDefault = checkSources([{ name: 'p.yaml', text: yaml }], { config: config(), now: NOW, user });
    assert.deepEqual(catalogDefault.skippedRules?.map((r) => r.ruleId), ACTIVE_BY_DEFAULT);
  });
});
