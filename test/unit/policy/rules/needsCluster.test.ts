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
const CATALOG_CLUSTER_RULES: RuleId[] = ['target-selects-nothing', 'isolates-pods', 'blast-radius-targets', 'blast-radius-peers'];
const RULE_SET = compileRules([...(RULES as readonly RuleDefinition<RuleId>[]).filter((r) => r.needs !== 'cluster'), demo]);
const GOOD = () => egressPolicy([{ to: [{ podSelector: { matchLabels: { app: 'api' } } }], ports: [TCP_5432] }]);
const KNOWS_PAYMENTS = new MemoryClusterView({ namespaces: { payments: {} } });
const KNOWS_NOTHING = new MemoryClusterView({ namespaces: {} });

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
      const evaluation = evaluate(GOOD(), { rules: RULE_SET, ...(cluster && { cluster }) });
      assert.equal(evaluation.allowed, true);
      assert.deepEqual(evaluation.findings, []);
      assert.deepEqual(evaluation.skippedRules, [{ ruleId: DEMO_ID, reason: 'needs a cluster view' }]);
    }
  });

  it('are never silently allowed when the view is required but missing or stale', () => {
    for (const cluster of [undefined, new MemoryClusterView({ namespaces: { payments: {} }, stale: true })]) {
      const evaluation = evaluate(GOOD(), { rules: RULE_SET, clusterViewRequired: true, ...(cluster && { cluster }) });
      assert.equal(evaluation.allowed, false);
      assert.equal(
        evaluation.message,
        'netpol-guard denied NetworkPolicy payments/grant: 1 problem(s)\n' +
          `[${DEMO_ID}] not checked: the rule needs a cluster view, which is required but missing or stale; retry when netpol-guard has synced`,
      );
    }
    assert.equal(evaluate(GOOD(), { rules: RULE_SET, clusterViewRequired: true, cluster: KNOWS_PAYMENTS }).allowed, true);
  });

  it('the catalog rules that need the view are the effect rules; without a view they are skipped and listed', () => {
    assert.deepEqual(
      (RULES as readonly RuleDefinition[]).filter((r) => r.needs === 'cluster').map((r) => r.id),
      CATALOG_CLUSTER_RULES,
    );
    const evaluation = evaluate(GOOD());
    assert.equal(evaluation.allowed, true);
    assert.deepEqual(evaluation.skippedRules?.map((r) => r.ruleId), CATALOG_CLUSTER_RULES);
    assert.equal(evaluate(GOOD(), { clusterViewRequired: true }).allowed, false, 'a required view that is missing denies');
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
    const report = checkSources([{ name: 'p.yaml', text: yaml }], { config: config(), now: NOW, user, rules: RULE_SET });
    assert.deepEqual(report.skippedRules, [{ ruleId: DEMO_ID, reason: 'needs a cluster view' }]);
    const text = formatText(report);
    assert.equal(text.split('\n').filter((l) => l.startsWith('note:')).join('\n'), `note: rule ${DEMO_ID} skipped: needs a cluster view`);
    const json = JSON.parse(formatJson(report, { toolVersion: '0', now: NOW.toISOString(), user })) as { skippedRules?: unknown };
    assert.deepEqual(json.skippedRules, [{ ruleId: DEMO_ID, reason: 'needs a cluster view' }]);

    const withView = checkSources([{ name: 'p.yaml', text: yaml }], { config: config(), now: NOW, user, rules: RULE_SET, cluster: KNOWS_NOTHING });
    assert.equal(withView.skippedRules, undefined);
    assert.equal(withView.summary.denied, 2);
    assert.ok(!formatText(withView).includes('note:'));

    const catalogOnly = checkSources([{ name: 'p.yaml', text: yaml }], { config: config(), now: NOW, user });
    assert.deepEqual(catalogOnly.skippedRules?.map((r) => r.ruleId), CATALOG_CLUSTER_RULES);
  });
});
